import { createRequire } from 'node:module';
import type jsonataModule from 'jsonata';

/**
 * JSONata expressions, compiled once at load.
 *
 * JSONata's evaluator costs 70-130 us per call, more than the whole CPU floor of a 2 KB webhook,
 * so the common shapes (paths, literals, `&`, `=`, `!=`, `in [...]`, `and`, `or`, comparisons,
 * `? :`) are compiled to plain closures over JSONata's own AST. Whenever a value takes a turn the
 * closure does not model exactly (an array on a path, an object compared, a float turned into a
 * string) it hands over to the real JSONata evaluator, so results are always JSONata's.
 *
 * In the Lambda bundles JSONata itself (~80 KB, ~16 ms to load) is a separate chunk loaded on first
 * need: the fast expressions arrive parsed (`precompileExpressions` at synth, inlined, then
 * `usePrecompiledExpressions`), and the others parse on their first evaluation. Everywhere else
 * (tests, the local bridge, preview, synth) JSONata is loaded on the first compile, synchronously.
 */
type Jsonata = typeof jsonataModule;

/** `true` in the Lambda bundles (esbuild `define`, lib/lambda-bundle.ts): JSONata only by dynamic import. */
declare const __CASE_BRIDGE_LAZY_JSONATA__: boolean | undefined;
const LAZY_JSONATA = typeof __CASE_BRIDGE_LAZY_JSONATA__ !== 'undefined' && __CASE_BRIDGE_LAZY_JSONATA__ === true;

let jsonataFn: Jsonata | undefined;

/** JSONata, loaded now; undefined in a Lambda bundle until something awaited jsonataLoaded(). */
function jsonataNow(): Jsonata | undefined {
  if (jsonataFn === undefined && !LAZY_JSONATA) jsonataFn = createRequire(import.meta.url)('jsonata') as Jsonata;
  return jsonataFn;
}

/** True once JSONata is loaded (in a Lambda bundle: once an expression needed its evaluator). */
export function jsonataLoadedYet(): boolean {
  return jsonataFn !== undefined;
}

async function jsonataLoaded(): Promise<Jsonata> {
  jsonataFn ??= jsonataNow() ?? (await import('jsonata')).default;
  return jsonataFn;
}
export interface Bindings {
  readonly [name: string]: unknown;
}

export interface CompiledExpression {
  readonly source: string;
  /** True when every evaluation can run without JSONata's evaluator (short of a fallback). */
  readonly fast: boolean;
  evaluate(input: unknown, bindings: Bindings): unknown | Promise<unknown>;
}

export class ExpressionSyntaxError extends Error {
  constructor(message: string, readonly position: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExpressionSyntaxError';
  }
}

/** Thrown inside a fast closure to hand the evaluation to JSONata. */
class Fallback {
  static readonly instance = new Fallback();
}

type Node = { type: string; value?: unknown; steps?: Node[]; lhs?: Node; rhs?: Node; expressions?: Node[]; condition?: Node; then?: Node; else?: Node; [k: string]: unknown };
type Fn = (input: unknown, bindings: Bindings) => unknown;

