import * as z from '../shared/zod.js';
import { PayloadError } from '../shared/errors.js';
import { secretKeySchema, header, hexDigestMatches, hmacSha256, verifyWithFallback } from './crypto.js';
import { nonEmpty, payloadProblems, rfc3339Ms } from './fields.js';
import { type Signal, type SourceEventOf, type SourceNote, type WebhookSource, SIGNATURE_MISMATCH } from './types.js';

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /** @default "PAGERDUTY_WEBHOOK_SECRET" */
    secret: z._default(secretKeySchema(), 'PAGERDUTY_WEBHOOK_SECRET'),
  }),
);
type Settings = z.infer<ReturnType<typeof settingsSchema>>;

// V3 webhook body: a single `{event: {...}}`. `data` is the incident for incident.* events whose
// `data.type` is "incident", and a note/status update/responder... carrying `data.incident` otherwise.
// Built on first use: only the sources a container receives webhooks from build theirs.
const bodySchema = z.lazily(() =>
  z.looseObject({
    event: z.looseObject({
      id: z.string(),
      event_type: z.string(),
      resource_type: z.string(),
      occurred_at: z.string(),
      agent: z.nullish(z.looseObject({ summary: z.optional(z.string()) })),
      data: z.looseObject({
        id: z.optional(z.string()),
        type: z.optional(z.string()),
        html_url: z.optional(z.string()),
        /** An `incident_note`'s text (incident.annotated). */
        content: z.optional(z.string()),
        incident: z.nullish(z.looseObject({ id: z.string(), html_url: z.optional(z.string()) })),
      }),
    }),
  }),
);

const FIRING = new Set(['incident.triggered', 'incident.reopened']);

function signalOf(eventType: string): Signal {
  if (eventType === 'incident.resolved') return 'resolved';
  return FIRING.has(eventType) ? 'firing' : 'informational';
}

export const pagerduty = {
  name: 'pagerduty',
  bodySigned: true,
  settingsSchema,

  // X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]: several entries during secret rotation on
  // PagerDuty's side; valid if any v1 entry matches any of our secrets. Other versions are ignored.
  verify(rawBody, headers, { secrets }) {
    const value = header(headers, 'x-pagerduty-signature');
    if (value === undefined) return false;
    const candidates = value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.startsWith('v1='))
      .map((entry) => entry.slice('v1='.length));
    if (candidates.length === 0) return false;
    return verifyWithFallback(secrets, (secret) => {
      const expected = hmacSha256(secret, rawBody);
      let ok = false;
      for (const candidate of candidates) ok = hexDigestMatches(candidate, expected) || ok;
      return ok;
    });
  },

  sign(body, { secret, headers }) {
    headers.set('X-PagerDuty-Signature', `v1=${hmacSha256(secret, body).toString('hex')}`);
  },

  credential: () => ({ headers: ['X-PagerDuty-Signature'], mismatch: SIGNATURE_MISMATCH }),

  parse(body, headers) {
    const parsed = z.safeParse(bodySchema(), body);
    if (!parsed.success) throw new PayloadError(`not a PagerDuty V3 webhook body: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
    const { event } = parsed.data;
    const { data } = event;
    // An incident event is about its incident: `data` is the incident, or carries it as `data.incident`.
    if (event.resource_type === 'incident' || event.event_type.startsWith('incident.')) {
      const about = data.type === 'incident' || data.type === undefined ? (nonEmpty(data.id) === undefined ? 'event.data.id' : undefined) : data.incident?.id === undefined ? 'event.data.incident.id' : undefined;
      if (about !== undefined) throw new PayloadError(`PagerDuty ${event.event_type} webhook has no ${about}`);
    }
    const ping = event.event_type === 'pagey.ping';
    // Incident identity per ../shared/fixtures/README.md; other resources (service.*, pagey.ping)
    // fall back to `<resource_type>/<data.id>` and, without data.id, to the event id.
    const identity =
      data.type === 'incident' && data.id !== undefined
        ? data.id
        : (data.incident?.id ?? `${event.resource_type}/${data.id ?? event.id}`);
    // A responder's note (incident.annotated): its own id, its text, who wrote it and the incident's page.
    const noteId = event.event_type === 'incident.annotated' && data.type === 'incident_note' ? nonEmpty(data.id) : undefined;
    const note: SourceNote | undefined =
      noteId !== undefined && nonEmpty(data.content) !== undefined
        ? { id: noteId, text: data.content ?? '', author: nonEmpty(event.agent?.summary), link: nonEmpty(data.incident?.html_url) }
        : undefined;
    return [
      {
        source: 'pagerduty',
        type: event.event_type,
        deliveryId: header(headers, 'x-webhook-id'),
        identity,
        signal: ping ? 'informational' : signalOf(event.event_type),
        ping,
        // The incident's page when the event is about an incident, else the resource's own page.
        link: nonEmpty(data.incident?.html_url) ?? nonEmpty(data.html_url),
        occurredAt: rfc3339Ms(event.occurred_at),
        payload: body,
        ...(note !== undefined ? { note } : {}),
      } satisfies SourceEventOf<'pagerduty'>,
    ];
  },
} satisfies WebhookSource<Settings, 'pagerduty'>;
