import { CASE_PRIORITIES } from '../datadog/schema.js';
import { DEFAULT_ACK_DEADLINE_MS, DEFAULT_SECRET_KEYS, isSourceName, loadSource, SOURCES, type BoundSource, type RegisteredSource, type SourceName } from '../sources/index.js';
import { ConfigError } from '../shared/errors.js';
import { isZodError, type ZodError } from '../shared/zod.js';
import { resolvePolicy, type LifecyclePolicy } from '../lifecycle/policy.js';
import { compileExpression, type CompiledExpression } from './expression.js';
import { rulesSchemas, type CaseFields, type RulesFile } from './rules-schema.js';
import { compileTemplate, type CompiledTemplate } from './template.js';

export interface CompiledAttribute {
  readonly key: string;
  readonly type: 'URL' | 'TEXT' | 'NUMBER' | 'SELECT';
  readonly multi: boolean;
  readonly value: CompiledTemplate | { readonly literal: number | (string | number)[] };
}

export interface CompiledCaseFields {
  readonly title: CompiledTemplate;
  readonly description: CompiledTemplate | undefined;
  readonly priority: CompiledTemplate | undefined;
  readonly status_name: CompiledTemplate | undefined;
  readonly type_id: CompiledTemplate;
  readonly project: CompiledTemplate;
  readonly assignee: CompiledTemplate | undefined;
  readonly custom_attributes: readonly CompiledAttribute[];
}

export interface CompiledRule {
  readonly name: string;
  /** Path of the rule in the file, for errors: `sources.github.rules[2]`. */
  readonly path: string;
  matchesType(type: string): boolean;
  readonly signals: ReadonlySet<string> | undefined;
  readonly when: CompiledExpression | undefined;
  readonly action: 'create' | 'ignore';
  /** Undefined for `ignore` rules. */
  readonly fields: CompiledCaseFields | undefined;
  /** The rule's `identity` template; undefined: the source's identity. */
  readonly identity?: CompiledTemplate | undefined;
  /** Defaults <- file lifecycle <- source lifecycle <- rule lifecycle. */
  readonly lifecycle?: LifecyclePolicy;
}

export interface CompiledSource {
  /** Its name (the registry key), known before the source's code is loaded. */
  readonly name: SourceName;
  /**
   * The source with its settings bound. In a Lambda bundle its code is loaded on its first webhook:
   * read it only once `load()` resolved (before, it throws SourceUnavailableError).
   */
  readonly source: BoundSource;
  /** Loads the source's code (once per container; at once outside the Lambda bundles), then binds it. */
  load(): Promise<BoundSource>;
  /** Key of the source's secret in the bridge secret (`source.settings.secret`, read without binding the settings); undefined for a source without one (cloudwatch). */
  readonly secretKey: string | undefined;
  readonly rules: readonly CompiledRule[];
  /** The source's lifecycle policy (for events no rule matches, e.g. a resolve). @default the defaults */
  readonly lifecycle?: LifecyclePolicy;
  /** How long the sender waits for the answer (`ack_deadline_ms`, else DEFAULT_ACK_DEADLINE_MS). */
  readonly ackDeadlineMs: number;
}

export interface CompiledRules {
  readonly sources: ReadonlyMap<SourceName, CompiledSource>;
}

