import { CASE_PRIORITIES, CUSTOM_ATTRIBUTE_TYPES } from '../datadog/schema.js';
import { lifecycleSchemas } from '../lifecycle/policy.js';
import { SIGNALS } from '../sources/types.js';
import { SOURCE_NAMES } from '../sources/index.js';
import * as z from '../shared/zod.js';

/**
 * The rules file (config/rules.yaml). Strings in `case` fields are templates: literal text with
 * `{{ JSONata }} ` parts evaluated over the webhook body, with `$event` (source, type, deliveryId,
 * identity, signal, link) and `$alert` (one alert when a group is split) bound.
 * A field that is exactly one `{{ ... }}` keeps the expression's type (number, list).
 *
 * Built on first use (z.lazily): the Lambda entries run rules validated at synth and never build
 * these; `compileRules` on an unvalidated file, the rules JSON Schema and the tests do. The call is
 * marked pure, so a bundle that never validates a rules file (the ingest's: compileRulesFile) leaves
 * the schemas out.
 */
export const rulesSchemas = /* @__PURE__ */ z.lazily(() => {
  const doc = <T extends z.ZodMiniType>(schema: T, description: string): T => {
    z.globalRegistry.add(schema, { description });
    return schema;
  };
  const Template = (description: string) => doc(z.string(), `${description} Text with {{ JSONata }} parts.`);

  const CustomAttributeRuleSchema = z.strictObject({
    type: doc(z.enum(CUSTOM_ATTRIBUTE_TYPES), 'Datadog custom attribute type.'),
    multi: doc(z._default(z.boolean(), false), 'Multi-valued attribute: the value is a list. Default false.'),
    value: doc(z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))]), 'Template, or a literal number / list.'),
  });

  /** Case fields; every one may be set in `defaults`, in a source's `defaults`, or in a rule. */
  const CaseFieldsSchema = z.strictObject({
    title: z.optional(Template('Case title (cut to 200 characters).')),
    description: z.optional(Template('Case description (Markdown); a link back to the source is always kept.')),
    priority: z.optional(Template(`One of ${CASE_PRIORITIES.join(', ')} (case-insensitive), or a template giving one.`)),
    status_name: z.optional(Template('Status name; must exist for the case type in Datadog (e.g. Open).')),
    type_id: z.optional(Template('Case type UUID (the built-in Standard type is 00000000-0000-0000-0000-000000000001).')),
    project: z.optional(Template('Project UUID the case is filed under.')),
    assignee: z.optional(Template('User UUID to assign, or empty for none.')),
    custom_attributes: z.optional(doc(z.record(z.string().check(z.minLength(1)), CustomAttributeRuleSchema), 'Custom attributes by key, as configured on the case type.')),
  });

  const RuleSchema = z.strictObject({
    name: doc(z.string().check(z.minLength(1), z.regex(/^[A-Za-z0-9][A-Za-z0-9 _.:-]*$/, 'letters, digits, space, _ . : -')), 'Shown in logs, previews and 202 answers. Unique within a source.'),
    events: z.optional(doc(z.array(z.string().check(z.minLength(1))).check(z.minLength(1)), 'Event types this rule takes (`issues.opened`, `incident.*`); all when omitted.')),
    signals: z.optional(doc(z.array(z.enum(SIGNALS)).check(z.minLength(1)), 'Only events with one of these signals.')),
    when: z.optional(doc(z.string().check(z.minLength(1)), 'JSONata condition over the body (same bindings as templates).')),
    action: doc(z._default(z.enum(['create', 'ignore']), 'create'), '`create` a case (default) or `ignore` the event (answered 202, logged).'),
    case: z.optional(CaseFieldsSchema),
    identity: z.optional(Template("Dedup identity of this rule's alerts (replaces the source's identity, e.g. to group by service)." )),
    lifecycle: doc(z.optional(lifecycleSchemas().overrides), 'Lifecycle options for the cases of this rule (override the source and file defaults).'),
  });

  const SourceRulesSchema = z.strictObject({
    settings: z.optional(doc(z.record(z.string(), z.unknown()), "Source settings: the secret's key name and auth options (README, Sources).")),
    defaults: z.optional(CaseFieldsSchema),
    lifecycle: doc(z.optional(lifecycleSchemas().overrides), "Lifecycle options for this source's cases (override the file's `lifecycle`)."),
    ack_deadline_ms: z.optional(
      doc(
        z.number().check(z.int(), z.minimum(500), z.maximum(30_000)),
        'How long the sender waits for an answer (ms); the bridge answers `202 queued` before it and leaves the rest to the retry queue. Defaults: sentry 1000, pagerduty 5000, others 10000.',
      ),
    ),
    rules: doc(z.array(RuleSchema).check(z.minLength(1)), 'First match wins; an event no rule matches is answered 202 "no rule matched".'),
  });

  const RulesFileSchema = z.strictObject({
    $schema: z.optional(z.string()),
    version: doc(z.literal(1), 'Format version of this file.'),
    defaults: z.optional(CaseFieldsSchema),
    lifecycle: doc(z.optional(lifecycleSchemas().overrides), 'Lifecycle defaults: repeat comments, resolve, reopen (README, Lifecycle).'),
    sources: doc(z.partialRecord(z.enum(SOURCE_NAMES), SourceRulesSchema), 'Only the sources listed here are served; the others answer 404.'),
  });
  return { CustomAttributeRuleSchema, CaseFieldsSchema, RuleSchema, SourceRulesSchema, RulesFileSchema };
});
type RulesSchemas = ReturnType<typeof rulesSchemas>;
export type CaseFields = z.infer<RulesSchemas['CaseFieldsSchema']>;
export type Rule = z.infer<RulesSchemas['RuleSchema']>;
export type RulesFile = z.infer<RulesSchemas['RulesFileSchema']>;
