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
