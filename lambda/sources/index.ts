import * as z from '../shared/zod.js';
import { alertmanager } from './alertmanager.js';
import { generic } from './generic.js';
import { github } from './github.js';
import { grafana } from './grafana.js';
import { opsgenie } from './opsgenie.js';
import { pagerduty } from './pagerduty.js';
import { sentry } from './sentry.js';
import { standardWebhooks } from './standard-webhooks.js';
import type { Credential, Headers, JsonObject, SourceEvent, SourceName, SourceSettings, WebhookSource } from './types.js';

/** A source with its settings resolved from the rules file: what the ingest handler calls. */
export interface BoundSource {
  readonly name: SourceName;
  readonly settings: SourceSettings;
  verify(rawBody: Buffer, headers: Headers, secrets: readonly string[], now: number): boolean;
  /** The headers `verify` reads and what a refused credential is called (the 401's message). */
  readonly credential: Credential;
  parse(body: JsonObject, headers: Headers): SourceEvent[];
}

/** Parses `settings` with the source's strict schema (throws the zod error) and binds them. */
function bind<S extends SourceSettings>(source: WebhookSource<S>) {
  return (rawSettings: unknown): BoundSource => {
    const settings = z.parse(source.settingsSchema(), rawSettings ?? {});
    return {
      name: source.name,
      settings,
      credential: source.credential(settings),
      verify: (rawBody, headers, secrets, now) => source.verify(rawBody, headers, { secrets, now, settings }),
      parse: (body, headers) => source.parse(body, headers, { settings }),
    };
  };
}

/** The registry: one line per source. */
export const SOURCES: { readonly [K in SourceName]: { bind: (rawSettings: unknown) => BoundSource; settingsSchema: () => z.core.$ZodType } } = {
  github: { bind: bind(github), settingsSchema: github.settingsSchema },
  pagerduty: { bind: bind(pagerduty), settingsSchema: pagerduty.settingsSchema },
  alertmanager: { bind: bind(alertmanager), settingsSchema: alertmanager.settingsSchema },
  grafana: { bind: bind(grafana), settingsSchema: grafana.settingsSchema },
  sentry: { bind: bind(sentry), settingsSchema: sentry.settingsSchema },
  opsgenie: { bind: bind(opsgenie), settingsSchema: opsgenie.settingsSchema },
  'standard-webhooks': { bind: bind(standardWebhooks), settingsSchema: standardWebhooks.settingsSchema },
  generic: { bind: bind(generic), settingsSchema: generic.settingsSchema },
};

/**
 * Each source's secret key when its settings name none (the defaults of the settings schemas; a test
 * checks that they agree). Read without binding the settings, so no settings schema is built for it.
 */
export const DEFAULT_SECRET_KEYS: { readonly [K in SourceName]: string } = {
  github: 'GITHUB_WEBHOOK_SECRET',
  pagerduty: 'PAGERDUTY_WEBHOOK_SECRET',
  alertmanager: 'ALERTMANAGER_BEARER_TOKEN',
  grafana: 'GRAFANA_WEBHOOK_SECRET',
  sentry: 'SENTRY_CLIENT_SECRET',
  opsgenie: 'OPSGENIE_BEARER_TOKEN',
  'standard-webhooks': 'STANDARD_WEBHOOKS_SECRET',
  generic: 'GENERIC_WEBHOOK_SECRET',
};

export function isSourceName(name: string): name is SourceName {
  return Object.hasOwn(SOURCES, name);
}
