import { CASE_PRIORITIES, CaseCreateRequestSchema, type CaseCreateRequest, type CasePriority, type CustomAttributeValue } from '../datadog/schema.js';
import type { SourceEvent } from '../sources/types.js';
import { ConfigError } from '../shared/errors.js';
import type { CompiledCaseFields, CompiledRule, CompiledSource } from './compile-rules.js';
import type { Bindings } from './expression.js';
import { toText, type CompiledTemplate } from './template.js';

/** Titles are cut here (Datadog shows about this much; the full text stays in the description). */
export const MAX_TITLE_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 20_000;

export type MapResult =
  | { readonly outcome: 'case'; readonly rule: string; readonly request: CaseCreateRequest; readonly warnings: readonly string[] }
  | { readonly outcome: 'ignored'; readonly rule: string; readonly reason: string }
  | { readonly outcome: 'no_match'; readonly reason: string };

/** A rule's expression failed at run time (wrong type, bad function call). Names the path. */
export class RuleEvaluationError extends ConfigError {}

function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
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

async function run(template: CompiledTemplate, path: string, event: SourceEvent, bindings: Bindings): Promise<unknown> {
  try {
    return await template.evaluate(event.payload, bindings);
  } catch (cause) {
    throw new RuleEvaluationError(`${path}: ${(cause as Error).message}`, { cause });
  }
}

async function text(template: CompiledTemplate | undefined, path: string, event: SourceEvent, bindings: Bindings): Promise<string | undefined> {
  if (template === undefined) return undefined;
  const out = toText(await run(template, path, event, bindings)).trim();
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

async function buildRequest(fields: CompiledCaseFields, rule: CompiledRule, event: SourceEvent, bindings: Bindings, warnings: string[]): Promise<CaseCreateRequest> {
  const p = `${rule.path}.case`;
  const title = (await text(fields.title, `${p}.title`, event, bindings)) ?? `${event.source} ${event.type}`;
  let description = (await text(fields.description, `${p}.description`, event, bindings)) ?? '';
  const footer = event.link !== undefined && !description.includes(event.link) ? `Source: ${event.link}` : '';
  // The link back to the source survives any cut.
  description = cut(description, MAX_DESCRIPTION_LENGTH - footer.length - 2);
  if (footer) description = description === '' ? footer : `${description}\n\n${footer}`;

  let priority: CasePriority | undefined;
  const rawPriority = await text(fields.priority, `${p}.priority`, event, bindings);
  if (rawPriority !== undefined) {
    const upper = rawPriority.toUpperCase();
    if ((CASE_PRIORITIES as readonly string[]).includes(upper)) priority = upper as CasePriority;
    else {
      warnings.push(`${p}.priority: "${rawPriority}" is not a priority; NOT_DEFINED used`);
      priority = 'NOT_DEFINED';
    }
  }
  const statusName = await text(fields.status_name, `${p}.status_name`, event, bindings);
  const typeId = await text(fields.type_id, `${p}.type_id`, event, bindings);
  const project = await text(fields.project, `${p}.project`, event, bindings);
  const assignee = await text(fields.assignee, `${p}.assignee`, event, bindings);
  if (typeId === undefined || project === undefined) throw new RuleEvaluationError(`${p}: type_id and project must not be empty`);

  const customAttributes: Record<string, CustomAttributeValue> = {};
  for (const attr of fields.custom_attributes) {
    const raw = 'literal' in attr.value ? attr.value.literal : await run(attr.value, `${p}.custom_attributes.${attr.key}.value`, event, bindings);
    const value = attributeValue(attr.type, attr.multi, raw);
    if (value === undefined) {
      if (raw !== undefined && raw !== null && raw !== '') warnings.push(`${p}.custom_attributes.${attr.key}: ${JSON.stringify(raw)} is not a ${attr.type}; left out`);
      continue;
    }
    customAttributes[attr.key] = { type: attr.type, is_multi: attr.multi, value };
  }

  const request: CaseCreateRequest = {
    data: {
      type: 'case',
      attributes: {
        title: cut(title.replace(/\s+/g, ' '), MAX_TITLE_LENGTH),
        type_id: typeId,
        ...(description !== '' ? { description } : {}),
        ...(priority !== undefined ? { priority } : {}),
        ...(statusName !== undefined ? { status_name: statusName } : {}),
        ...(Object.keys(customAttributes).length > 0 ? { custom_attributes: customAttributes } : {}),
      },
      relationships: {
        project: { data: { id: project, type: 'project' } },
        ...(assignee !== undefined ? { assignee: { data: { id: assignee, type: 'user' } } } : {}),
      },
    },
  };
  // Our own schema check on the way out: a rule can never send Datadog a malformed request.
  const checked = CaseCreateRequestSchema.safeParse(request);
  if (!checked.success) throw new RuleEvaluationError(`${p}: the rule produced an invalid case request: ${checked.error.message}`, { cause: checked.error });
  return checked.data;
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
        ok = await rule.when.evaluate(event.payload, bindings);
      } catch (cause) {
        throw new RuleEvaluationError(`${rule.path}.when: ${(cause as Error).message}`, { cause });
      }
      if (!isTruthy(ok)) continue;
    }
    if (rule.action === 'ignore' || rule.fields === undefined) {
      return { outcome: 'ignored', rule: rule.name, reason: `rule "${rule.name}" ignores ${event.type}` };
    }
    const warnings: string[] = [];
    const request = await buildRequest(rule.fields, rule, event, bindings, warnings);
    return { outcome: 'case', rule: rule.name, request, warnings };
  }
  return { outcome: 'no_match', reason: `no rule of ${event.source} matches ${event.type} (${event.signal})` };
}
