import type * as z from '../shared/zod.js';

export const SOURCE_NAMES = [
  'github',
  'pagerduty',
  'alertmanager',
  'grafana',
  'sentry',
  'opsgenie',
  'standard-webhooks',
  'generic',
] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Request headers with lower-cased names (HTTP API v2 events already lower-case them). */
export type Headers = Readonly<Record<string, string | undefined>>;

/**
 * What the alert means for its case: `firing` opens (or keeps open), `resolved` closes,
 * `informational` is neither (acknowledged, labeled, a note...).
 */
export const SIGNALS = ['firing', 'resolved', 'informational'] as const;
export type Signal = (typeof SIGNALS)[number];

/** One normalized event. A source may turn one delivery into several (alert groups split per alert). */
export interface SourceEvent {
  readonly source: SourceName;
  /** Source-specific event type, e.g. `issues.opened`, `incident.triggered`, `alert.firing`. */
  readonly type: string;
  /** The sender's delivery id (same on every retry of one delivery), if it sends one. */
  readonly deliveryId: string | undefined;
  /** Stable identity of the alert/object for dedup, per ../shared/fixtures/README.md. */
  readonly identity: string;
  readonly signal: Signal;
  /** A connectivity test (GitHub `ping`, PagerDuty `pagey.ping`): answered 2xx, never a case. */
  readonly ping: boolean;
  /** A link back to the object in the sending tool, kept in the case description. */
  readonly link: string | undefined;
  /** The parsed body. */
  readonly payload: JsonObject;
  /** The single alert this event stands for when a group is split per alert. */
  readonly alert?: JsonObject;
}

export interface VerifyContext<S> {
  /** Current secret first, then the previous one during rotation. Never empty. */
  readonly secrets: readonly string[];
  /** Current time, Unix seconds (injected so replay windows are testable). */
  readonly now: number;
  readonly settings: S;
}

export interface ParseContext<S> {
  readonly settings: S;
}

/**
 * A webhook source: one file per source, registered in index.ts.
 * `verify` answers false for a wrong or missing signature; only misuse throws.
 * `parse` throws PayloadError when the body is not what the source sends.
 */
export interface WebhookSource<S extends SourceSettings> {
  readonly name: SourceName;
  /**
   * Per-source settings in the rules file (`sources.<name>.settings`), strict, with defaults. Built on
   * first call (z.lazily): a Lambda container builds only the schemas of the sources it serves.
   */
  readonly settingsSchema: () => z.core.$ZodType<S>;
  verify(rawBody: Buffer, headers: Headers, context: VerifyContext<S>): boolean;
  parse(body: JsonObject, headers: Headers, context: ParseContext<S>): SourceEvent[];
}

/** Every source's settings name the key of its secret in the bridge's secret. */
export interface SourceSettings {
  /** Key of the webhook secret/token in the bridge secret; `<key>_PREVIOUS` is also accepted. */
  readonly secret: string;
}
