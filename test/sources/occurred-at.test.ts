import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_TIME_MAX_LEAD_MS, eventTime } from '../../lambda/lifecycle/event-time.js';
import { rfc3339Ms, unixSecondsMs } from '../../lambda/sources/fields.js';
import { SOURCES } from '../../lambda/sources/index.js';
import type { JsonObject } from '../../lambda/sources/types.js';

const fixture = (path: string): JsonObject => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url)), 'utf8')) as JsonObject;

describe('the sender time of an event (SourceEvent.occurredAt)', () => {
  it('reads RFC 3339 times to the millisecond, with any fraction or an offset; Go zero time and junk are none', () => {
    expect(rfc3339Ms('2020-02-06T00:17:58.432911368Z')).toBe(Date.UTC(2020, 1, 6, 0, 17, 58, 432));
    expect(rfc3339Ms('2025-06-01T09:30:00+02:00')).toBe(Date.UTC(2025, 5, 1, 7, 30));
    expect(rfc3339Ms('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(rfc3339Ms('2025-06-01')).toBeUndefined();
    expect(rfc3339Ms('12')).toBeUndefined();
    expect(rfc3339Ms(1748763000000)).toBeUndefined();
  });

  it('reads Unix seconds from a number or a header string, and nothing else', () => {
    expect(unixSecondsMs('1751359317')).toBe(1_751_359_317_000);
    expect(unixSecondsMs(' 1751359317 ')).toBe(1_751_359_317_000);
    expect(unixSecondsMs('1751359317abc')).toBeUndefined();
    expect(unixSecondsMs('-5')).toBeUndefined();
    expect(unixSecondsMs(undefined)).toBeUndefined();
  });

  it('Alertmanager per alert: a firing alert at its startsAt, a resolved one at its endsAt', () => {
    const body = fixture('alertmanager/mixed.some-resolved.json');
    const alerts = body['alerts'] as JsonObject[];

    const events = SOURCES.alertmanager.bind({ group_by: 'alert' }).parse(body, {});

    expect(events.map((e) => [e.signal, e.occurredAt])).toEqual(alerts.map((a) => (a['status'] === 'resolved' ? ['resolved', Date.parse(String(a['endsAt']))] : ['firing', Date.parse(String(a['startsAt']))])));
  });

  it('Alertmanager: a resolved alert whose endsAt is the zero time has no sender time (the receive time is used)', () => {
    const body = fixture('alertmanager/resolved.json');
    const alerts = (body['alerts'] as JsonObject[]).map((a) => ({ ...a, endsAt: '0001-01-01T00:00:00Z' }));

    const [event] = SOURCES.alertmanager.bind({}).parse({ ...body, alerts }, {});

    expect(event?.signal).toBe('resolved');
    expect(event?.occurredAt).toBeUndefined();
    expect(eventTime(event ?? {}, 1_000)).toBe(1_000);
  });

  it('Sentry: the Sentry-Hook-Timestamp header, none without it', () => {
    const body = fixture('sentry/issue.created.json');
    const bound = SOURCES.sentry.bind({});

    expect(bound.parse(body, { 'sentry-hook-resource': 'issue', 'sentry-hook-timestamp': '1751356812' })[0]?.occurredAt).toBe(1_751_356_812_000);
    expect(bound.parse(body, { 'sentry-hook-resource': 'issue' })[0]?.occurredAt).toBeUndefined();
  });

  it("Standard Webhooks: the body's timestamp (when the event occurred), not the attempt's webhook-timestamp; the header without one", () => {
    const body = fixture('standard-webhooks/incident.resolved.json');
    const { timestamp: _, ...withoutTime } = body;
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1760000000' };
    const bound = SOURCES['standard-webhooks'].bind({});

    expect(bound.parse(body, headers)[0]?.occurredAt).toBe(Date.parse(String(body['timestamp'])));
    expect(bound.parse(withoutTime, headers)[0]?.occurredAt).toBe(1_760_000_000_000);
  });

  it('Opsgenie: alert.updatedAt is nanoseconds; a number too small for that is not trusted', () => {
    const body = fixture('opsgenie/Create.json');
    const alert = body['alert'] as JsonObject;
    const bound = SOURCES.opsgenie.bind({});

    expect(bound.parse(body, {})[0]?.occurredAt).toBe(Math.floor(Number(alert['updatedAt']) / 1e6));
    expect(bound.parse({ ...body, alert: { ...alert, updatedAt: 1_746_524_400_123 } }, {})[0]?.occurredAt).toBeUndefined();
  });

  it('GitHub: without an updated_at on the event object there is no sender time', () => {
    const body = fixture('github/issues.opened.json');
    const issue = body['issue'] as JsonObject;
    const { updated_at: _, ...withoutTime } = issue;
    const headers = { 'x-github-event': 'issues' };
    const bound = SOURCES.github.bind({});

    expect(bound.parse(body, headers)[0]?.occurredAt).toBe(Date.parse(String(issue['updated_at'])));
    expect(bound.parse({ ...body, issue: withoutTime }, headers)[0]?.occurredAt).toBeUndefined();
  });
});

describe('eventTime', () => {
  const received = 1_760_000_000_000;

  it('is the sender time when it is in the past or within the lead', () => {
    expect(eventTime({ occurredAt: received - 60_000 }, received)).toBe(received - 60_000);
    expect(eventTime({ occurredAt: received + EVENT_TIME_MAX_LEAD_MS }, received)).toBe(received + EVENT_TIME_MAX_LEAD_MS);
  });

  it('caps a sender time further ahead of our clock at the lead of 5 minutes', () => {
    expect(EVENT_TIME_MAX_LEAD_MS).toBe(300_000);
    expect(eventTime({ occurredAt: received + 3_600_000 }, received)).toBe(received + 300_000);
  });

  it('is the receive time when the sender gives none', () => {
    expect(eventTime({}, received)).toBe(received);
    expect(eventTime({ occurredAt: undefined }, received)).toBe(received);
  });
});
