import * as z from '../shared/zod.js';
import { SourceUnavailableError } from '../shared/errors.js';
import type { Authentication, Credential, Headers, JsonObject, OutboundFetch, SourceEventOf, SourceSettings, WebhookSource } from './types.js';
// What every source's verify and parse use, loaded at start with the registry (any first webhook
// runs them): a source's first webhook then imports one chunk, its own, about 1.3 ms of CPU where
// its file and this shared one were about 1.9 ms (every file loaded costs its own; lib/lambda-bundle.ts).
import './crypto.js';
import './fields.js';

/**
 * The registry: one line per source (its file holds verify, parse and sign), loaded by dynamic
 * import. The source names, the rules file's schema, the queue message schema and the test and
 * development secrets derive from it. In the Lambda bundles (`__CASE_BRIDGE_LAZY_SOURCES__`, see
 * lib/lambda-bundle.ts) each source's file is a chunk of its own, loaded by `loadSource` on the
 * source's first webhook; everywhere else (tests, the local bridge, scripts, synth) every source is
 * loaded when this module is, so SOURCES is complete at once.
 */
const DEFINITIONS = {
  github: () => import('./github.js').then((m) => m.github),
  pagerduty: () => import('./pagerduty.js').then((m) => m.pagerduty),
  alertmanager: () => import('./alertmanager.js').then((m) => m.alertmanager),
  grafana: () => import('./grafana.js').then((m) => m.grafana),
  sentry: () => import('./sentry.js').then((m) => m.sentry),
  opsgenie: () => import('./opsgenie.js').then((m) => m.opsgenie),
  'standard-webhooks': () => import('./standard-webhooks.js').then((m) => m.standardWebhooks),
  generic: () => import('./generic.js').then((m) => m.generic),
  cloudwatch: () => import('./cloudwatch.js').then((m) => m.cloudwatch),
};

/** `true` in the Lambda bundles (esbuild `define`, lib/lambda-bundle.ts): each source is loaded on its first use. */
declare const __CASE_BRIDGE_LAZY_SOURCES__: boolean | undefined;
const LAZY_SOURCES = typeof __CASE_BRIDGE_LAZY_SOURCES__ !== 'undefined' && __CASE_BRIDGE_LAZY_SOURCES__ === true;

export type SourceName = keyof typeof DEFINITIONS;
/** Every source name, in registry order. */
export const SOURCE_NAMES = Object.keys(DEFINITIONS) as readonly SourceName[] as readonly [SourceName, ...SourceName[]];
/** One normalized event of any source. */
export type SourceEvent = SourceEventOf<SourceName>;

// Each source's `name` is its registry key.
const namesMatch: { readonly [K in SourceName]: () => Promise<{ readonly name: K }> } = DEFINITIONS;
void namesMatch;

/**
 * Each source's secret key when its settings name none (the defaults of the settings schemas; a test
 * checks that they agree). Read without binding the settings, so no settings schema is built for it.
 * Undefined: the source has no shared secret (`authenticate`: cloudwatch's SNS signature).
 */
export const DEFAULT_SECRET_KEYS: { readonly [K in SourceName]: string | undefined } = {
  github: 'GITHUB_WEBHOOK_SECRET',
  pagerduty: 'PAGERDUTY_WEBHOOK_SECRET',
  alertmanager: 'ALERTMANAGER_BEARER_TOKEN',
  grafana: 'GRAFANA_WEBHOOK_SECRET',
  sentry: 'SENTRY_CLIENT_SECRET',
  opsgenie: 'OPSGENIE_BEARER_TOKEN',
  'standard-webhooks': 'STANDARD_WEBHOOKS_SECRET',
  generic: 'GENERIC_WEBHOOK_SECRET',
  cloudwatch: undefined,
};

/**
 * How long each sender waits for the bridge's answer before it records a failed delivery (issue 15;
 * docs/senders.md): Sentry 1 s, PagerDuty 5 s, GitHub 10 s; the others (CloudWatch's SNS included) 10 s. The rules file's
 * `sources.<name>.ack_deadline_ms` overrides it.
 */
export const DEFAULT_ACK_DEADLINE_MS: { readonly [K in SourceName]: number } = {
  github: 10_000,
  pagerduty: 5_000,
  alertmanager: 10_000,
  grafana: 10_000,
  sentry: 1_000,
  opsgenie: 10_000,
  'standard-webhooks': 10_000,
  generic: 10_000,
  cloudwatch: 10_000,
};

/**
 * `silence_alarm_minutes`, in every source's settings: the stack's CloudWatch alarm when no verified
 * webhook of the source arrived for that long (lib/monitoring.ts). Read here, beside the source's own
 * strict settings; 1 to 1440 (one day, the longest alarm period).
 */
export const SILENCE_SETTING = 'silence_alarm_minutes';
const silenceSchema = z.lazily(() => z.optional(z.int().check(z.minimum(1), z.maximum(1440))));

