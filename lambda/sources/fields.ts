import { safeEqualString, verifyWithFallback } from './crypto.js';
import type { Json, JsonObject } from './types.js';

/** The value at `key` when it is a JSON object (not an array, not null). */
export function objectOf(body: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = body?.[key];
  return isObject(v) ? v : undefined;
}

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A string, or a number rendered as a string; anything else is undefined. */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/** A non-empty string (empty strings in payloads, such as Grafana's `panelURL: ""`, count as absent). */
export function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Reads a dot path (`alert.labels.severity`, `items.0.id`) from a JSON value.
 * Numeric segments index arrays. Returns undefined when any step is missing.
 */
export function getPath(value: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = value;
  for (const segment of path.split('.')) {
    if (cur === undefined || cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(segment)) return undefined;
      cur = cur[Number(segment)];
    } else {
      cur = Object.hasOwn(cur, segment) ? cur[segment] : undefined;
    }
  }
  return cur;
}

/**
 * Checks an `Authorization`-style credential against every secret, constant time.
 * - `bearer`: `Bearer <token>` (scheme word case-insensitive), token === secret.
 * - `basic`: `Basic base64(user:pass)`, decoded credentials === secret (`user:pass`).
 * False for a missing or malformed value; never throws.
 */
export function credentialMatches(value: string | undefined, scheme: 'bearer' | 'basic', secrets: readonly string[]): boolean {
  if (value === undefined) return false;
  const match = /^\s*([A-Za-z]+) +(\S+)\s*$/.exec(value);
  if (match === null) return false;
  const [, word = '', credentials = ''] = match;
  if (word.toLowerCase() !== scheme) return false;
  let presented = credentials;
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return false;
    presented = Buffer.from(credentials, 'base64').toString('utf8');
  }
  return verifyWithFallback(secrets, (secret) => safeEqualString(presented, secret));
}

/** Builds the `Authorization` value a sender configured with `scheme` and `secret` would send. */
export function credentialHeader(scheme: 'bearer' | 'basic', secret: string): string {
  return scheme === 'bearer' ? `Bearer ${secret}` : `Basic ${Buffer.from(secret, 'utf8').toString('base64')}`;
}
