import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as z from '../shared/zod.js';

/** Key name in the bridge secret: SCREAMING_SNAKE. Built on first use, as the sources' settings schemas are. */
export const secretKeySchema = z.lazily(() => z.string().check(z.regex(/^[A-Z][A-Z0-9_]*$/, 'must be an UPPER_SNAKE key name in the bridge secret')));

// Turning a string into an HMAC key costs about as much as hashing a 2 KB body: keep the key objects
// of the (few) secrets in use. Bounded so a rotation storm cannot grow it.
const KEYS = new Map<string, KeyObject>();

function keyOf(key: string | Buffer): KeyObject | Buffer {
  if (typeof key !== 'string') return key;
  let k = KEYS.get(key);
  if (k === undefined) {
    if (KEYS.size >= 32) KEYS.clear();
    k = createSecretKey(Buffer.from(key, 'utf8'));
    KEYS.set(key, k);
  }
  return k;
}

export function hmacSha256(key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const h = createHmac('sha256', keyOf(key));
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time comparison of two byte strings; false on length mismatch without early exit on content. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    // Still spend a comparison so the timing does not depend on where the strings differ.
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

const HEX = /^[0-9a-f]+$/;

/** Compares a lower-case hex digest from a header with the expected digest, constant time. */
export function hexDigestMatches(candidate: string, expected: Buffer): boolean {
  if (candidate.length !== expected.length * 2 || !HEX.test(candidate)) return false;
  return safeEqual(Buffer.from(candidate, 'hex'), expected);
}

/** Compares two strings (tokens, passwords) in constant time. */
export function safeEqualString(a: string, b: string): boolean {
  return safeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Returns the header value, lower-casing the name (HTTP API v2 lower-cases names already). */
export function header(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return v === undefined || v === '' ? undefined : v;
}

/** Lower-cases header names (as API Gateway HTTP API v2 does); later duplicates win. */
export function normalizeHeaders(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}