/** A source with its settings resolved from the rules file: what the ingest handler calls. */
export interface BoundSource {
  readonly name: SourceName;
  readonly settings: SourceSettings;
  verify(rawBody: Buffer, headers: Headers, secrets: readonly string[], now: number): boolean;
  /** The headers `verify` reads and what a refused credential is called (the 401's message). */
  readonly credential: Credential;
  parse(body: JsonObject, headers: Headers): SourceEvent[];
  /** See WebhookSource.authenticate: set for the sources without a shared secret. */
  readonly authenticate: ((body: JsonObject, headers: Headers, context: { readonly nowMs: number; readonly fetch: OutboundFetch }) => Promise<Authentication>) | undefined;
  /** Accepts text/plain bodies too (SNS). */
  readonly textBody: boolean;
  /** `silence_alarm_minutes` of its settings, if set. */
  readonly silenceAlarmMinutes: number | undefined;
}

/** What the rest of the bridge knows of a registered source. */
export interface RegisteredSource {
  /** Parses `rawSettings` with the source's strict schema (throws the zod error) and binds them. */
  bind(rawSettings: unknown): BoundSource;
  settingsSchema(): z.core.$ZodType;
  /** See WebhookSource.bodySigned. */
  readonly bodySigned: boolean;
  /** Key of the source's secret in the bridge secret when the settings name none. */
  readonly defaultSecretKey: string | undefined;
  /** A valid secret value made from `seed` (test and development secrets). */
  exampleSecret(seed: string): string;
  /** Adds the signature or credential headers to `headers` (settings raw: `{}` gets the defaults). */
  sign(body: string | Buffer, options: { readonly rawSettings: unknown; readonly secret: string; readonly now: number; readonly headers: SignHeaders }): void;
}

type SignHeaders = Parameters<WebhookSource<SourceSettings, string>['sign']>[1]['headers'];

function register<S extends SourceSettings, N extends SourceName>(source: WebhookSource<S, N>): RegisteredSource {
  const settingsOf = (raw: unknown): S => z.parse(source.settingsSchema(), withoutSilence(raw));
  const { authenticate } = source;
  return {
    bind(rawSettings) {
      const settings = settingsOf(rawSettings);
      return {
        name: source.name,
        settings,
        credential: source.credential(settings),
        verify: (rawBody, headers, secrets, now) => source.verify(rawBody, headers, { secrets, now, settings }),
        parse: (body, headers) => source.parse(body, headers, { settings }),
        authenticate: authenticate === undefined ? undefined : (body, headers, { nowMs, fetch }) => authenticate(body, headers, { settings, nowMs, fetch }),
        textBody: source.textBody === true,
        silenceAlarmMinutes: silenceOf(rawSettings),
      };
    },
    settingsSchema: source.settingsSchema,
    bodySigned: source.bodySigned,
    defaultSecretKey: DEFAULT_SECRET_KEYS[source.name],
    exampleSecret: source.exampleSecret ?? ((seed) => seed),
    sign(body, { rawSettings, secret, now, headers }) {
      source.sign(body, { secret, settings: settingsOf(rawSettings), now, headers });
    },
  };
}

function silenceOf(raw: unknown): number | undefined {
  const value = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[SILENCE_SETTING] : undefined;
  // The zod error names the path under settings (compile-rules prefixes sources.<name>.settings).
  const parsed = z.safeParse(silenceSchema(), value);
  if (!parsed.success) throw new z.$ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: [SILENCE_SETTING, ...issue.path] })));
  return parsed.data;
}

/** The settings without `silence_alarm_minutes`, for the source's own strict schema. */
function withoutSilence(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || !Object.hasOwn(raw, SILENCE_SETTING)) return raw ?? {};
  const { [SILENCE_SETTING]: _silence, ...rest } = raw as Record<string, unknown>;
  return rest;
}

/**
 * Every registered source, by name. Complete from the start outside the Lambda bundles; in them, a
 * source's entry is there once `loadSource` loaded it (reading it before throws, naming the source).
 */
export const SOURCES: { readonly [K in SourceName]: RegisteredSource } = Object.defineProperties(
  {},
  Object.fromEntries(
    SOURCE_NAMES.map((name) => [
      name,
      {
        configurable: true,
        enumerable: true,
        get(): never {
          throw new SourceUnavailableError(`source ${name} is not loaded yet: await loadSource('${name}') first`);
        },
      },
    ]),
  ),
) as { readonly [K in SourceName]: RegisteredSource };

/** Each source's load, once per process (a container): a failed load is forgotten, so the next webhook tries again. */
const loading = new Map<SourceName, Promise<RegisteredSource>>();

/**
 * The source's implementation, loaded on first call and cached. A load that fails (a chunk missing
 * or unreadable) rejects with SourceUnavailableError: answered 503, so the sender sends it again.
 */
export function loadSource(name: SourceName): Promise<RegisteredSource> {
  let promise = loading.get(name);
  if (promise === undefined) {
    promise = DEFINITIONS[name]().then(
      (source) => {
        const registered = register(source as WebhookSource<SourceSettings, SourceName>);
        Object.defineProperty(SOURCES, name, { value: registered, enumerable: true });
        return registered;
      },
      (error: unknown) => {
        loading.delete(name);
        throw new SourceUnavailableError(`the code of source ${name} could not be loaded`, { cause: error });
      },
    );
    loading.set(name, promise);
  }
  return promise;
}

// Outside the Lambda bundles every source is loaded with this module (esbuild drops this line from them).
if (!LAZY_SOURCES) await Promise.all(SOURCE_NAMES.map(loadSource));

export function isSourceName(name: string): name is SourceName {
  return Object.hasOwn(DEFINITIONS, name);
}
