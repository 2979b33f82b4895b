import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, hexDigestMatches, hmacSha256, safeEqualString, verifyWithFallback } from './crypto.js';
import { credentialHeader, credentialMatches, getPath, nonEmpty, str } from './fields.js';
import { type Signal, type SourceEventOf, type WebhookSource, schemeMismatch, SIGNATURE_MISMATCH } from './types.js';

const headerNameSchema = () => z.string().check(z.regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name'));
/** A dot path into the body: `id`, `alert.id`, `alerts.0.fingerprint` (numbers index arrays). */
const pathSchema = () => z.string().check(z.regex(/^[^.]+(\.[^.]+)*$/, 'must be a dot path such as "alert.id"'));

/**
 * Settings of the generic JSON source: any sender that posts a JSON object.
 *
 * Authentication (`scheme`):
 * - `hmac-sha256`: `<header>: <prefix><hex|base64 HMAC-SHA256(secret UTF-8, raw body)>`
 *   (e.g. `header: X-Hub-Signature-256`, `prefix: "sha256="`).
 * - `bearer`: `<header>: Bearer <token>` (scheme word case-insensitive), token === secret.
 * - `basic`: `<header>: Basic base64(user:pass)`, secret is `user:pass`.
 *
 * Fields are read with dot paths (no expressions). Signal: without `signal_path`, every delivery is
 * `firing`; with it, the value (string or number, compared case-insensitively) is `resolved` when in
 * `resolved_values`, `firing` when in `firing_values`, `informational` otherwise.
 */
const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** @default "GENERIC_WEBHOOK_SECRET" */
    secret: z._default(secretKeySchema(), 'GENERIC_WEBHOOK_SECRET'),
    /** @default "hmac-sha256" */
    scheme: z._default(z.enum(['hmac-sha256', 'bearer', 'basic']), 'hmac-sha256'),
    /** Header with the signature or credential. @default "X-Signature" for hmac-sha256, "Authorization" otherwise */
    header: z.optional(headerNameSchema()),
    /** hmac-sha256 only: text before the digest, e.g. "sha256=". @default "" */
    prefix: z._default(z.string(), ''),
    /** hmac-sha256 only: digest encoding (hex is compared case-insensitively). @default "hex" */
    encoding: z._default(z.enum(['hex', 'base64']), 'hex'),
    /** Dot path of the event type (string or number, required in the body). @default "type" */
    event_type: z._default(pathSchema(), 'type'),
    /** Dot path of the stable identity (string or number, required in the body). @default "id" */
    identity: z._default(pathSchema(), 'id'),
    /** Header with the sender's delivery id, if it sends one. No default (no delivery id). */
    delivery_header: z.optional(headerNameSchema()),
    /** Dot path of the status field that decides the signal. No default (every event is firing). */
    signal_path: z.optional(pathSchema()),
    /** Values of `signal_path` that resolve. @default ["resolved", "ok", "closed", "recovered"] */
    resolved_values: z._default(z.array(z.string()), ['resolved', 'ok', 'closed', 'recovered']),
    /** Values of `signal_path` that fire. @default ["firing", "alerting", "triggered", "open", "critical", "error"] */
    firing_values: z._default(z.array(z.string()), ['firing', 'alerting', 'triggered', 'open', 'critical', 'error']),
    /** Dot path of a link back to the sending tool. No default (no link). */
    link_path: z.optional(pathSchema()),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;
export type GenericSettings = Settings;

/** The header the generic source reads for its scheme (the `header` setting or the scheme's default). */
export function genericHeaderName(settings: Pick<Settings, 'scheme' | 'header'>): string {
  return settings.header ?? (settings.scheme === 'hmac-sha256' ? 'X-Signature' : 'Authorization');
}

const pickedSchema = z.lazily(() => {
  const scalar = z.union([z.string().check(z.minLength(1)), z.number()]);
  return z.object({ event_type: scalar, identity: scalar });
});

function signalOf(value: string | undefined, settings: Settings): Signal {
  if (settings.signal_path === undefined) return 'firing';
  if (value === undefined) return 'informational';
  const v = value.toLowerCase();
  if (settings.resolved_values.some((r) => r.toLowerCase() === v)) return 'resolved';
  if (settings.firing_values.some((f) => f.toLowerCase() === v)) return 'firing';
  return 'informational';
}

export const generic = {
  name: 'generic',
  bodySigned: true,
  settingsSchema,

  verify(rawBody, headers, { secrets, settings }) {
    const value = header(headers, genericHeaderName(settings));
    if (value === undefined) return false;
    if (settings.scheme !== 'hmac-sha256') return credentialMatches(value, settings.scheme, secrets);
    if (!value.startsWith(settings.prefix)) return false;
    const candidate = value.slice(settings.prefix.length);
    return verifyWithFallback(secrets, (secret) => {
      const expected = hmacSha256(secret, rawBody);
      return settings.encoding === 'hex' ? hexDigestMatches(candidate.toLowerCase(), expected) : safeEqualString(candidate, expected.toString('base64'));
    });
  },

  sign(body, { secret, settings, headers }) {
    const name = genericHeaderName(settings);
    if (settings.scheme === 'hmac-sha256') headers.set(name, `${settings.prefix}${hmacSha256(secret, body).toString(settings.encoding)}`);
    else headers.set(name, credentialHeader(settings.scheme, secret));
  },

  credential: (settings) => ({ headers: [genericHeaderName(settings)], mismatch: settings.scheme === 'hmac-sha256' ? SIGNATURE_MISMATCH : schemeMismatch(settings.scheme), static: settings.scheme !== 'hmac-sha256' }),

  parse(body, headers, { settings }) {
    // The paths are settings, so the fields are picked first and then validated together.
    const picked = z.safeParse(pickedSchema(), { event_type: getPath(body, settings.event_type), identity: getPath(body, settings.identity) });
    if (!picked.success) {
      const paths = picked.error.issues.map((i) => `"${settings[i.path[0] === 'identity' ? 'identity' : 'event_type']}" (setting ${String(i.path[0])})`);
      throw new PayloadError(`generic webhook body has no string or number at ${paths.join(' and ')}`, { cause: picked.error });
    }
    const type = String(picked.data.event_type);
    const identity = String(picked.data.identity);
    const signalValue = settings.signal_path === undefined ? undefined : str(getPath(body, settings.signal_path));
    return [
      {
        source: 'generic',
        type,
        deliveryId: settings.delivery_header === undefined ? undefined : header(headers, settings.delivery_header),
        identity,
        signal: signalOf(signalValue, settings),
        ping: false,
        link: settings.link_path === undefined ? undefined : nonEmpty(getPath(body, settings.link_path)),
        payload: body,
      } satisfies SourceEventOf<'generic'>,
    ];
  },
} satisfies WebhookSource<Settings, 'generic'>;