const STEP_KEYS = new Set(['type', 'value', 'position']);
const PATH_KEYS = new Set(['type', 'steps', 'position', 'keepSingletonArray']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function primitive(v: unknown): v is string | number | boolean | null | undefined {
  return v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function toStringJsonata(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw Fallback.instance;
}

function toBoolean(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  throw Fallback.instance;
}

function compileNode(node: Node): Fn | undefined {
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value': {
      const v = node.value;
      return () => v;
    }
    case 'path': {
      if (Object.keys(node).some((k) => !PATH_KEYS.has(k)) || node.keepSingletonArray) return undefined;
      const steps = node.steps ?? [];
      if (steps.length === 0 || steps.some((s) => Object.keys(s).some((k) => !STEP_KEYS.has(k)))) return undefined;
      const first = steps[0]!;
      const rest = steps.slice(1);
      if (rest.some((s) => s.type !== 'name')) return undefined;
      const names = rest.map((s) => String(s.value));
      let start: Fn;
      if (first.type === 'variable') {
        const name = String(first.value);
        start = name === '' ? (input) => input : (_input, b) => (Object.hasOwn(b, name) ? b[name] : undefined);
      } else if (first.type === 'name') {
        const name = String(first.value);
        start = (input) => {
          if (Array.isArray(input)) throw Fallback.instance;
          return isPlainObject(input) && Object.hasOwn(input, name) ? input[name] : undefined;
        };
      } else {
        return undefined;
      }
      return (input, bindings) => {
        let cur = start(input, bindings);
        for (const name of names) {
          if (cur === undefined) return undefined;
          if (Array.isArray(cur)) throw Fallback.instance;
          if (!isPlainObject(cur)) return undefined;
          cur = Object.hasOwn(cur, name) ? cur[name] : undefined;
        }
        // A path ending on an empty array yields nothing in JSONata; let it decide.
        if (Array.isArray(cur) && (cur.length === 0 || first.type === 'variable')) throw Fallback.instance;
        return cur;
      };
    }
    case 'binary': {
      const op = String(node.value);
      const lhs = node.lhs ? compileNode(node.lhs) : undefined;
      if (op === 'in') {
        const rhsNode = node.rhs;
        if (!lhs || !rhsNode || rhsNode.type !== 'unary' || rhsNode.value !== '[') return undefined;
        const items = (rhsNode.expressions ?? []).map((e) => (e.type === 'string' || e.type === 'number' || e.type === 'value' ? e.value : Fallback));
        if (items.includes(Fallback)) return undefined;
        const set = new Set(items);
        return (input, b) => {
          const v = lhs(input, b);
          if (v === undefined) return false;
          if (!primitive(v)) throw Fallback.instance;
          return set.has(v);
        };
      }
      const rhs = node.rhs ? compileNode(node.rhs) : undefined;
      if (!lhs || !rhs) return undefined;
      switch (op) {
        case '&':
          return (i, b) => toStringJsonata(lhs(i, b)) + toStringJsonata(rhs(i, b));
        case '=':
        case '!=': {
          const eq = op === '=';
          return (i, b) => {
            const l = lhs(i, b);
            const r = rhs(i, b);
            if (l === undefined || r === undefined) return false;
            if (!primitive(l) || !primitive(r)) throw Fallback.instance;
            return eq ? l === r : l !== r;
          };
        }
        case 'and':
          return (i, b) => toBoolean(lhs(i, b)) && toBoolean(rhs(i, b));
        case 'or':
          return (i, b) => toBoolean(lhs(i, b)) || toBoolean(rhs(i, b));
        case '<':
        case '<=':
        case '>':
        case '>=':
          return (i, b) => {
            const l = lhs(i, b);
            const r = rhs(i, b);
            if (l === undefined || r === undefined) return undefined;
            if (!((typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string'))) throw Fallback.instance;
            return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r;
          };
        default:
          return undefined;
      }
    }
    case 'condition': {
      const cond = node.condition ? compileNode(node.condition) : undefined;
      const then = node.then ? compileNode(node.then) : undefined;
      const otherwise = node.else ? compileNode(node.else) : () => undefined;
      if (!cond || !then || !otherwise) return undefined;
      return (i, b) => (toBoolean(cond(i, b)) ? then(i, b) : otherwise(i, b));
    }
    default:
      return undefined;
  }
}

/**
 * JSONata's own functions (jsonata 2.x, its static frame). The bridge registers none, and `$event`
 * and `$alert` are values, so a call to any other name fails on every evaluation ("Attempted to
 * invoke a non-function"). test/mapping/expression.test.ts checks this list against JSONata.
 */
export const JSONATA_FUNCTIONS: ReadonlySet<string> = new Set(
  ('sum count max min average string substring substringBefore substringAfter lowercase uppercase length trim pad match contains replace ' +
    'split join formatNumber formatBase formatInteger parseInteger number floor ceil round abs sqrt power random boolean not map zip filter ' +
    'single reduce sift keys lookup append exists spread merge reverse each error assert type sort shuffle distinct encodeUrlComponent ' +
    'encodeUrl decodeUrlComponent decodeUrl base64encode base64decode eval toMillis fromMillis clone now millis').split(' '),
);

/**
 * The first call in `ast` to a function that is neither JSONata's nor bound in the expression
 * (`$f := function($x) {...}`, a lambda's parameter, `@$v` / `#$i`): `$f(...)`, `$f(?, 1)` and
 * `x ~> $f`. Names bound anywhere in the expression count everywhere (never a false refusal).
 */
function unknownFunctionCall(ast: Node): { name: string; position: number | undefined } | undefined {
  const bound = new Set<string>();
  const called: { name: string; position: number | undefined }[] = [];
  const name = (n: unknown): string | undefined => {
    const node = n as Node | undefined;
    return node?.type === 'variable' && typeof node.value === 'string' ? node.value : undefined;
  };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (value === null || typeof value !== 'object' || value instanceof RegExp) return;
    const node = value as Node;
    if (node.type === 'bind') {
      const n = name(node.lhs);
      if (n !== undefined) bound.add(n);
    } else if (node.type === 'lambda') {
      for (const arg of (node['arguments'] as unknown[] | undefined) ?? []) {
        const n = name(arg);
        if (n !== undefined) bound.add(n);
      }
    }
    for (const key of ['focus', 'index'] as const) if (typeof node[key] === 'string') bound.add(node[key]);
    const procedure = node.type === 'function' || node.type === 'partial' ? node['procedure'] : node.type === 'apply' ? node.rhs : undefined;
    const n = name(procedure);
    if (n !== undefined) called.push({ name: n, position: (procedure as Node).position as number | undefined });
    for (const v of Object.values(node)) visit(v);
  };
  visit(ast);
  return called.find((c) => !JSONATA_FUNCTIONS.has(c.name) && !bound.has(c.name));
}

function unknownFunctionError(call: { name: string; position: number | undefined }): ExpressionSyntaxError {
  // JSONata's position is the token's last character; the message names its first (the `$`).
  const start = call.position === undefined ? undefined : call.position - call.name.length;
  const near = [...JSONATA_FUNCTIONS].find((f) => f.toLowerCase() === call.name.toLowerCase());
  const hint = near !== undefined ? `did you mean $${near}?` : 'not a JSONata function (https://docs.jsonata.org/overview) nor defined in the expression';
  return new ExpressionSyntaxError(`unknown function $${call.name}${start !== undefined ? ` at character ${start}` : ''}: ${hint}`, start);
}

function syntaxError(cause: unknown): ExpressionSyntaxError {
  const e = cause as { message?: string; position?: number; token?: string };
  return new ExpressionSyntaxError(`${e.message ?? 'invalid JSONata'}${e.position !== undefined ? ` (at character ${e.position})` : ''}`, e.position, { cause });
}

/**
 * The fast subset of the AST in a compact form, about a third of the JSON (it is inlined into the
 * Lambda bundle): `["p", name...]` a path of names, `["v", variable, name...]` one from a variable,
 * `["l", value]` a literal, `["b", op, lhs, rhs]` (for `in`, rhs is `["a", literal...]`),
 * `["c", condition, then, else?]`. Undefined for anything else (that expression is not fast).
 */
type Compact = readonly unknown[];

function compact(node: Node): Compact | undefined {
  const fastNode = compileNode(node);
  if (fastNode === undefined) return undefined;
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value':
      return ['l', node.value];
    case 'path': {
      const [first, ...rest] = node.steps ?? [];
      const names = rest.map((s) => s.value);
      return first?.type === 'variable' ? ['v', first.value, ...names] : ['p', first?.value, ...names];
    }
    case 'binary': {
      const lhs = node.lhs ? compact(node.lhs) : undefined;
      if (node.value === 'in') return ['b', 'in', lhs, ['a', ...(node.rhs?.expressions ?? []).map((e) => e.value)]];
      return ['b', node.value, lhs, node.rhs ? compact(node.rhs) : undefined];
    }
    case 'condition':
      return ['c', node.condition && compact(node.condition), node.then && compact(node.then), ...(node.else ? [compact(node.else)] : [])];
    default:
      return undefined;
  }
}

function expand(c: Compact): Node {
  const name = (value: unknown): Node => ({ type: 'name', value });
  switch (c[0]) {
    case 'l':
      return { type: 'value', value: c[1] };
    case 'p':
      return { type: 'path', steps: c.slice(1).map(name) };
    case 'v':
      return { type: 'path', steps: [{ type: 'variable', value: c[1] }, ...c.slice(2).map(name)] };
    case 'b': {
      const rhs = c[3] as Compact;
      return {
        type: 'binary',
        value: c[1],
        lhs: expand(c[2] as Compact),
        rhs: c[1] === 'in' ? { type: 'unary', value: '[', expressions: rhs.slice(1).map((value) => ({ type: 'value', value })) } : expand(rhs),
      };
    }
    case 'c':
      return { type: 'condition', condition: expand(c[1] as Compact), then: expand(c[2] as Compact), ...(c.length > 3 ? { else: expand(c[3] as Compact) } : {}) };
    default:
      throw new Error(`not a precompiled expression: ${JSON.stringify(c).slice(0, 80)}`);
  }
}

/** The fast expressions by source text, parsed at synth (compact form) and inlined into the Lambda bundles. */
export type PrecompiledExpressions = Readonly<Record<string, unknown>>;

let precompiled: PrecompiledExpressions = {};

/** Installs the table made by precompileExpressions (the Lambda entries, before any rule compiles). */
export function usePrecompiledExpressions(table: PrecompiledExpressions): void {
  precompiled = table;
}

/**
 * At synth: the AST of every expression among `sources` that the fast path runs (the others are
 * parsed by JSONata in the Lambda, on their first evaluation). Throws ExpressionSyntaxError.
 */
export function precompileExpressions(sources: Iterable<string>): Record<string, unknown> {
  const jsonata = jsonataNow();
  if (jsonata === undefined) throw new Error('precompileExpressions runs at synth, not in a Lambda bundle');
  const table: Record<string, unknown> = {};
  for (const source of sources) {
    let ast: Node;
    try {
      ast = jsonata(source).ast() as Node;
    } catch (cause) {
      throw syntaxError(cause);
    }
    const c = compact(ast);
    if (c !== undefined) table[source] = c;
  }
  return table;
}

let collecting: Set<string> | undefined;

/** Every expression source compiled while `fn` runs (readRulesForBundle collects the rules' expressions). */
export function collectExpressions<T>(fn: () => T): { result: T; sources: Set<string> } {
  const sources = new Set<string>();
  const outer = collecting;
  collecting = sources;
  try {
    return { result: fn(), sources };
  } finally {
    collecting = outer;
  }
}

/** Compiles a JSONata expression; throws ExpressionSyntaxError with JSONata's message and position. */
export function compileExpression(source: string): CompiledExpression {
  collecting?.add(source);
  const pre = Object.hasOwn(precompiled, source) ? expand(precompiled[source] as Compact) : undefined;
  let compiled: ReturnType<Jsonata> | undefined;
  let ast: Node | undefined = pre;
  if (ast === undefined) {
    const jsonata = jsonataNow();
    if (jsonata !== undefined) {
      try {
        compiled = jsonata(source);
      } catch (cause) {
        throw syntaxError(cause);
      }
      ast = compiled.ast() as Node;
      const unknown = unknownFunctionCall(ast);
      if (unknown !== undefined) throw unknownFunctionError(unknown);
    }
  }
  // No access to the environment or the file system: JSONata has none, and we register no functions
  // (a call to a function JSONata does not have is refused above, where the expression is parsed).
  // Without a parse yet (a Lambda bundle), JSONata is loaded and parses on the first evaluation.
  const slow = async (input: unknown, bindings: Bindings): Promise<unknown> => {
    if (compiled === undefined) {
      const jsonata = await jsonataLoaded();
      try {
        compiled = jsonata(source);
      } catch (cause) {
        throw syntaxError(cause);
      }
    }
    return compiled.evaluate(input, { ...bindings });
  };
  const fast = ast === undefined ? undefined : compileNode(ast);
  if (!fast) return { source, fast: false, evaluate: slow };
  return {
    source,
    fast: true,
    evaluate(input, bindings) {
      try {
        return fast(input, bindings);
      } catch (e) {
        if (e === Fallback.instance) return slow(input, bindings);
        throw e;
      }
    },
  };
}