/** `sources.github.rules[2].case.priority` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : /^[A-Za-z_$][\w$-]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`;
  }
  return out === '' ? '(root)' : out;
}

function zodProblems(error: ZodError, prefix: readonly PropertyKey[]): string[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.map((k) => JSON.stringify(k)).join(', ')})` : '';
    return `${formatPath([...prefix, ...issue.path])}: ${issue.message}${keys}`;
  });
}

function typeMatcher(patterns: readonly string[] | undefined): (type: string) => boolean {
  if (patterns === undefined) return () => true;
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((p) => type.startsWith(p));
}

function mergeFields(...layers: (CaseFields | undefined)[]): CaseFields {
  const out: CaseFields = {};
  const attrs: NonNullable<CaseFields['custom_attributes']> = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    const { custom_attributes, ...rest } = layer;
    Object.assign(out, Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)));
    if (custom_attributes) Object.assign(attrs, custom_attributes);
  }
  if (Object.keys(attrs).length > 0) out.custom_attributes = attrs;
  return out;
}

type SourceBlock = NonNullable<RulesFile['sources'][SourceName]>;

/** Compiles the rules of one source; problems are pushed to `problems` with their path. */
function compileSourceRules(name: SourceName, block: SourceBlock, file: RulesFile, problems: string[]): CompiledRule[] {
  // The rule being compiled, named in expression problems (a field may come from the defaults).
  let ruleName = '';
  const template = (path: string, text: string | undefined): CompiledTemplate | undefined => {
    if (text === undefined) return undefined;
    try {
      return compileTemplate(text);
    } catch (e) {
      problems.push(`${path}: ${(e as Error).message} (rule "${ruleName}")`);
      return undefined;
    }
  };
  const names = new Set<string>();
  const rules: CompiledRule[] = [];
  block.rules.forEach((rule, index) => {
    const path = `sources.${name}.rules[${index}]`;
    ruleName = rule.name;
    if (names.has(rule.name)) problems.push(`${path}.name: "${rule.name}" is used by an earlier rule of ${name}`);
    names.add(rule.name);
    const previous = rules.at(-1);
    if (previous && !previous.when && previous.signals === undefined && block.rules[index - 1]?.events === undefined) {
      problems.push(`${path}: never reached, ${previous.path} ("${previous.name}") matches every event`);
    }
    let when: CompiledExpression | undefined;
    if (rule.when !== undefined) {
      try {
        when = compileExpression(rule.when);
      } catch (e) {
        problems.push(`${path}.when: ${rule.when}: ${(e as Error).message} (rule "${rule.name}")`);
      }
    }
    let fields: CompiledCaseFields | undefined;
    if (rule.action === 'create') {
      const merged = mergeFields(file.defaults, block.defaults, rule.case);
      const at = (field: string) => (rule.case && field in rule.case ? `${path}.case.${field}` : block.defaults && field in block.defaults ? `sources.${name}.defaults.${field}` : `defaults.${field}`);
      for (const required of ['title', 'type_id', 'project'] as const) {
        if (merged[required] === undefined || merged[required] === '') problems.push(`${path}.case.${required}: required (set it in the rule, in sources.${name}.defaults or in defaults)`);
      }
      if (merged.priority !== undefined && !merged.priority.includes('{{') && !(CASE_PRIORITIES as readonly string[]).includes(merged.priority.toUpperCase())) {
        problems.push(`${at('priority')}: "${merged.priority}" is not one of ${CASE_PRIORITIES.join(', ')}`);
      }
      const attributes: CompiledAttribute[] = [];
      for (const [key, attr] of Object.entries(merged.custom_attributes ?? {})) {
        const attrPath = `${at('custom_attributes')}${rule.case?.custom_attributes && key in rule.case.custom_attributes ? `.${key}` : ''}`;
        if (typeof attr.value === 'string') {
          const t = template(`${attrPath}.value`, attr.value);
          if (t) attributes.push({ key, type: attr.type, multi: attr.multi, value: t });
        } else {
          if (Array.isArray(attr.value) && !attr.multi) problems.push(`${attrPath}.value: a list needs multi: true`);
          if (attr.type === 'NUMBER' && [attr.value].flat().some((v) => typeof v !== 'number')) problems.push(`${attrPath}.value: NUMBER attributes take numbers`);
          attributes.push({ key, type: attr.type, multi: attr.multi, value: { literal: attr.value } });
        }
      }
      const title = template(at('title'), merged.title);
      const typeId = template(at('type_id'), merged.type_id);
      const project = template(at('project'), merged.project);
      const compiled = {
        title,
        description: template(at('description'), merged.description),
        priority: template(at('priority'), merged.priority),
        status_name: template(at('status_name'), merged.status_name),
        type_id: typeId,
        project,
        assignee: template(at('assignee'), merged.assignee),
        custom_attributes: attributes,
      };
      if (title && typeId && project) fields = { ...compiled, title, type_id: typeId, project };
    }
    let lifecycle: LifecyclePolicy | undefined;
    try {
      lifecycle = resolvePolicy(file.lifecycle, block.lifecycle, rule.lifecycle);
    } catch (e) {
      problems.push(`${path}.lifecycle: ${(e as Error).message}`);
    }
    const markerKey = lifecycle?.marker_attribute;
    if (markerKey !== undefined && fields?.custom_attributes.some((a) => a.key === markerKey)) {
      const where = rule.lifecycle?.marker_attribute !== undefined ? `${path}.lifecycle` : block.lifecycle?.marker_attribute !== undefined ? `sources.${name}.lifecycle` : 'lifecycle';
      problems.push(`${where}.marker_attribute: "${markerKey}" is also a custom attribute of ${path}'s case; the dedup marker needs an attribute of its own`);
    }
    rules.push({
      name: rule.name,
      path,
      matchesType: typeMatcher(rule.events),
      signals: rule.signals ? new Set(rule.signals) : undefined,
      when,
      action: rule.action,
      fields,
      identity: template(`${path}.identity`, rule.identity),
      ...(lifecycle ? { lifecycle } : {}),
    });
  });
  return rules;
}

/**
 * A source whose rules compile on first access of `rules` (see `lazy` in compileRules); with
 * `validated` rules its settings are bound, and its lifecycle policy resolved, on first access too.
 */
