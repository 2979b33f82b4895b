import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { resolveSharedDir } from '../support/conformance-gate.js';

// The one door through which tests read the vendor data in ../shared (vendor payloads, signature vectors,
// Datadog's OpenAPI and recorded exchanges). That data is read in place and never copied into this repository.
//
// On a clone without ../shared, `npm test` leaves these suites out (vitest.config.ts); under CI they run and
// fail with one plain test each, saying what is missing. To keep the data elsewhere:
// CASE_BRIDGE_SHARED_DIR=/path/to/shared npm test

export const sharedDir: string = resolveSharedDir();

export const hasShared: boolean = existsSync(sharedDir);

const missingMessage = `../shared not found at ${sharedDir}: the conformance suite needs the vendor fixtures and Datadog spec (set CASE_BRIDGE_SHARED_DIR)`;

/** The shared folder, or an Error with the plain "not found" message. */
export function requireShared(): string {
  if (!hasShared) throw new Error(missingMessage);
  return sharedDir;
}

/**
 * `describe` for suites that read ../shared. Without the folder it registers one failing test with the
 * plain message (only under CI: elsewhere vitest.config.ts leaves these files out).
 */
export function describeShared(name: string, fn: () => void): void {
  if (hasShared) {
    describe(name, fn);
    return;
  }
  describe(name, () => {
    it('needs the vendor fixtures in ../shared', () => {
      throw new Error(missingMessage);
    });
  });
}

const HeadersSchema = z.record(z.string(), z.string());
const RequestDefaultsSchema = z.looseObject({ headers: HeadersSchema });

export interface SharedFixture {
  /** File name without `.json`, e.g. `issues.opened`. */
  readonly name: string;
  readonly file: string;
  /** The exact bytes of the fixture as UTF-8 text (sign this, never a re-serialisation). */
  readonly bodyText: string;
  /** `<source>/_request.json` headers, overridden by `<name>.headers.json`. */
  readonly headers: Readonly<Record<string, string>>;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Source folders under fixtures/ (github, pagerduty, ...). */
export function listFixtureSources(): string[] {
  const dir = path.join(requireShared(), 'fixtures');
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Every payload of one source, sorted by name. */
export function listFixtures(source: string): SharedFixture[] {
  const dir = path.join(requireShared(), 'fixtures', source);
  const defaultsFile = path.join(dir, '_request.json');
  const defaults = existsSync(defaultsFile) ? RequestDefaultsSchema.parse(readJson(defaultsFile)).headers : {};
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.headers.json') && !f.startsWith('_'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.json'.length);
      const headersFile = path.join(dir, `${name}.headers.json`);
      const own = existsSync(headersFile) ? HeadersSchema.parse(readJson(headersFile)) : {};
      return { name, file: path.join(dir, f), bodyText: readFileSync(path.join(dir, f), 'utf8'), headers: { ...defaults, ...own } };
    });
}

export const SignatureVectorSchema = z.object({
  source: z.string(),
  scheme: z.enum([
    'github-hmac-sha256',
    'pagerduty-v1-hmac-sha256',
    'sentry-hmac-sha256',
    'grafana-hmac-sha256',
    'standard-webhooks-v1',
    'static-bearer',
    'static-basic',
    'static-header',
  ]),
  origin: z.enum(['official', 'derived']),
  ref: z.string(),
  secret: z.string(),
  /** Exact body string that was signed. */
  body: z.string(),
  headers: HeadersSchema,
  expected_valid: z.boolean(),
  note: z.string(),
  /** Grafana: name of the configured timestamp header. */
  timestamp_header: z.string().optional(),
  /** Unix seconds to use as "now" when the scheme checks a timestamp. */
  now: z.number().optional(),
  tolerance_s: z.number().optional(),
  /** Static schemes: header that carries the credential. */
  header_name: z.string().optional(),
});
export type SignatureVector = z.infer<typeof SignatureVectorSchema>;

export function readSignatureVectors(): SignatureVector[] {
  return z.array(SignatureVectorSchema).parse(readJson(path.join(requireShared(), 'fixtures', 'signatures.json')));
}

// go-vcr cassette, format "version: 2".
const CassetteSchema = z.looseObject({
  version: z.literal(2),
  interactions: z.array(
    z.looseObject({
      request: z.looseObject({
        method: z.string(),
        url: z.string(),
        body: z.string(),
        headers: z.record(z.string(), z.array(z.string())).default({}),
      }),
      response: z.looseObject({
        code: z.number().int(),
        body: z.string(),
        headers: z.record(z.string(), z.array(z.string())).default({}),
      }),
    }),
  ),
});

export interface RecordedExchange {
  /** From the file name: `Create a case returns CREATED response`. */
  readonly scenario: string;
  readonly file: string;
  /** Position in the cassette (setup calls come first). */
  readonly index: number;
  readonly request: { readonly method: string; readonly url: string; readonly path: string; readonly body: string; readonly headers: Readonly<Record<string, string[]>> };
  readonly response: { readonly code: number; readonly headers: Readonly<Record<string, string[]>>; readonly body: string };
}

/** Every interaction of every recorded cassette, in file order. */
export function readRecordedExchanges(): RecordedExchange[] {
  const dir = path.join(requireShared(), 'datadog', 'recorded');
  return readdirSync(dir)
    .filter((f) => f.startsWith('Scenario_') && f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => {
      const cassette = CassetteSchema.parse(parseYaml(readFileSync(path.join(dir, f), 'utf8')));
      const scenario = f.slice('Scenario_'.length, -'.yaml'.length).replaceAll('_', ' ');
      return cassette.interactions.map((i, index) => {
        const url = new URL(i.request.url);
        return {
          scenario,
          file: f,
          index,
          request: { method: i.request.method, url: i.request.url, path: url.pathname, body: i.request.body, headers: i.request.headers },
          response: { code: i.response.code, headers: i.response.headers, body: i.response.body },
        };
      });
    });
}

const OpenApiSchema = z.looseObject({
  openapi: z.string(),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  components: z.looseObject({ schemas: z.record(z.string(), z.unknown()) }),
});
export type OpenApiDocument = z.infer<typeof OpenApiSchema>;

let openApi: OpenApiDocument | undefined;

/** Datadog's OpenAPI 3.0 document for /api/v2/cases (parsed once). */
export function loadOpenApi(): OpenApiDocument {
  openApi ??= OpenApiSchema.parse(parseYaml(readFileSync(path.join(requireShared(), 'datadog', 'cases-openapi.yaml'), 'utf8')));
  return openApi;
}
