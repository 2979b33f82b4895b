import { signRequest } from '../../lambda/local/sign.js';
import { normalizeHeaders } from '../../lambda/sources/crypto.js';
import { SOURCES, type BoundSource, type SourceName } from '../../lambda/sources/index.js';
import type { JsonObject } from '../../lambda/sources/types.js';

/** Fixed clock for every test (Unix seconds). */
export const NOW = 1_750_000_000;

export function bindSource(source: SourceName, settings: object = {}): BoundSource {
  return SOURCES[source].bind(settings);
}

/** Headers a sender configured with `secret` would send (lower-cased, as API Gateway delivers them). */
export function signedHeaders(
  source: SourceName,
  secret: string,
  body: string,
  options: { settings?: object; headers?: Record<string, string>; now?: number } = {},
): Record<string, string> {
  return normalizeHeaders(signRequest({ source, settings: options.settings ?? {}, secret, body, headers: options.headers ?? {}, now: options.now ?? NOW }));
}

export const raw = (body: string): Buffer => Buffer.from(body, 'utf8');
export const json = (body: string): JsonObject => JSON.parse(body) as JsonObject;

/** Runs `fn` and returns what it threw (fails the test when nothing is thrown). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
