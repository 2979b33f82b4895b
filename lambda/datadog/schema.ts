import * as z from '../shared/zod.js';

// Shapes of /api/v2/cases as in Datadog's OpenAPI schema (cases-openapi.yaml), strict where we send,
// loose where we read (Datadog adds fields over time). Built on first use (`caseSchemas()`): most
// webhooks only need the create answer's, and building all of them cost ~7 ms of every cold start.

export const CASE_PRIORITIES = ['NOT_DEFINED', 'P1', 'P2', 'P3', 'P4', 'P5'] as const;
export const CUSTOM_ATTRIBUTE_TYPES = ['URL', 'TEXT', 'NUMBER', 'SELECT'] as const;
/** The deprecated `status` field: the only values every case type accepts. Prefer it for closing. */
export const CASE_STATUSES = ['OPEN', 'IN_PROGRESS', 'CLOSED'] as const;

function build() {
  const CasePriority = z.enum(CASE_PRIORITIES);
  const CustomAttributeType = z.enum(CUSTOM_ATTRIBUTE_TYPES);
  const CustomAttributeValue = z.strictObject({
    type: CustomAttributeType,
    is_multi: z.boolean(),
    value: z.union([z.string(), z.array(z.string()), z.number(), z.array(z.number())]),
  });
  const NonEmpty = z.string().check(z.minLength(1));

  const CaseCreateRequest = z.strictObject({
    data: z.strictObject({
      type: z.literal('case'),
      attributes: z.strictObject({
        title: NonEmpty,
        type_id: NonEmpty,
        description: z.optional(z.string()),
        priority: z.optional(CasePriority),
        status_name: z.optional(NonEmpty),
        custom_attributes: z.optional(z.record(z.string(), CustomAttributeValue)),
      }),
      relationships: z.strictObject({
        project: z.strictObject({ data: z.strictObject({ id: NonEmpty, type: z.literal('project') }) }),
        assignee: z.optional(z.nullable(z.strictObject({ data: z.nullable(z.strictObject({ id: NonEmpty, type: z.literal('user') })) }))),
      }),
    }),
  });

  const CaseResponse = z.looseObject({
    data: z.looseObject({
      id: z.string(),
      type: z.literal('case'),
      attributes: z.looseObject({
        key: z.optional(z.string()),
        status_name: z.optional(z.string()),
        status: z.optional(z.string()),
        title: z.optional(z.string()),
      }),
    }),
  });

  /** Live errors are JSON:API objects; the spec says strings. Both are accepted. */
  const ErrorBody = z.looseObject({
    errors: z.array(
      z.union([
        z.string(),
        z.looseObject({ status: z.optional(z.string()), title: z.optional(z.string()), detail: z.optional(z.string()) }),
      ]),
    ),
  });

  // ---- Updates of an existing case (comment, status) and reads (get, search) ----

  const CaseStatus = z.enum(CASE_STATUSES);

  /** POST /api/v2/cases/{case_id}/comment. Datadog answers 400 to an empty comment (recorded). */
  const CaseCommentRequest = z.strictObject({
    data: z.strictObject({
      type: z.literal('case'),
      attributes: z.strictObject({ comment: NonEmpty }),
    }),
  });

  /** POST /api/v2/cases/{case_id}/status: `status` (deprecated enum) or `status_name` (per case type). */
  const CaseStatusRequest = z
    .strictObject({
      data: z.strictObject({
        type: z.literal('case'),
        attributes: z.strictObject({
          status: z.optional(CaseStatus),
          status_name: z.optional(NonEmpty),
        }),
      }),
    })
    .check(
      z.refine((r) => r.data.attributes.status !== undefined || r.data.attributes.status_name !== undefined, {
        message: 'status or status_name is required',
      }),
    );

  /** One case resource as read back (GET, search, status update): loose, only what the bridge reads. */
  const CaseResource = z.looseObject({
    id: z.string(),
    type: z.literal('case'),
    attributes: z.looseObject({
      key: z.optional(z.string()),
      status: z.optional(z.string()),
      status_name: z.optional(z.string()),
      status_group: z.optional(z.string()),
      title: z.optional(z.string()),
      description: z.optional(z.string()),
      created_at: z.optional(z.string()),
      closed_at: z.optional(z.nullable(z.string())),
      custom_attributes: z.optional(z.record(z.string(), z.unknown())),
    }),
  });

  const CaseReadResponse = z.looseObject({ data: CaseResource });

  /** GET /api/v2/cases (SearchCases). */
  const CasesSearchResponse = z.looseObject({
    data: z.array(CaseResource),
    meta: z.optional(
      z.looseObject({
        page: z.optional(z.looseObject({ current: z.optional(z.number()), size: z.optional(z.number()), total: z.optional(z.number()) })),
      }),
    ),
  });

  /** One timeline cell (TimelineCellResource): a comment carries its text in `cell_content.message`. */
  const TimelineCellResource = z.looseObject({
    id: z.string(),
    type: z.optional(z.string()),
    attributes: z.optional(
      z.looseObject({
        type: z.optional(z.string()),
        cell_content: z.optional(z.looseObject({ message: z.optional(z.string()) })),
        created_at: z.optional(z.string()),
        deleted_at: z.optional(z.nullable(z.string())),
      }),
    ),
  });

  /** The comment answer (the new cell) and ListCaseTimeline's answer (a page of cells). */
  const TimelineResponse = z.looseObject({
    data: z.optional(z.array(TimelineCellResource)),
  });

  // ---- Case links (CreateCaseLink, ListCaseLinks: reconstructed in the OpenAPI file) ----

  /** What the bridge links: a new case to the alert's previous case, as its successor (issue 17). */
  const CaseLinkAttributes = z.strictObject({
    parent_entity_id: NonEmpty,
    parent_entity_type: z.literal('CASE'),
    child_entity_id: NonEmpty,
    child_entity_type: z.literal('CASE'),
    relationship: z.literal('SUCCESSOR_OF'),
  });

  /** POST /api/v2/cases/link: the parent (the new case) is SUCCESSOR_OF the child (the previous case). */
  const CaseLinkCreateRequest = z.strictObject({
    data: z.strictObject({ type: z.literal('link'), attributes: CaseLinkAttributes }),
  });

  /** One link as read back: loose (Datadog allows more entity types and relationships than the bridge makes). */
  const CaseLinkResource = z.looseObject({
    id: z.string(),
    type: z.optional(z.string()),
    attributes: z.looseObject({
      parent_entity_id: z.optional(z.string()),
      parent_entity_type: z.optional(z.string()),
      child_entity_id: z.optional(z.string()),
      child_entity_type: z.optional(z.string()),
      relationship: z.optional(z.string()),
    }),
  });

  /** The create answer (CaseLinkResponse) and the list (CaseLinksResponse). */
  const CaseLinkResponse = z.looseObject({ data: CaseLinkResource });
  const CaseLinksResponse = z.looseObject({ data: z.array(CaseLinkResource) });

  return {
    CaseLinkCreateRequest,
    CaseLinkResponse,
    CaseLinksResponse,
    CasePriority,
    CustomAttributeType,
    CustomAttributeValue,
    CaseCreateRequest,
    CaseResponse,
    ErrorBody,
    CaseStatus,
    CaseCommentRequest,
    CaseStatusRequest,
    CaseResource,
    CaseReadResponse,
    CasesSearchResponse,
    TimelineResponse,
  };
}

/** The /api/v2/cases schemas, built on first call. */
export const caseSchemas = z.lazily(build);

type Schemas = ReturnType<typeof build>;
export type CasePriority = (typeof CASE_PRIORITIES)[number];
export type CustomAttributeValue = z.infer<Schemas['CustomAttributeValue']>;
export type CaseCreateRequest = z.infer<Schemas['CaseCreateRequest']>;
export type CaseResponse = z.infer<Schemas['CaseResponse']>;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export type CaseCommentRequest = z.infer<Schemas['CaseCommentRequest']>;
export type CaseStatusRequest = z.infer<Schemas['CaseStatusRequest']>;
export type CaseResource = z.infer<Schemas['CaseResource']>;
export type TimelineResponse = z.infer<Schemas['TimelineResponse']>;
export type CaseLinkCreateRequest = z.infer<Schemas['CaseLinkCreateRequest']>;
