import { isUtf8 } from 'node:buffer';
import type { JsonObject } from '../sources/types.js';
import { PayloadError } from '../shared/errors.js';

/** Deeper than any real alert payload; keeps recursive code downstream (JSONata, logs) safe. */
export const MAX_DEPTH = 64;

/**
 * Reads the verified raw body as one JSON object. Rejects invalid UTF-8, non-objects, nesting
 * deeper than MAX_DEPTH and `__proto__` keys (a prototype-pollution vector once merged elsewhere).
 */
export function parseJsonObject(raw: Buffer): JsonObject {
  if (raw.length === 0) throw new PayloadError('body is empty');
  // isUtf8 is native (simdutf) and several times faster than a fatal TextDecoder.
  if (!isUtf8(raw)) throw new PayloadError('body is not valid UTF-8');
  const bom = raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf;
  return parseText((bom ? raw.subarray(3) : raw).toString('utf8'));
}

const REPLACEMENT_CHARACTER = Buffer.from('\uFFFD', 'utf8');

/**
 * parseJsonObject for a body that arrives as text (API Gateway without base64): the same result
 * as parseJsonObject(Buffer.from(text, 'utf8')) without decoding the bytes back into a string,
 * which costs about as much as JSON.parse itself.
 */
export function parseJsonObjectText(text: string, utf8?: Buffer): JsonObject {
  if (text.length === 0) throw new PayloadError('body is empty');
  // Encoding a string as UTF-8 turns each lone surrogate into U+FFFD; so does toWellFormed. With the
  // encoded bytes at hand (`utf8`, made for the HMAC), only a body holding U+FFFD needs the check,
  // which on Node 20 costs as much as JSON.parse for a non-ASCII body.
  const check = utf8 === undefined || utf8.includes(REPLACEMENT_CHARACTER);
  const wellFormed = !check || text.isWellFormed() ? text : text.toWellFormed();
  return parseText(wellFormed.charCodeAt(0) === 0xfeff ? wellFormed.slice(1) : wellFormed);
}

function parseText(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PayloadError(`body is not JSON: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PayloadError(`body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  // The common case passes the allocation-free walk (its cost follows the number of objects and
  // keys, not the length of the text: long strings cost nothing); only a rejected body takes the walk
  // that names the first problem (in the same order as ever).
  if (!isClean(value, 1)) checkShape(value);
  return value as JsonObject;
}

/**
 * True when no object has a `__proto__` key and nothing nests deeper than MAX_DEPTH. Recursive but
 * bounded: it stops at MAX_DEPTH + 1 levels, however deep the body.
 */
function isClean(node: object, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const v: unknown = node[i];
      if (v !== null && typeof v === 'object' && !isClean(v, depth + 1)) return false;
    }
    return true;
  }
  const obj = node as Record<string, unknown>;
  if (Object.hasOwn(obj, '__proto__')) return false;
  for (const k in obj) {
    const v = obj[k];
    if (v !== null && typeof v === 'object' && !isClean(v, depth + 1)) return false;
  }
  return true;
}

/** Throws the PayloadError for the first problem found (isClean found one). */
function checkShape(root: object): void {
  // Depth-first from the last child (a stack); when a body has several problems this order decides
  // which one the message names, so it is kept as it was.
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) throw new PayloadError(`body nests deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') stack.push([v, depth + 1]);
    } else {
      const obj = node as Record<string, unknown>;
      if (Object.hasOwn(obj, '__proto__')) throw new PayloadError('body has a "__proto__" key');
      for (const k in obj) {
        const v = obj[k];
        if (v !== null && typeof v === 'object') stack.push([v, depth + 1]);
      }
    }
  }
}
