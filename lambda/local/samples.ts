import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { normalizeHeaders } from '../sources/crypto.js';
import type { SourceName } from '../sources/index.js';

/** Sample payloads shipped with the project (test/fixtures), used by `npm run send` and the docs. */
export const SAMPLES_DIR = fileURLToPath(new URL('../../test/fixtures', import.meta.url));

export interface Sample {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** Where a payload's headers file is looked for: `<payload>.headers.json` beside it. */
export function headersPathBeside(payloadPath: string): string {
  return payloadPath.endsWith('.json') ? payloadPath.replace(/\.json$/, '.headers.json') : `${payloadPath}.headers.json`;
}

/** `<payload>.headers.json` beside the payload, if any. */
export function readHeadersBeside(payloadPath: string): Record<string, string> {
  const headersPath = headersPathBeside(payloadPath);
  if (!existsSync(headersPath)) return {};
  return JSON.parse(readFileSync(headersPath, 'utf8')) as Record<string, string>;
}

export function listSamples(source: string): string[] {
  const dir = join(SAMPLES_DIR, source);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.headers.json') && f !== 'expected.json' && f !== 'settings.json' && !f.startsWith('_'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Reads `test/fixtures/<source>/<event>.json` (or a path) and its headers. */
export function readSample(source: string, eventOrPath: string): Sample {
  const path = eventOrPath.endsWith('.json') ? eventOrPath : join(SAMPLES_DIR, source, `${eventOrPath}.json`);
  if (!existsSync(path)) {
    const known = listSamples(source);
    throw new Error(`no sample ${eventOrPath} for ${source}${known.length ? `; try one of: ${known.join(', ')}` : ''}`);
  }
  const defaults = join(SAMPLES_DIR, source, '_request.json');
  const common = existsSync(defaults) ? ((JSON.parse(readFileSync(defaults, 'utf8')) as { headers?: Record<string, string> }).headers ?? {}) : {};
  // Lower-cased names, so a fixture's own Content-Type replaces the default instead of doubling it.
  return { body: readFileSync(path, 'utf8'), headers: normalizeHeaders({ 'content-type': 'application/json', ...normalizeHeaders(common), ...normalizeHeaders(readHeadersBeside(path)) }) };
}

/** `"key": "<RFC 3339 time>"` (not Go's zero time, which means "none"), as the sender writes it. */
const timeField = (key: string): RegExp => new RegExp(`("${key}"\\s*:\\s*)"(?!0001-)\\d{4}-[^"]*"`, 'g');

/** The sender-time fields of each source's samples (what its parser reads as the event's time). */
const SAMPLE_TIMES: Partial<Record<SourceName, readonly RegExp[]>> = {
  alertmanager: [timeField('startsAt'), timeField('endsAt')],
  grafana: [timeField('startsAt'), timeField('endsAt')],
  pagerduty: [timeField('occurred_at')],
  github: [timeField('updated_at')],
  'standard-webhooks': [timeField('timestamp')],
};

/**
 * A bundled sample dated `now`, as its sender dates a new event (issue 13): the lifecycle orders an
 * alert's events by the sender's time, so the sample's fixed time would make a second `firing` after
 * `resolved` older than that resolve. Only the time values change; every other byte is the fixture's.
 */
export function datedSample(source: string, sample: Sample, now: number): Sample {
  const iso = new Date(now).toISOString();
  let body = sample.body;
  for (const field of SAMPLE_TIMES[source as SourceName] ?? []) body = body.replace(field, `$1"${iso}"`);
  // Opsgenie: alert.updatedAt in nanoseconds.
  if (source === 'opsgenie') body = body.replace(/("updatedAt"\s*:\s*)\d+/g, `$1${now}000000`);
  // Sentry: the Sentry-Hook-Timestamp header, Unix seconds (readSample lower-cases header names).
  const headers = source === 'sentry' && sample.headers['sentry-hook-timestamp'] !== undefined ? { ...sample.headers, 'sentry-hook-timestamp': String(Math.floor(now / 1000)) } : sample.headers;
  return { body, headers };
}
