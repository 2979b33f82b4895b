import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, safeEqualString, verifyWithFallback } from './crypto.js';
import { hash } from 'node:crypto';
import { type Signal, type SourceEventOf, type SourceNote, type WebhookSource, schemeMismatch } from './types.js';
import { nonEmpty, payloadProblems } from './fields.js';

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** @default "OPSGENIE_BEARER_TOKEN" */
    secret: z._default(secretKeySchema(), 'OPSGENIE_BEARER_TOKEN'),
    /**
     * Custom header configured on the Opsgenie Webhook integration (Opsgenie signs nothing).
     * @default "Authorization"
     */
    header: z._default(z.string().check(z.regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')), 'Authorization'),
    /**
     * Text before the token in that header; the header value must equal `prefix + token` exactly.
     * @default "Bearer "
     */
    prefix: z._default(z.string(), 'Bearer '),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// `alert.updatedAt` / `insertedAt` are nanosecond integers above 2^53 that JSON.parse has already
// rounded (by less than a microsecond): never an identity (that is `alertId`), but `updatedAt` is
// exact enough for the event's time in milliseconds.
// Built on first use: only the sources a container receives webhooks from build theirs.
const bodySchema = z.lazily(() =>
  z.looseObject({
    action: z.string(),
    alert: z.looseObject({
      alertId: z.string().check(z.minLength(1)),
      updatedAt: z.optional(z.unknown()),
      /** AddNote: the note's text and who added it. */
      note: z.optional(z.string()),
      username: z.optional(z.string()),
    }),
  }),
);

/** Nanoseconds since the epoch as ms; a smaller number (not nanoseconds after 1970-01-12) is not trusted. */
function nanosecondsMs(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 1e15 ? Math.floor(v / 1e6) : undefined;
}

function signalOf(action: string): Signal {
  if (action === 'Close' || action === 'Delete') return 'resolved';
  return action === 'Create' ? 'firing' : 'informational';
}

/**
 * The note of an `AddNote` action. Opsgenie sends no note id: the note's id is a hash of the alert,
 * the alert's `updatedAt` (the note's time, the same in every redelivery of that body), the author
 * and the text, so one note is one comment however often it is sent.
 */
function noteOf(action: string, alert: { readonly alertId: string; readonly updatedAt?: unknown; readonly note?: string | undefined; readonly username?: string | undefined }): SourceNote | undefined {
  const text = nonEmpty(alert.note);
  if (action !== 'AddNote' || text === undefined) return undefined;
  const author = nonEmpty(alert.username);
  const id = `opsgenie-note-${hash('sha256', [alert.alertId, String(alert.updatedAt ?? ''), author ?? '', text].join('\n')).slice(0, 24)}`;
  return { id, text, author, link: undefined };
}

export const opsgenie = {
  name: 'opsgenie',
  bodySigned: false,
  settingsSchema,

  verify(_rawBody, headers, { secrets, settings }) {
    const value = header(headers, settings.header);
    if (value === undefined) return false;
    return verifyWithFallback(secrets, (secret) => safeEqualString(value, `${settings.prefix}${secret}`));
  },

  sign(_body, { secret, settings, headers }) {
    headers.set(settings.header, `${settings.prefix}${secret}`);
  },

  credential: (settings) => ({ headers: [settings.header], mismatch: schemeMismatch('bearer'), static: true }),

  parse(body) {
    const parsed = z.safeParse(bodySchema(), body);
    if (!parsed.success) throw new PayloadError(`not an Opsgenie webhook body: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    const { action, alert } = parsed.data;
    const note = noteOf(action, alert);
    return [
      {
        source: 'opsgenie',
        type: action,
        deliveryId: undefined,
        identity: alert.alertId,
        signal: signalOf(action),
        ping: false,
        link: undefined,
        occurredAt: nanosecondsMs(alert.updatedAt),
        payload: body,
        ...(note !== undefined ? { note } : {}),
      } satisfies SourceEventOf<'opsgenie'>,
    ];
  },
} satisfies WebhookSource<Settings, 'opsgenie'>;
