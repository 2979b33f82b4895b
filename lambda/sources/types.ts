import type * as z from '../shared/zod.js';

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

/**
 * One normalized event of source `N`. A source may turn one delivery into several (alert groups
 * split per alert). The bridge's events are `SourceEvent` of ./index.ts (`N` = every SourceName).
 */
export interface SourceEventOf<N extends string> {
  readonly source: N;
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
  /**
   * The sender's own time of the event (ms since the epoch) where the payload or a header gives one;
   * undefined means "use the receive time". Orders events of one alert; not trusted beyond a small
   * lead over our clock (lambda/lifecycle eventTime).
   */
  readonly occurredAt?: number;
  /** The single alert this event stands for when a group is split per alert. */
  readonly alert?: JsonObject;
  /** A note a human wrote on the alert (PagerDuty `incident.annotated`, Opsgenie `AddNote`...): the lifecycle's `on_note`. */
  readonly note?: SourceNote;
}

/** A human's note on an alert, mirrored as its own comment on the alert's case. */
export interface SourceNote {
  /** Stable across redeliveries of the note (the sender's note id, else a hash of what identifies it): its comment is posted once. */
  readonly id: string;
  readonly text: string;
  /** Who wrote it, as the sender names them. */
  readonly author: string | undefined;
  /** Where the note can be read at the sender. */
  readonly link: string | undefined;
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

/** What a source's `sign` builds the headers of a request with (tests, `npm run send`, the bench). */
export interface SignContext<S> {
  /** The secret value (token, HMAC secret, `user:pass` for basic). */
  readonly secret: string;
  readonly settings: S;
  /** Signing time, Unix seconds (timestamped schemes). */
  readonly now: number;
  /** The request's headers being built: `set` replaces a header of the same name in any case. */
  readonly headers: { get(name: string): string | undefined; set(name: string, value: string): void };
}

/**
 * A webhook source: one file per source, registered by one line in index.ts (its key there is `N`).
 * `verify` answers false for a wrong or missing signature; only misuse throws (use verifyWithFallback
 * from ./crypto.ts over the current and previous secrets). `parse` throws PayloadError when the body
 * is not what the source sends. `sign` adds the signature or credential headers a real sender sends.
 */
export interface WebhookSource<S extends SourceSettings, N extends string> {
  readonly name: N;
  /** The signature covers the body (a changed body fails verify); false for a static credential. */
  readonly bodySigned: boolean;
  /**
   * Per-source settings in the rules file (`sources.<name>.settings`), strict, with defaults. Built on
   * first call (z.lazily): a Lambda container builds only the schemas of the sources it serves.
   */
  readonly settingsSchema: () => z.core.$ZodType<S>;
  verify(rawBody: Buffer, headers: Headers, context: VerifyContext<S>): boolean;
  /** What `verify` reads, for the 401 answer when it says false. */
  credential(settings: S): Credential;
  parse(body: JsonObject, headers: Headers, context: ParseContext<S>): SourceEventOf<N>[];
  sign(body: string | Buffer, context: SignContext<S>): void;
  /**
   * A source authenticated by a signature inside its body (Amazon SNS) instead of a shared secret:
   * called on the parsed body in place of `verify` (which then sees no secret), before `parse`.
   * Such a source's settings name no secret.
   */
  readonly authenticate?: (body: JsonObject, headers: Headers, context: AuthenticateContext<S>) => Promise<Authentication>;
  /** Accepts `text/plain` bodies too (SNS posts JSON as text/plain). @default false */
  readonly textBody?: boolean;
  /** A valid secret value made from `seed` (test and development secrets). @default the seed itself */
  readonly exampleSecret?: (seed: string) => string;
}

/**
 * The headers a sender must send for `verify` (as the sender's documentation spells them: the 401
 * names each one that is absent) and what a present but refused credential is called (`mismatch`).
 */
export interface Credential {
  readonly headers: readonly string[];
  readonly mismatch: string;
  /** The headers carry the secret itself (bearer, basic, a token), whatever their names: never stored. @default false */
  readonly static?: boolean;
}

/** The mismatch of a bearer or basic `Authorization` credential (worded so that the logs' redaction of `Bearer x` leaves it alone). */
export function schemeMismatch(scheme: 'bearer' | 'basic'): string {
  return scheme === 'bearer' ? 'credential does not match' : 'username or password does not match';
}

export const SIGNATURE_MISMATCH = 'signature does not match';

/**
 * What tells an EventBridge `CloudWatch Alarm State Change` event (source `cloudwatch`, ./cloudwatch.ts)
 * from the ingest function's other invocations. Here, not in the source's file: the function tests
 * every invocation with it, and loads cloudwatch.ts only for such an event or webhook.
 */
export const ALARM_DETAIL_TYPE = 'CloudWatch Alarm State Change';

/** True for a body that is an EventBridge alarm state change (the ingest function's other entry). */
export function isAlarmStateChangeEvent(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const event = value as Readonly<Record<string, unknown>>;
  return event['detail-type'] === ALARM_DETAIL_TYPE && event['source'] === 'aws.cloudwatch';
}

/** Every source's settings name the key of its secret in the bridge's secret (but those with `authenticate`). */
export interface SourceSettings {
  /** Key of the webhook secret/token in the bridge secret; `<key>_PREVIOUS` is also accepted. */
  readonly secret?: string;
}

/** The outbound HTTP an `authenticate` may need (a certificate, a confirmation URL); injected in tests. */
export type OutboundFetch = (url: URL, init: { readonly method: 'GET'; readonly signal: AbortSignal }) => Promise<{ readonly ok: boolean; readonly status: number; text(): Promise<string> }>;

/** The OutboundFetch of the functions: Node's fetch, refusing redirects. */
export const defaultFetch: OutboundFetch = (url, init) => fetch(url, { ...init, redirect: 'error' });

export interface AuthenticateContext<S> {
  readonly settings: S;
  /** Current time, ms since epoch. */
  readonly nowMs: number;
  readonly fetch: OutboundFetch;
}

/**
 * What `authenticate` found: refused (answered 401 with `reason`), or authentic; an authentic
 * message that is a protocol handshake (a subscription confirmed, an unsubscribe notice) is
 * `handled` there and answered 200 with that status, never a case.
 */
export type Authentication =
  | { readonly ok: false; readonly reason: string }
  | { readonly ok: true; readonly handled?: { readonly status: string; readonly message: string; readonly detail: Readonly<Record<string, string>> } };
