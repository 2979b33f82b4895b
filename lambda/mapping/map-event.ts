import { MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH } from '../datadog/limits.js';
import { CASE_PRIORITIES, type CaseCreateRequest, type CasePriority, type CustomAttributeValue } from '../datadog/schema.js';
import type { LifecyclePolicy } from '../lifecycle/policy.js';
import type { SourceEvent } from '../sources/types.js';
import { ConfigError } from '../shared/errors.js';
import type { CompiledCaseFields, CompiledRule, CompiledSource } from './compile-rules.js';
import type { Bindings } from './expression.js';
import { toText, type CompiledTemplate } from './template.js';

export { MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH };

export type MapResult =
  | {
      readonly outcome: 'case';
      readonly rule: string;
      readonly request: CaseCreateRequest;
      readonly warnings: readonly string[];
      /** Dedup identity: the rule's `identity` template, else the event's (source) identity. */
      readonly identity: string;
      /** The rule's lifecycle policy (undefined for hand-built CompiledRules: the defaults apply). */
      readonly lifecycle?: LifecyclePolicy | undefined;
    }
  | { readonly outcome: 'ignored'; readonly rule: string; readonly reason: string }
  | { readonly outcome: 'no_match'; readonly reason: string };

/** A rule's expression failed at run time (wrong type, bad function call). Names the path. */
export class RuleEvaluationError extends ConfigError {}

/**
 * The error for a field whose expression failed: the field's path, the rule's name, the template
 * and JSONata's message with its code, token and position (JSONata's error object keeps the token
 * under a key that the logs redact). JSONata throws plain objects, with a stack and the payload value
 * it choked on: such a cause is replaced by an Error with the message alone, as the logs write errors.
 */