function lazySource(origin: string, name: SourceName, block: SourceBlock, file: RulesFile, bindSource: () => BoundSource): CompiledSource {
  let rules: readonly CompiledRule[] | undefined;
  let source: BoundSource | undefined;
  let lifecycle: LifecyclePolicy | undefined;
  return {
    name,
    get source(): BoundSource {
      return (source ??= bindSource());
    },
    async load(): Promise<BoundSource> {
      if (source === undefined) await loadSource(name);
      return (source ??= bindSource());
    },
    get secretKey(): string | undefined {
      if (source !== undefined) return source.settings.secret;
      const key = block.settings?.['secret'];
      return typeof key === 'string' ? key : DEFAULT_SECRET_KEYS[name];
    },
    get lifecycle(): LifecyclePolicy {
      return (lifecycle ??= resolvePolicy(file.lifecycle, block.lifecycle));
    },
    ackDeadlineMs: block.ack_deadline_ms ?? DEFAULT_ACK_DEADLINE_MS[name],
    get rules(): readonly CompiledRule[] {
      if (rules === undefined) {
        const problems: string[] = [];
        const compiled = compileSourceRules(name, block, file, problems);
        if (problems.length > 0) throw new ConfigError(`${origin} is invalid:\n  ${problems.join('\n  ')}`);
        rules = compiled;
      }
      return rules;
    },
  };
}

/** Binds a source's settings; the problems found go to `problems` (undefined is returned then). */
function bindSettings(entry: RegisteredSource, name: SourceName, block: SourceBlock, problems: string[]): BoundSource | undefined {
  try {
    return entry.bind(block.settings ?? {});
  } catch (e) {
    if (isZodError(e)) problems.push(...zodProblems(e, ['sources', name, 'settings']));
    else problems.push(`sources.${name}.settings: ${(e as Error).message}`);
    return undefined;
  }
}

/** The rules file checked against its schema, defaults filled in; a ConfigError names every failing path. */
export function validateRulesFile(input: unknown, origin = 'rules'): RulesFile {
  const parsed = rulesSchemas().RulesFileSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(`${origin} is invalid:\n  ${zodProblems(parsed.error, []).join('\n  ')}`, { cause: parsed.error });
  return parsed.data;
}

/**
 * Validates a parsed rules file and compiles every expression once. All problems are collected
 * and thrown together as one ConfigError whose message names each failing path.
 *
 * `lazy` (the Lambda): each source's rules compile on the first access of its `rules`; its settings
 * are still checked here, unless the rules are also `validated`: then they are bound (and its
 * lifecycle policy resolved) on first access too, so a cold start builds no settings or lifecycle
 * schema for the sources the container never serves. Parsing the ~60 JSONata
 * expressions of the presets is most of the module load time, and one function usually serves a
 * few of the sources. The bundled rules were compiled by this same function at synth
 * (lib/rules-asset.ts), so a lazily compiled source cannot fail in a way synth did not report; if
 * it did anyway, the access throws the same ConfigError.
 */
export function compileRules(input: unknown, options: { origin?: string; lazy?: boolean; validated?: boolean } = {}): CompiledRules {
  // `validated`: `input` is validateRulesFile's output, made at synth and inlined (the Lambda): not
  // parsed a second time on every cold start (~4 ms).
  return compileRulesFile(options.validated === true ? (input as RulesFile) : validateRulesFile(input, options.origin ?? 'rules'), options);
}

/**
 * compileRules of a file validateRulesFile returned (`validated`: at synth, the Lambda's). The
 * Lambda entry calls this one, so its bundle leaves out the rules file's schema (./rules-schema.ts),
 * which only validateRulesFile builds.
 */
export function compileRulesFile(file: RulesFile, options: { origin?: string; lazy?: boolean; validated?: boolean } = {}): CompiledRules {
  const origin = options.origin ?? 'rules';
  const problems: string[] = [];
  const sources = new Map<SourceName, CompiledSource>();

  for (const [name, block] of Object.entries(file.sources) as [SourceName, SourceBlock][]) {
    if (!isSourceName(name)) {
      problems.push(`sources.${name}: this source is not available in this build`);
      continue;
    }
    if (options.lazy === true && options.validated === true) {
      // Its code too is read on first access (in a Lambda bundle, once CompiledSource.load() loaded it).
      sources.set(
        name,
        lazySource(origin, name, block, file, () => {
          const found: string[] = [];
          const bound = bindSettings(SOURCES[name], name, block, found);
          if (bound === undefined) throw new ConfigError(`${origin} is invalid:\n  ${found.join('\n  ')}`);
          return bound;
        }),
      );
      continue;
    }
    const bound = bindSettings(SOURCES[name], name, block, problems);
    if (options.lazy === true) {
      if (bound) sources.set(name, lazySource(origin, name, block, file, () => bound));
      continue;
    }
    const rules = compileSourceRules(name, block, file, problems);
    if (bound) sources.set(name, { name, source: bound, load: async () => bound, secretKey: bound.settings.secret, rules, lifecycle: resolvePolicy(file.lifecycle, block.lifecycle), ackDeadlineMs: block.ack_deadline_ms ?? DEFAULT_ACK_DEADLINE_MS[name] });
  }
  if (Object.keys(file.sources).length === 0) problems.push('sources: no source is configured');
  if (problems.length > 0) throw new ConfigError(`${origin} is invalid:\n  ${problems.join('\n  ')}`);
  return { sources };
}
