import { compileExpression, type Bindings, type CompiledExpression } from './expression.js';

/** A `case` field: literal text with `{{ JSONata }}` parts. */
export interface CompiledTemplate {
  readonly source: string;
  /** True when the template has no expression. */
  readonly constant: boolean;
  /** Synchronous unless an expression needs JSONata's (async) evaluator. */
  evaluate(input: unknown, bindings: Bindings): unknown;
}

export class TemplateSyntaxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateSyntaxError';
  }
}

/** Renders a value into text the way a reader expects: lists joined, objects as JSON. */
export function toText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(toText).filter((s) => s !== '').join(', ');
  return JSON.stringify(value);
}

/** toText as Array.prototype.join sees it (JSON.stringify gives undefined for a function). */
function joinable(value: unknown): string {
  const text: string | undefined = toText(value);
  return text ?? '';
}

export function compileTemplate(source: string): CompiledTemplate {
  const parts: (string | CompiledExpression)[] = [];
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open === -1) {
      parts.push(rest);
      break;
    }
    if (open > 0) parts.push(rest.slice(0, open));
    const close = rest.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateSyntaxError(`"{{" at character ${source.length - rest.length + open + 1} has no closing "}}"`);
    const expression = rest.slice(open + 2, close).trim();
    if (expression === '') throw new TemplateSyntaxError('empty {{ }}');
    try {
      parts.push(compileExpression(expression));
    } catch (cause) {
      throw new TemplateSyntaxError(`{{ ${expression} }}: ${(cause as Error).message}`, { cause });
    }
    rest = rest.slice(close + 2);
  }
  if (parts.every((p) => typeof p === 'string')) {
    const text = parts.join('');
    return { source, constant: true, evaluate: () => text };
  }
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined && typeof only !== 'string') {
    return { source, constant: false, evaluate: (input, bindings) => only.evaluate(input, bindings) };
  }
  return {
    source,
    constant: false,
    evaluate(input, bindings) {
      // Every part is evaluated, in order; text is joined as it comes until a part answers with a
      // promise (JSONata's evaluator), then the rest waits for it. Same result as mapping every
      // part with toText and joining, without the two arrays per call.
      let text = '';
      let pending: unknown[] | undefined;
      for (const part of parts) {
        const value = typeof part === 'string' ? part : part.evaluate(input, bindings);
        if (pending !== undefined) pending.push(value);
        else if (value instanceof Promise) pending = [text, value];
        else text += joinable(value);
      }
      return pending === undefined ? text : Promise.all(pending).then((all) => all.map(toText).join(''));
    },
  };
}
