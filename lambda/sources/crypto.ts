import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import * as z from '../shared/zod.js';

/** Key name in the bridge secret: SCREAMING_SNAKE. Built on first use, as the sources' settings schemas are. */
export const secretKeySchema = z.lazily(() => z.string().check(z.regex(/^[A-Z][A-Z0-9_]*$/, 'must be an UPPER_SNAKE key name in the bridge secret')));

// HMAC-SHA256 (RFC 2104) as two one-shot SHA-256 hashes: H((K ^ opad) || H((K ^ ipad) || message)).
// createHmac builds a stream object and an OpenSSL HMAC context on every call, which inside the
// handler cost more than hashing a 2 KB body; crypto.hash (Node >= 20.12) does not. The padded key
// blocks of the (few) secrets in use are kept, bounded so that a rotation storm cannot grow them.
// A message larger than the scratch buffer takes createHmac.
const BLOCK = 64;
const DIGEST = 32;

interface PaddedKey {
  /** K ^ ipad (0x36), one block. */
  readonly inner: Buffer;
  /** K ^ opad (0x5c), one block, then room for the inner digest. */
  readonly outer: Buffer;
}

const PADDED = new Map<string, PaddedKey>();

function padKey(key: string | Buffer): PaddedKey {
  let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (k.length > BLOCK) k = hash('sha256', k, 'buffer');
  const inner = Buffer.alloc(BLOCK, 0x36);
  const outer = Buffer.alloc(BLOCK + DIGEST, 0x5c);
  for (let i = 0; i < k.length; i++) {
    inner[i]! ^= k[i]!;
    outer[i]! ^= k[i]!;
  }
  return { inner, outer };
}

function paddedKeyOf(key: string | Buffer): PaddedKey {
  if (typeof key !== 'string') return padKey(key);
  let padded = PADDED.get(key);
  if (padded === undefined) {
    if (PADDED.size >= 32) PADDED.clear();
    padded = padKey(key);
    PADDED.set(key, padded);
  }
  return padded;
}

/** The inner hash's input: K ^ ipad, then the message. Used synchronously only (shared). */
const scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** HMAC-SHA256 of the parts, in order (a string part as its UTF-8 bytes), with `key` (a string as its UTF-8 bytes). */
export function hmacSha256(key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  let bound = BLOCK;
  for (const p of parts) bound += typeof p === 'string' ? p.length * 3 : p.length;
  if (bound > scratch.length) {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  }
  const padded = paddedKeyOf(key);
  padded.inner.copy(scratch, 0);
  let at = BLOCK;
  for (const p of parts) at += typeof p === 'string' ? scratch.write(p, at, 'utf8') : p.copy(scratch, at);
  hash('sha256', scratch.subarray(0, at), 'buffer').copy(padded.outer, BLOCK);
  return hash('sha256', padded.outer, 'buffer');
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

/**
 * True when `matches` holds for one of `secrets`: the current secret or, during a rotation, the
 * previous one. Every secret is tried (no early exit), so the time taken does not tell which matched.
 * Every source's verify goes through it.
 */
export function verifyWithFallback(secrets: readonly string[], matches: (secret: string) => boolean): boolean {
  let ok = false;
  for (const secret of secrets) ok = matches(secret) || ok;
  return ok;
}
