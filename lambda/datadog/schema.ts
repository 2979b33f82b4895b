import * as z from '../shared/zod.js';

// Shapes of /api/v2/cases as in Datadog's OpenAPI schema (cases-openapi.yaml), strict where we send,
// loose where we read (Datadog adds fields over time).

export const CASE_PRIORITIES = ['NOT_DEFINED', 'P1', 'P2', 'P3', 'P4', 'P5'] as const;
export const CasePrioritySchema = z.enum(CASE_PRIORITIES);
export type CasePriority = z.infer<typeof CasePrioritySchema>;

export const CUSTOM_ATTRIBUTE_TYPES = ['URL', 'TEXT', 'NUMBER', 'SELECT'] as const;
export const CustomAttributeTypeSchema = z.enum(CUSTOM_ATTRIBUTE_TYPES);

export const CustomAttributeValueSchema = z.strictObject({
  type: CustomAttributeTypeSchema,
  is_multi: z.boolean(),
  value: z.union([z.string(), z.array(z.string()), z.number(), z.array(z.number())]),
});
export type CustomAttributeValue = z.infer<typeof CustomAttributeValueSchema>;

const NonEmpty = z.string().check(z.minLength(1));

export const CaseCreateRequestSchema = z.strictObject({
  data: z.strictObject({
    type: z.literal('case'),
    attributes: z.strictObject({
      title: NonEmpty,
      type_id: NonEmpty,
      description: z.optional(z.string()),
      priority: z.optional(CasePrioritySchema),
      status_name: z.optional(NonEmpty),
      custom_attributes: z.optional(z.record(z.string(), CustomAttributeValueSchema)),
    }),
    relationships: z.strictObject({
      project: z.strictObject({ data: z.strictObject({ id: NonEmpty, type: z.literal('project') }) }),
      assignee: z.optional(z.nullable(z.strictObject({ data: z.nullable(z.strictObject({ id: NonEmpty, type: z.literal('user') })) }))),
    }),
  }),
});
export type CaseCreateRequest = z.infer<typeof CaseCreateRequestSchema>;

export const CaseResponseSchema = z.looseObject({
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
export type CaseResponse = z.infer<typeof CaseResponseSchema>;

/** Live errors are JSON:API objects; the spec says strings. Both are accepted. */
export const ErrorBodySchema = z.looseObject({
  errors: z.array(
    z.union([
      z.string(),
      z.looseObject({ status: z.optional(z.string()), title: z.optional(z.string()), detail: z.optional(z.string()) }),
    ]),
  ),
});

// ---- Updates of an existing case (comment, status) and reads (get, search) ----

/** The deprecated `status` field: the only values every case type accepts. Prefer it for closing. */
export const CASE_STATUSES = ['OPEN', 'IN_PROGRESS', 'CLOSED'] as const;
export const CaseStatusSchema = z.enum(CASE_STATUSES);
export type CaseStatus = z.infer<typeof CaseStatusSchema>;

/** POST /api/v2/cases/{case_id}/comment. Datadog answers 400 to an empty comment (recorded). */
export const CaseCommentRequestSchema = z.strictObject({
  data: z.strictObject({
    type: z.literal('case'),
    attributes: z.strictObject({ comment: NonEmpty }),
  }),
});
export type CaseCommentRequest = z.infer<typeof CaseCommentRequestSchema>;

/** POST /api/v2/cases/{case_id}/status: `status` (deprecated enum) or `status_name` (per case type). */
export const CaseStatusRequestSchema = z
  .strictObject({
    data: z.strictObject({
      type: z.literal('case'),
      attributes: z.strictObject({
        status: z.optional(CaseStatusSchema),
        status_name: z.optional(NonEmpty),
      }),
    }),
  })
  .check(
    z.refine((r) => r.data.attributes.status !== undefined || r.data.attributes.status_name !== undefined, {
      message: 'status or status_name is required',
    }),
  );
export type CaseStatusRequest = z.infer<typeof CaseStatusRequestSchema>;

/** One case resource as read back (GET, search, status update): loose, only what the bridge reads. */
export const CaseResourceSchema = z.looseObject({
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
export type CaseResource = z.infer<typeof CaseResourceSchema>;

export const CaseReadResponseSchema = z.looseObject({ data: CaseResourceSchema });

/** GET /api/v2/cases (SearchCases). */
export const CasesSearchResponseSchema = z.looseObject({
  data: z.array(CaseResourceSchema),
  meta: z.optional(
    z.looseObject({
      page: z.optional(z.looseObject({ current: z.optional(z.number()), size: z.optional(z.number()), total: z.optional(z.number()) })),
    }),
  ),
});

/** The comment answer: the new timeline cell(s). */
export const TimelineResponseSchema = z.looseObject({
  data: z.optional(z.array(z.looseObject({ id: z.string(), type: z.optional(z.string()) }))),
});
