import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../lambda/local/sign.js';
import { normalizeHeaders } from '../../lambda/sources/crypto.js';
import { SOURCES, SOURCE_NAMES, type SourceName } from '../../lambda/sources/index.js';
import { type JsonObject } from '../../lambda/sources/types.js';

// Every source directory under test/fixtures holds `<event>.json` bodies (sent byte for byte),
// optional `<event>.headers.json` (request headers without any signature), `expected.json`
// (the expected parse of the first event) and optional `settings.json` (the source's settings).
const ROOT = fileURLToPath(new URL('../fixtures/', import.meta.url));
const NOW = 1_760_000_000;

// Secrets in each source's format (Standard Webhooks: base64 keys), from the registry.
const SECRET = Object.fromEntries(SOURCE_NAMES.map((s) => [s, SOURCES[s].exampleSecret(`test-secret-${s}-0123456789`)])) as Record<SourceName, string>;
const WRONG = Object.fromEntries(SOURCE_NAMES.map((s) => [s, SOURCES[s].exampleSecret(`wrong-secret-${s}-0123456789`)])) as Record<SourceName, string>;

interface Expected {
  type: string;
  identity: string;
  signal: string;
  ping: boolean;
  deliveryId: string | null;
  /** The sender's time in ms (SourceEvent.occurredAt), null when the event gives none. */
  occurredAt: number | null;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

function isSourceDir(name: string): name is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(name);
}

/** Changes one byte in the middle of the body (a letter or digit, so the length stays the same). */
function tamper(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  for (let i = Math.floor(copy.length / 2); i < copy.length; i++) {
    const c = copy[i];
    if (c !== undefined && /[A-Za-z0-9]/.test(String.fromCharCode(c))) {
      copy[i] = c === 0x61 ? 0x62 : 0x61; // 'a' <-> other
      return copy;
    }
  }
  throw new Error('nothing to tamper with');
}

const dirs = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('test/fixtures', () => {
  it('has a directory for every source and nothing else', () => {
    expect(dirs).toEqual([...SOURCE_NAMES].sort());
  });
});

for (const dir of dirs) {
  if (!isSourceDir(dir)) continue;
  const source = dir;
  const base = `${ROOT}${source}/`;
  const files = readdirSync(base);
  const stems = files
    .filter((f) => f.endsWith('.json') && !f.endsWith('.headers.json') && f !== 'expected.json' && f !== 'settings.json')
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
  const expected = readJson<Record<string, Expected>>(`${base}expected.json`);
  const settings = existsSync(`${base}settings.json`) ? readJson<object>(`${base}settings.json`) : {};
  const bound = SOURCES[source].bind(settings);

  describe(`${source} fixtures`, () => {
    it('lists every event in expected.json and nothing else', () => {
      expect(Object.keys(expected).sort()).toEqual(stems);
    });

    it('covers a firing and a resolved event', () => {
      const signals = new Set(Object.values(expected).map((e) => e.signal));
      expect(signals).toContain('firing');
      expect(signals).toContain('resolved');
    });

    // A source without a shared secret (cloudwatch: AWS signs SNS messages in the body) is verified
    // by its own tests (test/sources/cloudwatch.test.ts); its fixtures are parsed here like the others.
    const secretless = SOURCES[source].defaultSecretKey === undefined;
    const cases = stems.map((stem) => {
      const body = readFileSync(`${base}${stem}.json`);
      const headersFile = `${base}${stem}.headers.json`;
      const headers = existsSync(headersFile) ? readJson<Record<string, string>>(headersFile) : { 'Content-Type': 'application/json' };
      const signed = secretless ? normalizeHeaders(headers) : normalizeHeaders(signRequest({ source, settings, secret: SECRET[source], body, headers, now: NOW }));
      return { stem, body, headers: normalizeHeaders(headers), signed };
    });

    if (!secretless) {
      it.each(cases)('$stem: verify accepts the signed request', ({ body, signed }) => {
        expect(bound.verify(body, signed, [SECRET[source]], NOW)).toBe(true);
      });

      it.each(cases)('$stem: verify accepts it with the secret as the previous one (rotation)', ({ body, signed }) => {
        expect(bound.verify(body, signed, [WRONG[source], SECRET[source]], NOW)).toBe(true);
      });

      it.each(cases)('$stem: verify rejects a wrong secret', ({ body, signed }) => {
        expect(bound.verify(body, signed, [WRONG[source]], NOW)).toBe(false);
      });

      it.each(cases)('$stem: verify rejects the request without its signature headers', ({ body, headers }) => {
        expect(bound.verify(body, headers, [SECRET[source]], NOW)).toBe(false);
      });

      it.each(cases)('$stem: verify rejects a body changed by one byte when the body is signed', ({ body, signed }) => {
        const tampered = tamper(body);
        expect(tampered.equals(body)).toBe(false);
        // Static credentials (Alertmanager, Opsgenie) do not cover the body: the change goes unnoticed.
        expect(bound.verify(tampered, signed, [SECRET[source]], NOW)).toBe(!SOURCES[source].bodySigned);
      });
    }

    it.each(cases)('$stem: parse gives expected.json', ({ stem, body, signed }) => {
      const events = bound.parse(JSON.parse(body.toString('utf8')) as JsonObject, signed);
      expect(events.length).toBeGreaterThan(0);
      const [first] = events;
      expect({
        type: first?.type,
        identity: first?.identity,
        signal: first?.signal,
        ping: first?.ping,
        deliveryId: first?.deliveryId ?? null,
        occurredAt: first?.occurredAt ?? null,
      }).toEqual(expected[stem]);
      expect(first?.source).toBe(source);
    });
  });
}
