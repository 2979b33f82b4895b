import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, hexDigestMatches, hmacSha256, verifyWithFallback } from './crypto.js';
import { nonEmpty, objectOf, str, payloadProblems, unixSecondsMs } from './fields.js';
import { type JsonObject, type Signal, type SourceEventOf, type SourceNote, type WebhookSource, SIGNATURE_MISMATCH } from './types.js';

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** The integration's Client Secret. @default "SENTRY_CLIENT_SECRET" */
    secret: z._default(secretKeySchema(), 'SENTRY_CLIENT_SECRET'),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// Built on first use: only the sources a container receives webhooks from build theirs.
const bodySchema = z.lazily(() =>
  z.looseObject({
    action: z.string(),
    data: z.looseObject({}),
  }),
);

// What each alert-like resource must carry; other resources (installation, comment, error...)
// are only checked against bodySchema().
const resourceSchemas = z.lazily(() => {
  const Id = z.union([z.string(), z.number()]);
  return {
    issue: z.looseObject({ data: z.looseObject({ issue: z.looseObject({ id: Id }) }) }),
    event_alert: z.looseObject({ data: z.looseObject({ event: z.looseObject({ issue_id: Id }) }) }),
    metric_alert: z.looseObject({ data: z.looseObject({ metric_alert: z.looseObject({ id: Id }) }) }),
    comment: z.looseObject({ data: z.looseObject({ issue_id: Id }) }),
  };
});

function identityOf(resource: string, body: unknown, requestId: string | undefined): string {
  if (resource === 'issue') return `issue/${z.parse(resourceSchemas().issue, body).data.issue.id}`;
  // An issue alert is about an issue: same identity as the issue's own webhooks.
  if (resource === 'event_alert') return `issue/${z.parse(resourceSchemas().event_alert, body).data.event.issue_id}`;
  if (resource === 'metric_alert') return `metric_alert/${z.parse(resourceSchemas().metric_alert, body).data.metric_alert.id}`;
  // A comment on an issue is about that issue: its note goes to the issue's case (#17).
  if (resource === 'comment') return `issue/${z.parse(resourceSchemas().comment, body).data.issue_id}`;
  return `${resource}/${requestId ?? 'unknown'}`;
}

function signalOf(resource: string, action: string): Signal {
  if (action === 'resolved') return 'resolved';
  if (resource === 'issue' && action === 'created') return 'firing';
  if (resource === 'event_alert' && action === 'triggered') return 'firing';
  if (resource === 'metric_alert' && (action === 'critical' || action === 'warning')) return 'firing';
  return 'informational';
}

/** A new comment on an issue (resource `comment`, action `created`): a note by the actor; Sentry sends no link to it. */
function noteOf(resource: string, action: string, body: JsonObject): SourceNote | undefined {
  if (resource !== 'comment' || action !== 'created') return undefined;
  const data = objectOf(body, 'data');
  const id = str(data?.['comment_id']);
  const text = nonEmpty(data?.['comment']);
  if (id === undefined || text === undefined) return undefined;
  return { id, text, author: nonEmpty(objectOf(body, 'actor')?.['name']), link: undefined };
}

export const sentry = {
  name: 'sentry',
  bodySigned: true,
  settingsSchema,

  // Sentry-Hook-Signature: bare lower-case hex HMAC-SHA256 of the raw body. Sentry-Hook-Timestamp
  // is not signed, so there is no replay window to check.
  verify(rawBody, headers, { secrets }) {
    const candidate = header(headers, 'sentry-hook-signature');
    if (candidate === undefined) return false;
    return verifyWithFallback(secrets, (secret) => hexDigestMatches(candidate, hmacSha256(secret, rawBody)));
  },

  sign(body, { secret, headers }) {
    headers.set('Sentry-Hook-Signature', hmacSha256(secret, body).toString('hex'));
  },

  credential: () => ({ headers: ['Sentry-Hook-Signature'], mismatch: SIGNATURE_MISMATCH }),

  parse(body, headers) {
    const resource = header(headers, 'sentry-hook-resource');
    if (resource === undefined) throw new PayloadError('missing Sentry-Hook-Resource header');
    const parsed = z.safeParse(bodySchema(), body);
    if (!parsed.success) throw new PayloadError(`not a Sentry integration webhook body: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    const { action } = parsed.data;
    const requestId = header(headers, 'request-id');
    let identity: string;
    try {
      identity = identityOf(resource, body, requestId);
    } catch (error) {
      throw new PayloadError(`Sentry ${resource} webhook without its id${z.isZodError(error) ? `: ${payloadProblems(error)}` : ''}`, { cause: error });
    }
    const data = objectOf(body, 'data');
    // Issue payloads carry no web_url (permalink is usually null); alerts carry data.event.web_url
    // (event_alert) or data.web_url (metric_alert).
    const link =
      nonEmpty(data?.['web_url']) ??
      nonEmpty(objectOf(data, 'event')?.['web_url']) ??
      nonEmpty(objectOf(data, 'issue')?.['web_url']) ??
      nonEmpty(str(objectOf(data, 'issue')?.['permalink']));
    const note = noteOf(resource, action, body);
    return [
      {
        source: 'sentry',
        type: `${resource}.${action}`,
        deliveryId: requestId,
        identity,
        signal: signalOf(resource, action),
        ping: false,
        link,
        // Not signed: a forged future time is capped by eventTime (lambda/lifecycle).
        occurredAt: unixSecondsMs(header(headers, 'sentry-hook-timestamp')),
        payload: body,
        ...(note !== undefined ? { note } : {}),
      } satisfies SourceEventOf<'sentry'>,
    ];
  },
} satisfies WebhookSource<Settings, 'sentry'>;