function evaluationError(path: string, rule: CompiledRule, template: string, cause: unknown): RuleEvaluationError {
  const e = (cause ?? {}) as { message?: unknown; code?: unknown; token?: unknown; position?: unknown };
  const details = [
    typeof e.code === 'string' ? e.code : undefined,
    typeof e.token === 'string' ? `at "${e.token}"` : undefined,
    typeof e.position === 'number' ? `character ${e.position}` : undefined,
  ].filter((d) => d !== undefined);
  const message = `${String(e.message ?? cause)}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
  return new RuleEvaluationError(`${path} (rule "${rule.name}"): ${template}: ${message}`, { cause: cause instanceof Error ? cause : new Error(message) });
}

function cut(text: string, max: number): string {
  // Cut in UTF-16 units (no per-character split of a 150 KB description), never inside a surrogate pair.
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}

function bindingsOf(event: SourceEvent): Bindings {
  return {
    event: {
      source: event.source,
      type: event.type,
      deliveryId: event.deliveryId,
      identity: event.identity,
      signal: event.signal,
      link: event.link,
    },
    alert: event.alert,
  };
}

/**
 * The templates of a rule in a fixed order, with their paths (which name the field in errors),
 * built once per rule: values are then looked up by position, not by path.
 */
interface Entries {
  readonly paths: readonly string[];
  readonly templates: readonly (CompiledTemplate | undefined)[];
}
const TITLE = 0;
const DESCRIPTION = 1;
const PRIORITY = 2;
const STATUS_NAME = 3;
const TYPE_ID = 4;
const PROJECT = 5;
const ASSIGNEE = 6;
/** Custom attribute i is at FIRST_ATTRIBUTE + i. */
const FIRST_ATTRIBUTE = 7;

const ENTRIES = new WeakMap<CompiledCaseFields, Entries>();

function entriesOf(fields: CompiledCaseFields, rule: CompiledRule): Entries {
  let entries = ENTRIES.get(fields);
  if (entries === undefined) {
    const p = `${rule.path}.case`;
    entries = {
      paths: [`${p}.title`, `${p}.description`, `${p}.priority`, `${p}.status_name`, `${p}.type_id`, `${p}.project`, `${p}.assignee`, ...fields.custom_attributes.map((a) => `${p}.custom_attributes.${a.key}.value`)],
      templates: [fields.title, fields.description, fields.priority, fields.status_name, fields.type_id, fields.project, fields.assignee, ...fields.custom_attributes.map((a) => ('literal' in a.value ? undefined : a.value))],
    };
    ENTRIES.set(fields, entries);
  }
  return entries;
}

/**
 * Evaluates every template of a rule: synchronously (no promise at all) when all of them are on the
 * fast path, else one promise that waits for those that need JSONata's evaluator. Errors name the
 * field's path. The value of a field without a template is undefined (as is a template's that gives
 * nothing).
 */
function evaluateAll(entries: Entries, rule: CompiledRule, event: SourceEvent, bindings: Bindings): unknown[] | Promise<unknown[]> {
  const { paths, templates } = entries;
  const values = new Array<unknown>(templates.length);
  let pending: Promise<void>[] | undefined;
  for (let i = 0; i < templates.length; i++) {
    const template = templates[i];
    if (template === undefined) continue;
    let value: unknown;
    try {
      value = template.evaluate(event.payload, bindings);
    } catch (cause) {
      throw evaluationError(paths[i]!, rule, template.source, cause);
    }
    if (value instanceof Promise) {
      (pending ??= []).push(
        value.then(
          (v: unknown) => void (values[i] = v),
          (cause: unknown) => {
            throw evaluationError(paths[i]!, rule, template.source, cause);
          },
        ),
      );
    } else {
      values[i] = value;
    }
  }
  return pending ? Promise.all(pending).then(() => values) : values;
}

function textOf(values: readonly unknown[], index: number): string | undefined {
  const out = toText(values[index]).trim();
  return out === '' ? undefined : out;
}

function attributeValue(type: string, multi: boolean, raw: unknown): CustomAttributeValue['value'] | undefined {
  const list = (Array.isArray(raw) ? raw.flat(2) : [raw]).filter((v) => v !== undefined && v !== null && v !== '');
  if (type === 'NUMBER') {
    const nums = list.map((v) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN)).filter((n) => Number.isFinite(n));
    if (nums.length === 0) return undefined;
    return multi ? nums : nums[0];
  }
  const strings = list.map(toText).filter((s) => s !== '');
  if (strings.length === 0) return undefined;
  return multi ? strings : strings.join(', ');
}

/** Whitespace other than single spaces (what the title's collapse changes). */
const ODD_SPACE = /[^\S ]| {2}/;

/** The request from the evaluated templates of `fields` (see evaluateAll). */
function buildRequest(fields: CompiledCaseFields, rule: CompiledRule, event: SourceEvent, values: readonly unknown[], warnings: string[]): CaseCreateRequest {
  const p = `${rule.path}.case`;
  const title = textOf(values, TITLE) ?? `${event.source} ${event.type}`;
  let description = textOf(values, DESCRIPTION) ?? '';
  const footer = event.link !== undefined && !description.includes(event.link) ? `Source: ${event.link}` : '';
  // The link back to the source survives any cut.
  description = cut(description, MAX_DESCRIPTION_LENGTH - footer.length - 2);
  if (footer) description = description === '' ? footer : `${description}\n\n${footer}`;

  let priority: CasePriority | undefined;
  const rawPriority = textOf(values, PRIORITY);
  if (rawPriority !== undefined) {
    const upper = rawPriority.toUpperCase();
    if ((CASE_PRIORITIES as readonly string[]).includes(upper)) priority = upper as CasePriority;
    else {
      warnings.push(`${p}.priority: "${rawPriority}" is not a priority; NOT_DEFINED used`);
      priority = 'NOT_DEFINED';
    }
  }
  const statusName = textOf(values, STATUS_NAME);
  const typeId = textOf(values, TYPE_ID);
  const project = textOf(values, PROJECT);
  const assignee = textOf(values, ASSIGNEE);
  if (typeId === undefined || project === undefined) throw new RuleEvaluationError(`${p}: type_id and project must not be empty`);

  const customAttributes: Record<string, CustomAttributeValue> = {};
  for (let i = 0; i < fields.custom_attributes.length; i++) {
    const attr = fields.custom_attributes[i]!;
    const raw = 'literal' in attr.value ? attr.value.literal : values[FIRST_ATTRIBUTE + i];
    const value = attributeValue(attr.type, attr.multi, raw);
    if (value === undefined) {
      if (raw !== undefined && raw !== null && raw !== '') warnings.push(`${p}.custom_attributes.${attr.key}: ${JSON.stringify(raw)} is not a ${attr.type}; left out`);
      continue;
    }
    customAttributes[attr.key] = { type: attr.type, is_multi: attr.multi, value };
  }

  // Built member by member rather than by spreading temporary objects; the key order is unchanged.
  const attributes: CaseCreateRequest['data']['attributes'] = { title: cut(ODD_SPACE.test(title) ? title.replace(/\s+/g, ' ') : title, MAX_TITLE_LENGTH), type_id: typeId };
  if (description !== '') attributes.description = description;
  if (priority !== undefined) attributes.priority = priority;
  if (statusName !== undefined) attributes.status_name = statusName;
  if (Object.keys(customAttributes).length > 0) attributes.custom_attributes = customAttributes;
  const relationships: CaseCreateRequest['data']['relationships'] = { project: { data: { id: project, type: 'project' } } };
  if (assignee !== undefined) relationships.assignee = { data: { id: assignee, type: 'user' } };
  const request: CaseCreateRequest = { data: { type: 'case', attributes, relationships } };
  // Our own schema check on the way out: a rule can never send Datadog a malformed request.
  // Built field by field from checked parts (non-empty ids, known priority, typed attribute values),
  // so no schema pass on the hot path; every test validates the result with caseSchemas().CaseCreateRequest
  // and the conformance suite with Datadog's OpenAPI schema.
  return request;
}

/** JSONata's boolean cast: empty strings, 0, null, empty lists and undefined are false. */
function isTruthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(isTruthy);
  if (v !== null && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

/** Decides whether the event makes a case and builds the Datadog request. First matching rule wins. */
export async function mapEventToCase(compiled: CompiledSource, event: SourceEvent): Promise<MapResult> {
  const bindings = bindingsOf(event);
  for (const rule of compiled.rules) {
    if (!rule.matchesType(event.type)) continue;
    if (rule.signals !== undefined && !rule.signals.has(event.signal)) continue;
    if (rule.when !== undefined) {
      let ok: unknown;
      try {
        ok = rule.when.evaluate(event.payload, bindings);
        if (ok instanceof Promise) ok = await ok;
      } catch (cause) {
        throw evaluationError(`${rule.path}.when`, rule, rule.when.source, cause);
      }
      if (!isTruthy(ok)) continue;
    }
    if (rule.action === 'ignore' || rule.fields === undefined) {
      return { outcome: 'ignored', rule: rule.name, reason: `rule "${rule.name}" ignores ${event.type}` };
    }
    const warnings: string[] = [];
    const evaluated = evaluateAll(entriesOf(rule.fields, rule), rule, event, bindings);
    const values = evaluated instanceof Promise ? await evaluated : evaluated;
    const request = buildRequest(rule.fields, rule, event, values, warnings);
    let identity = event.identity;
    if (rule.identity !== undefined) {
      let raw: unknown;
      try {
        raw = rule.identity.evaluate(event.payload, bindings);
        if (raw instanceof Promise) raw = await raw;
      } catch (cause) {
        throw evaluationError(`${rule.path}.identity`, rule, rule.identity.source, cause);
      }
      const text = toText(raw).trim();
      if (text !== '') identity = text;
      else warnings.push(`${rule.path}.identity: empty; the source's identity is used`);
    }
    return { outcome: 'case', rule: rule.name, request, warnings, identity, lifecycle: rule.lifecycle };
  }
  return { outcome: 'no_match', reason: `no rule of ${event.source} matches ${event.type} (${event.signal})` };
}
