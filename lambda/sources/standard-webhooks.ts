import { randomBytes } from 'node:crypto';
import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, hmacSha256, safeEqualString, verifyWithFallback } from './crypto.js';
import { rfc3339Ms, str, payloadProblems, unixSecondsMs } from './fields.js';
import { type Signal, type SourceEventOf, type WebhookSource, SIGNATURE_MISMATCH } from './types.js';

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** Symmetric secret, `whsec_<base64>` (the prefix is optional). @default "STANDARD_WEBHOOKS_SECRET" */
    secret: z._default(secretKeySchema(), 'STANDARD_WEBHOOKS_SECRET'),
    /**
     * Allowed distance between `webhook-timestamp` and now, in seconds, both directions.
     * @default 300
     */
    tolerance_seconds: z._default(z.int().check(z.positive()), 300),
    /** Event `type`s that resolve the case (producer-defined). @default [] */
    resolved_types: z._default(z.array(z.string().check(z.minLength(1))), []),
    /** Event `type`s that open the case; every other type is informational. @default [] */
    firing_types: z._default(z.array(z.string().check(z.minLength(1))), []),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// Built on first use: only the sources a container receives webhooks from build theirs.
const bodySchema = z.lazily(() =>
  z.looseObject({
    type: z.string().check(z.minLength(1)),
    data: z.nullish(z.looseObject({ id: z.optional(z.union([z.string(), z.number()])) })),
  }),
);

/** HMAC key: base64-decoded secret, `whsec_` prefix removed. Undefined when not base64. */
export function standardWebhooksKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length === 0 ? undefined : key;
}

/** `v1,<base64>` signature of `<id>.<timestamp>.<body>`. */
export function standardWebhooksSignature(key: Buffer, id: string, timestamp: string, body: string | Buffer): string {
  return `v1,${hmacSha256(key, `${id}.${timestamp}.`, body).toString('base64')}`;
}

export const standardWebhooks = {
  name: 'standard-webhooks',
  bodySigned: true,
  settingsSchema,
  exampleSecret: (seed: string) => `whsec_${Buffer.from(seed, 'utf8').toString('base64')}`,

  // webhook-signature: space-separated `v1,<base64>` entries; `v1a` (ed25519) and unknown versions
  // are ignored. The timestamp is signed and must be within tolerance_seconds, past or future.
  verify(rawBody, headers, { secrets, now, settings }) {
    const id = header(headers, 'webhook-id');
    const timestamp = header(headers, 'webhook-timestamp');
    const signature = header(headers, 'webhook-signature');
    if (id === undefined || timestamp === undefined || signature === undefined) return false;
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > settings.tolerance_seconds) return false;
    const candidates = signature.split(' ').filter((entry) => entry.startsWith('v1,') && entry.length > 'v1,'.length);
    return verifyWithFallback(secrets, (secret) => {
      const key = standardWebhooksKey(secret);
      if (key === undefined) return false;
      const expected = standardWebhooksSignature(key, id, timestamp, rawBody);
      let ok = false;
      for (const candidate of candidates) ok = safeEqualString(candidate, expected) || ok;
      return ok;
    });
  },

  sign(body, { secret, now, headers }) {
    const key = standardWebhooksKey(secret);
    if (key === undefined) throw new Error('a Standard Webhooks secret must be base64 (optionally prefixed with whsec_)');
    const id = headers.get('webhook-id') ?? `msg_${randomBytes(12).toString('hex')}`;
    headers.set('webhook-id', id);
    headers.set('webhook-timestamp', String(now));
    headers.set('webhook-signature', standardWebhooksSignature(key, id, String(now), body));
  },

  credential: (settings) => ({ headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'], mismatch: `${SIGNATURE_MISMATCH}, or webhook-timestamp is not within ${settings.tolerance_seconds} s of now` }),

  parse(body, headers, { settings }) {
    const parsed = z.safeParse(bodySchema(), body);
    if (!parsed.success) throw new PayloadError(`not a Standard Webhooks body (needs a string "type"): ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    const { type, data } = parsed.data;
    const webhookId = header(headers, 'webhook-id');
    const dataId = str(data?.id);
    // The object the event is about: `contact.created` and `contact.deleted` for the same data.id
    // must share one identity, or a resolve type could never close what a firing type opened.
    // So the type's last dot segment (the verb) is dropped: `contact.created` -> `contact/<id>`.
    const dot = type.lastIndexOf('.');
    const resource = dot > 0 ? type.slice(0, dot) : type;
    const identity = dataId !== undefined ? `${resource}/${dataId}` : webhookId;
    if (identity === undefined) throw new PayloadError('Standard Webhooks body without data.id and no webhook-id header');
    const signal: Signal = settings.resolved_types.includes(type)
      ? 'resolved'
      : settings.firing_types.includes(type)
        ? 'firing'
        : 'informational';
    return [
      {
        source: 'standard-webhooks',
        type,
        deliveryId: webhookId,
        identity,
        signal,
        ping: false,
        link: undefined,
        // The body's `timestamp`, when the event occurred (the spec's payload structure; signed with the
        // body). Else the signed `webhook-timestamp` header: the time of this attempt, renewed on each retry.
        occurredAt: rfc3339Ms(body['timestamp']) ?? unixSecondsMs(header(headers, 'webhook-timestamp')),
        payload: body,
      } satisfies SourceEventOf<'standard-webhooks'>,
    ];
  },
} satisfies WebhookSource<Settings, 'standard-webhooks'>;
