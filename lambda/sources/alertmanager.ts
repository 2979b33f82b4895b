import { createHash } from 'node:crypto';
import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header } from './crypto.js';
import { credentialHeader, credentialMatches, isObject, latestMs, nonEmpty, payloadProblems, rfc3339Ms } from './fields.js';
import { type JsonObject, type Signal, type SourceEventOf, type WebhookSource, schemeMismatch } from './types.js';

/** How an alert group becomes events: one per group (`group`) or one per alert in it (`alert`). */
export const groupBySchema = z.lazily(() => z.enum(['group', 'alert']));
export type GroupBy = z.infer<ReturnType<typeof groupBySchema>>;

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /**
     * Key of the credential in the bridge secret: the bearer token, or `username:password` for basic.
     * @default "ALERTMANAGER_BEARER_TOKEN"
     */
    secret: z._default(secretKeySchema(), 'ALERTMANAGER_BEARER_TOKEN'),
    /**
     * What the receiver's `http_config` sends: `authorization` (`Authorization: Bearer <token>`)
     * or `basic_auth` (`Authorization: Basic base64(username:password)`).
     * @default "bearer"
     */
    scheme: z._default(z.enum(['bearer', 'basic']), 'bearer'),
    /**
     * `group`: one event per notification, identity `<receiver>/<groupKey>`.
     * `alert`: one event per alert, identity `<receiver>/<groupKey>/<fingerprint>`.
     * @default "group"
     */
    group_by: z._default(groupBySchema(), 'group'),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// Payload schemas are built on first use (z.lazily): a container builds only those of the sources
// it receives webhooks from.
/** The fields of an Alertmanager-style group notification (Alertmanager v4, Grafana v1, Mimir). */
export const alertGroupSchema = z.lazily(() => {
  const StatusSchema = z.enum(['firing', 'resolved']);
  const AlertSchema = z.looseObject({
    status: StatusSchema,
    labels: z.record(z.string(), z.string()),
    fingerprint: z.optional(z.string()),
    generatorURL: z.optional(z.string()),
    startsAt: z.optional(z.string()),
    endsAt: z.optional(z.string()),
  });
  return z.looseObject({
    receiver: z.string(),
    status: StatusSchema,
    groupKey: z.string(),
    truncatedAlerts: z.optional(z.int().check(z.nonnegative())),
    externalURL: z.optional(z.string()),
    // A notification is about its alerts: one without any makes no case (400).
    alerts: z.array(AlertSchema).check(z.minLength(1, 'no alert in the group')),
  });
});
export type AlertGroup = z.infer<ReturnType<typeof alertGroupSchema>>;
type GroupAlert = AlertGroup['alerts'][number];

/**
 * The sender's time of an alert's news: `startsAt` while it fires, `endsAt` once resolved (none when
 * `endsAt` is Go's zero time). A repeat of a firing keeps its `startsAt`, so an old firing sent late
 * stays older than the resolve that followed it.
 */
function alertTime(alert: GroupAlert, resolved: boolean): number | undefined {
  return rfc3339Ms(resolved ? alert.endsAt : alert.startsAt);
}

const alertmanagerBodySchema = z.lazily(() => z.extend(alertGroupSchema(), { version: z.literal('4') }));

/** Stable short hash of a label set, used when an alert carries no `fingerprint`. */
export function labelsHash(labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/**
 * Turns a validated alert group into events.
 *
 * - `group`: one event, `type` `alert.<status>`, signal from the group `status`. A group status of
 *   `resolved` means every alert of the group is resolved (Alertmanager says so explicitly), so it
 *   is trusted even when `truncatedAlerts > 0`.
 * - `alert`: one event per alert present in the body, signal from that alert's own `status`.
 *   Alerts left out of the body (`truncatedAlerts > 0`) are simply not reported: resolution is
 *   never inferred from absence.
 *
 * `groupResolved` lets Grafana add its own resolved marker (`state: "ok"`).
 */
export function alertGroupEvents<N extends string>(
  source: N,
  body: JsonObject,
  group: AlertGroup,
  options: { identity: string; groupBy: GroupBy; groupResolved?: boolean },
): SourceEventOf<N>[] {
  const groupResolved = options.groupResolved ?? group.status === 'resolved';
  const groupLink = nonEmpty(group.externalURL) ?? nonEmpty(group.alerts[0]?.generatorURL);
  const signalOf = (resolved: boolean): Signal => (resolved ? 'resolved' : 'firing');
  const rawAlerts = Array.isArray(body['alerts']) ? body['alerts'] : [];
  // A group's time: the newest start among its firing alerts, or the latest end of a resolved group.
  const firing = group.alerts.filter((a) => a.status === 'firing');
  const groupTime = latestMs((groupResolved || firing.length === 0 ? group.alerts : firing).map((a) => alertTime(a, groupResolved)));
  if (options.groupBy === 'alert' && group.alerts.length > 0) {
    return group.alerts.map((alert, index) => {
      const raw = rawAlerts[index];
      return {
        source,
        type: `alert.${alert.status}`,
        deliveryId: undefined,
        identity: `${options.identity}/${nonEmpty(alert.fingerprint) ?? labelsHash(alert.labels)}`,
        signal: signalOf(alert.status === 'resolved'),
        ping: false,
        // The alert's own source link is more specific than the Alertmanager UI.
        link: nonEmpty(alert.generatorURL) ?? groupLink,
        occurredAt: alertTime(alert, alert.status === 'resolved'),
        payload: body,
        ...(isObject(raw) ? { alert: raw } : {}),
      } satisfies SourceEventOf<N>;
    });
  }
  return [
    {
      source,
      type: `alert.${groupResolved ? 'resolved' : 'firing'}`,
      deliveryId: undefined,
      identity: options.identity,
      signal: signalOf(groupResolved),
      ping: false,
      link: groupLink,
      occurredAt: groupTime,
      payload: body,
    } satisfies SourceEventOf<N>,
  ];
}

/**
 * Parses an Alertmanager webhook (`version: "4"`) body. Shared with Grafana, whose Mimir-style
 * receiver (`v0mimir1`) sends the same body without `orgId`.
 */
export function parseAlertmanagerBody<N extends string>(source: N, body: JsonObject, groupBy: GroupBy): SourceEventOf<N>[] {
  const parsed = z.safeParse(alertmanagerBodySchema(), body);
  if (!parsed.success) throw new PayloadError(`not an Alertmanager webhook body (version "4"): ${payloadProblems(parsed.error)}`, { cause: parsed.error });
  const group = parsed.data;
  return alertGroupEvents(source, body, group, { identity: `${group.receiver}/${group.groupKey}`, groupBy });
}

export const alertmanager = {
  name: 'alertmanager',
  bodySigned: false,
  settingsSchema,

  // Alertmanager signs nothing: the credential comes from the receiver's http_config.
  verify(_rawBody, headers, { secrets, settings }) {
    return credentialMatches(header(headers, 'authorization'), settings.scheme, secrets);
  },

  sign(_body, { secret, settings, headers }) {
    headers.set('Authorization', credentialHeader(settings.scheme, secret));
  },
  credential: (settings) => ({ headers: ['Authorization'], mismatch: schemeMismatch(settings.scheme), static: true }),

  parse(body, _headers, { settings }) {
    return parseAlertmanagerBody('alertmanager', body, settings.group_by);
  },
} satisfies WebhookSource<Settings, 'alertmanager'>;
