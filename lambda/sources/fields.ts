import { safeEqualString, verifyWithFallback } from './crypto.js';
import type { ZodError } from '../shared/zod.js';
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

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 time (`2020-02-06T00:17:58.432911368Z`, any fraction, `Z` or an offset) as ms since the
 * epoch, cut to the millisecond. Undefined when absent, malformed or not after 1970: Go's zero time
 * `0001-01-01T00:00:00Z` (Alertmanager's `endsAt` of an alert still firing) means "none".
 */
export function rfc3339Ms(v: unknown): number | undefined {
  if (typeof v !== 'string' || !RFC3339.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Unix seconds, as a number or a decimal string (a header), as ms; undefined when not a positive number. */
export function unixSecondsMs(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(?:\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n * 1000) : undefined;
}

/** The latest of some times, undefined when none is defined. */
export function latestMs(times: readonly (number | undefined)[]): number | undefined {
  let out: number | undefined;
  for (const t of times) if (t !== undefined && (out === undefined || t > out)) out = t;
  return out;
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

/** `event.data`, `alerts[0].labels` from a zod issue path. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? 'the body' : out;
}

interface IssueLike {
  readonly code: string;
  readonly message: string;
  readonly errors?: readonly (readonly IssueLike[])[];
}

/** The value was absent (a union, `string | number`, reports one such issue per member). */
function isMissing(issue: IssueLike): boolean {
  if (issue.code === 'invalid_type') return / received undefined$/.test(issue.message);
  return issue.code === 'invalid_union' && issue.errors !== undefined && issue.errors.length > 0 && issue.errors.every((list) => list.some(isMissing));
}

/**
 * What a body that failed its schema lacks, by path, for the 400 answer (never a value of the body):
 * `event.data is missing`, `alerts[0].status: expected one of "firing"|"resolved"` (three at most).
 */
export function payloadProblems(error: ZodError): string {
  const problems = error.issues.slice(0, 3).map((issue) => {
    const path = pathText(issue.path);
    if (isMissing(issue)) return `${path} is missing`;
    return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
  });
  return `${problems.join('; ')}${error.issues.length > 3 ? '; …' : ''}`;
}

/**
 * The first of `paths` (dot paths) that does not lead to a string or number, or to an object when it
 * names one (`issue`, then `issue.number`): the path a 400 names. Undefined when all are there.
 */
export function missingPath(body: JsonObject, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const segments = path.split('.');
    for (let i = 1; i <= segments.length; i++) {
      const prefix = segments.slice(0, i).join('.');
      const value = getPath(body, prefix);
      if (i < segments.length ? !isObject(value) : str(value) === undefined && !isObject(value)) return prefix;
    }
  }
  return undefined;
}
