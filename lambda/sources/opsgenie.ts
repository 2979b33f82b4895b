import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, safeEqualString } from './crypto.js';
import { payloadProblems } from './fields.js';
import type { Signal, SourceEvent, WebhookSource } from './types.js';

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
// rounded: they are deliberately not read (identity is `alertId`).
// Built on first use: only the sources a container receives webhooks from build theirs.
const bodySchema = z.lazily(() =>
  z.looseObject({
    action: z.string(),
    alert: z.looseObject({ alertId: z.string().check(z.minLength(1)) }),
  }),
);

function signalOf(action: string): Signal {
  if (action === 'Close' || action === 'Delete') return 'resolved';
  return action === 'Create' ? 'firing' : 'informational';
}

export const opsgenie = {
  name: 'opsgenie',
  settingsSchema,

  verify(_rawBody, headers, { secrets, settings }) {
    const value = header(headers, settings.header);
    if (value === undefined) return false;
    let ok = false;
    for (const secret of secrets) ok = safeEqualString(value, `${settings.prefix}${secret}`) || ok;
    return ok;
  },

  credential: (settings) => ({ headers: [settings.header], mismatch: 'credential does not match' }),

  parse(body) {
    const parsed = z.safeParse(bodySchema(), body);
    if (!parsed.success) throw new PayloadError(`not an Opsgenie webhook body: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    const { action, alert } = parsed.data;
    return [
      {
        source: 'opsgenie',
        type: action,
        deliveryId: undefined,
        identity: alert.alertId,
        signal: signalOf(action),
        ping: false,
        link: undefined,
        payload: body,
      } satisfies SourceEvent,
    ];
  },
} satisfies WebhookSource<Settings>;
