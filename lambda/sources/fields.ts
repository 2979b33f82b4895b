import type { ZodError } from '../shared/zod.js';
import { safeEqualString } from './crypto.js';
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
  let ok = false;
  for (const secret of secrets) ok = safeEqualString(presented, secret) || ok;
  return ok;
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
