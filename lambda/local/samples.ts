import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { normalizeHeaders } from '../sources/crypto.js';

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
