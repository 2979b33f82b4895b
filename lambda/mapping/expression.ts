import jsonata from 'jsonata';

/**
 * JSONata expressions, compiled once at load.
 *
 * JSONata's evaluator costs 70-130 us per call, more than the whole CPU floor of a 2 KB webhook,
 * so the common shapes (paths, literals, `&`, `=`, `!=`, `in [...]`, `and`, `or`, comparisons,
 * `? :`) are compiled to plain closures over JSONata's own AST. Whenever a value takes a turn the
 * closure does not model exactly (an array on a path, an object compared, a float turned into a
 * string) it hands over to the real JSONata evaluator, so results are always JSONata's.
 */
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

/** Compiles a JSONata expression; throws ExpressionSyntaxError with JSONata's message and position. */
export function compileExpression(source: string): CompiledExpression {
  let compiled: ReturnType<typeof jsonata>;
  try {
    compiled = jsonata(source);
  } catch (cause) {
    const e = cause as { message?: string; position?: number; token?: string };
    throw new ExpressionSyntaxError(`${e.message ?? 'invalid JSONata'}${e.position !== undefined ? ` (at character ${e.position})` : ''}`, e.position, { cause });
  }
  // No access to the environment or the file system: JSONata has none, and we register no functions.
  const slow = (input: unknown, bindings: Bindings): Promise<unknown> => compiled.evaluate(input, { ...bindings });
  const fast = compileNode(compiled.ast() as Node);
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
