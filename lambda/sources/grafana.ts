import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { alertGroupSchema, groupBySchema, alertGroupEvents, parseAlertmanagerBody } from './alertmanager.js';
import { secretKeySchema, header, hexDigestMatches, hmacSha256 } from './crypto.js';
import { payloadProblems } from './fields.js';
import { SIGNATURE_MISMATCH, type WebhookSource } from './types.js';

const headerNameSchema = () => z.string().check(z.regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name'));

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** @default "GRAFANA_WEBHOOK_SECRET" */
    secret: z._default(secretKeySchema(), 'GRAFANA_WEBHOOK_SECRET'),
    /**
     * Header carrying the bare lower-case hex HMAC-SHA256 (the contact point's `hmacConfig.header`).
     * @default "X-Grafana-Alerting-Signature"
     */
    signature_header: z._default(headerNameSchema(), 'X-Grafana-Alerting-Signature'),
    /**
     * Header carrying the Unix-seconds timestamp (`hmacConfig.timestampHeader`). Grafana has no
     * default name. When set, the header is required, the signed message is `<timestamp>:<body>`
     * and the timestamp must be within `tolerance_seconds` of now. No default (timestamp not used).
     */
    timestamp_header: z.optional(headerNameSchema()),
    /**
     * Replay window when `timestamp_header` is set, in seconds, both directions (Grafana defines none).
     * @default 300
     */
    tolerance_seconds: z._default(z.int().check(z.positive()), 300),
    /** Same as Alertmanager: `group` or `alert`. @default "group" */
    group_by: z._default(groupBySchema(), 'group'),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// Grafana's own webhook body (`version: "1"`): an Alertmanager group plus orgId/state/title/message.
const grafanaBodySchema = z.lazily(() =>
  z.extend(alertGroupSchema(), {
    version: z.literal('1'),
    orgId: z.int(),
    state: z.optional(z.string()),
    title: z.optional(z.string()),
    message: z.optional(z.string()),
  }),
);

export const grafana = {
  name: 'grafana',
  settingsSchema,

  verify(rawBody, headers, { secrets, now, settings }) {
    const candidate = header(headers, settings.signature_header);
    if (candidate === undefined) return false;
    let prefix = '';
    if (settings.timestamp_header !== undefined) {
      const ts = header(headers, settings.timestamp_header);
      if (ts === undefined || !/^\d{1,12}$/.test(ts)) return false;
      if (Math.abs(now - Number(ts)) > settings.tolerance_seconds) return false;
      prefix = `${ts}:`;
    }
    let ok = false;
    for (const secret of secrets) ok = hexDigestMatches(candidate, hmacSha256(secret, prefix, rawBody)) || ok;
    return ok;
  },

  credential: (settings) =>
    settings.timestamp_header === undefined
      ? { headers: [settings.signature_header], mismatch: SIGNATURE_MISMATCH }
      : { headers: [settings.signature_header, settings.timestamp_header], mismatch: `${SIGNATURE_MISMATCH}, or ${settings.timestamp_header} is not within ${settings.tolerance_seconds} s of now` },

  parse(body, _headers, { settings }) {
    // Mimir-style receiver (grafana/alerting receivers/webhook/v0mimir1): an Alertmanager body.
    if (body['version'] === '4' && body['orgId'] === undefined) return parseAlertmanagerBody('grafana', body, settings.group_by);
    const parsed = z.safeParse(grafanaBodySchema(), body);
    if (!parsed.success) throw new PayloadError(`not a Grafana Alerting webhook body (version "1"): ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    const group = parsed.data;
    return alertGroupEvents('grafana', body, group, {
      identity: `${group.orgId}/${group.receiver}/${group.groupKey}`,
      groupBy: settings.group_by,
      groupResolved: group.status === 'resolved' || group.state === 'ok',
    });
  },
} satisfies WebhookSource<Settings>;
