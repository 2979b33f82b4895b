import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { caseSchemas } from '../../lambda/datadog/schema.js';
import { markerFooter } from '../../lambda/ledger/marker.js';
import { QueueError } from '../../lambda/shared/errors.js';
import { MemoryMetrics } from '../../lambda/shared/metrics.js';
import { MemoryActionQueue, type ActionQueue } from '../../lambda/delivery/queue.js';
import { MARKER_SEARCH_SETTLE_SECONDS, SEARCH_SETTLE_REASON } from '../../lambda/delivery/updates.js';
import type { SourceName } from '../../lambda/sources/index.js';
import type { DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { waitFor } from '../support/fauxqs.js';
import { postSigned, type TestBridge } from '../support/local-bridge.js';
import { ledgerBridgePerTest, type LedgerBridgeOptions } from '../support/per-test.js';

// Issue 4, against a real DynamoDB protocol (dynalite), the local Datadog-compatible server and the
// real local bridge: one alert, one case, through repeats, resolves, reopens, redeliveries,
// concurrency and a create whose response is lost.

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
const AM_FIRING = fixture('alertmanager/firing.two-alerts.json');
const AM_RESOLVED = fixture('alertmanager/resolved.json');
/** The group firing again after AM_RESOLVED (endsAt 04:02:30), a new episode: Prometheus gives its alerts a new startsAt (#13). */
const AM_REFIRED = AM_FIRING.replaceAll('"startsAt":"2025-05-06T03:14:07.512Z"', '"startsAt":"2025-05-06T04:10:00Z"');
const AM_IDENTITY = 'case-bridge/{}/{team="storage"}:{alertname="DiskFillingUp"}';
const PD_IDENTITY = 'Q2XK7RB9ZT1M';

interface Answer {
  status?: string;
  error?: string;
  reason?: string;
  case?: { id: string; key: string };
  caseId?: string;
}

describe('dedup and lifecycle through the local bridge and dynalite', () => {
  const ledgerBridge = ledgerBridgePerTest('ledger');
  let clock = Date.parse('2026-03-01T10:00:00Z');

  async function start(options: Omit<LedgerBridgeOptions, 'now'> = {}) {
    clock = Date.parse('2026-03-01T10:00:00Z');
    return ledgerBridge.start({ ...options, now: () => clock });
  }

  async function send(b: TestBridge, source: SourceName, body: string, headers: Record<string, string> = {}): Promise<{ status: number; answer: Answer }> {
    const res = await postSigned(b.url, source, body, headers);
    return { status: res.status, answer: (await res.json()) as Answer };
  }

  const creates = (server: DatadogTestServer) => server.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/cases');

  it('Alertmanager firing -> repeat -> resolved gives one case, commented, closed', async () => {
    const { dd, bridge, ledger } = await start();

    const first = await send(bridge, 'alertmanager', AM_FIRING);
    expect(first.status).toBe(201);
    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.request.data.attributes.description).toContain('case-bridge dedup marker: casebridge');

    // Alertmanager's repeat_interval: the same group again a minute later is coalesced (no call) ...
    clock += 60_000;
    const coalesced = await send(bridge, 'alertmanager', AM_FIRING);
    expect(coalesced.answer).toMatchObject({ status: 'deduplicated', reason: 'repeat_coalesced' });
    // ... and past the comment interval (15 min) reported with the count.
    clock += 15 * 60_000;
    const repeat = await send(bridge, 'alertmanager', AM_FIRING);
    expect(repeat.status).toBe(202);
    expect(repeat.answer).toMatchObject({ status: 'updated', reason: 'repeat_commented' });

    clock += 60_000;
    const resolved = await send(bridge, 'alertmanager', AM_RESOLVED);
    expect(resolved.answer).toMatchObject({ status: 'updated', reason: 'resolved_closed' });

    expect(dd.cases).toHaveLength(1);
    expect(creates(dd)).toHaveLength(1);
    const [only] = dd.cases;
    expect(only?.comments).toHaveLength(2);
    expect(only?.comments[0]).toMatch(/^Fired again \(2 more times since the last update\)\. Latest: \[Alertmanager\] DiskFillingUp/);
    // The sender's time of the resolve: the group's latest endsAt (#13).
    expect(only?.comments[1]).toMatch(/^Resolved at 2025-05-06T04:02:30.000Z by alertmanager/);
    expect(only?.statusChanges).toEqual(['CLOSED']);
    const entry = await ledger.get('alertmanager', AM_IDENTITY);
    expect(entry).toMatchObject({ state: 'closed', closedBy: 'bridge', occurrences: 3, caseId: only?.id });

    // Resolved again: nothing more.
    const again = await send(bridge, 'alertmanager', AM_RESOLVED);
    expect(again.answer).toMatchObject({ status: 'deduplicated', reason: 'already_closed' });
    expect(only?.comments).toHaveLength(2);
  });

  function pagerduty(kind: 'triggered' | 'acknowledged' | 'resolved' | 'reopened'): { body: string; headers: Record<string, string> } {
    const file = kind === 'reopened' ? 'triggered' : kind;
    let body = fixture(`pagerduty/incident.${file}.json`);
    const headers = JSON.parse(fixture(`pagerduty/incident.${file}.headers.json`)) as Record<string, string>;
    if (kind === 'reopened') {
      // PagerDuty's own time of the reopen: after the resolve's (07:41:12.900Z), or it would be out of order (#13).
      body = body.replace('"incident.triggered"', '"incident.reopened"').replace('01FQ3ZP9X2TRG1GGER0A7T0ABC', '01FQ3ZZREOPENED00000000ABC').replace('"2025-04-02T07:15:09.102Z"', '"2025-04-02T08:02:00.000Z"');
      headers['X-Webhook-Id'] = 'reopened-delivery';
    }
    return { body, headers };
  }

  it('PagerDuty triggered -> acknowledged -> resolved -> reopened: the default policy closes, then reopens the same case', async () => {
    const { dd, bridge } = await start();
    const step = async (kind: Parameters<typeof pagerduty>[0]) => {
      clock += 60_000;
      const { body, headers } = pagerduty(kind);
      return send(bridge, 'pagerduty', body, headers);
    };

    expect((await step('triggered')).status).toBe(201);
    expect((await step('acknowledged')).answer).toMatchObject({ status: 'deduplicated', reason: 'informational' });
    expect((await step('resolved')).answer).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    expect((await step('reopened')).answer).toMatchObject({ status: 'updated', reason: 'reopened' });

    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED', 'OPEN']);
    expect(dd.cases[0]?.comments).toEqual([expect.stringMatching(/^Resolved at .* by pagerduty\./), expect.stringMatching(/^Fired again after being closed: reopening\.\n\ncase-bridge update: cbu[0-9a-f]{20}$/)]);
  });

  it('PagerDuty with lifecycle { on_resolve: comment, on_informational: comment } comments and never closes', async () => {
    const { dd, bridge } = await start({
      rules: (file) => {
        const sources = file['sources'] as Record<string, Record<string, unknown>>;
        sources['pagerduty']!['lifecycle'] = { on_resolve: 'comment', on_informational: 'comment', comment_interval_seconds: 0 };
      },
    });
    for (const kind of ['triggered', 'acknowledged', 'resolved', 'reopened'] as const) {
      clock += 60_000;
      const { body, headers } = pagerduty(kind);
      await send(bridge, 'pagerduty', body, headers);
    }
    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.statusChanges).toEqual([]);
    expect(dd.cases[0]?.comments).toEqual([
      expect.stringMatching(/^Update from pagerduty: incident\.acknowledged/),
      expect.stringMatching(/^Resolved at .* by pagerduty\./),
      expect.stringMatching(/^Fired again after being resolved\./),
    ]);
  });

  it('the same delivery sent 5 times gives one case', async () => {
    const { dd, bridge } = await start();
    const { body, headers } = pagerduty('triggered');
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await send(bridge, 'pagerduty', body, headers));
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 200]);
    expect(answers.slice(1).every((a) => a.answer.status === 'duplicate')).toBe(true);
    expect(dd.cases).toHaveLength(1);
    expect(creates(dd)).toHaveLength(1);
  });

  it('10 concurrent identical deliveries give one case', async () => {
    const { dd, bridge, ledger } = await start();
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(bridge, 'alertmanager', AM_FIRING)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.answer.status === 'deduplicated')).toHaveLength(9);
    expect(dd.cases).toHaveLength(1);
    expect(creates(dd)).toHaveLength(1);
    expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'open', occurrences: 10 });
  });

  it('open_after (#17): answered 202 below_threshold until the third firing within 10 min; concurrent firings count each; a resolve resets', async () => {
    const { dd, bridge, ledger } = await start({
      rules: (file) => {
        const sources = file['sources'] as Record<string, Record<string, unknown>>;
        sources['alertmanager']!['lifecycle'] = { open_after: { occurrences: 3, within_seconds: 600 } };
      },
    });
    // Alertmanager sends no delivery id: each request counts.
    const pair = await Promise.all([send(bridge, 'alertmanager', AM_FIRING), send(bridge, 'alertmanager', AM_FIRING)]);
    for (const { status, answer } of pair) {
      expect(status).toBe(202);
      expect(answer).toMatchObject({ status: 'below_threshold', reason: 'counted', openAfter: { occurrences: 3, within_seconds: 600 } });
    }
    expect(dd.cases).toHaveLength(0);

    // The resolve matches no rule and finds no ledger entry: it still resets the count.
    clock += 60_000;
    expect((await send(bridge, 'alertmanager', AM_RESOLVED)).answer).toMatchObject({ status: 'below_threshold', reason: 'reset', occurrences: 0 });
    // The group fires again after the resolve, a new episode (#13: a firing is counted at the sender's
    // time, and one sent before the resolve does not count).
    clock += 60_000;
    expect((await send(bridge, 'alertmanager', AM_REFIRED)).answer).toMatchObject({ status: 'below_threshold', occurrences: 1 });
    clock += 60_000;
    expect((await send(bridge, 'alertmanager', AM_REFIRED)).answer).toMatchObject({ status: 'below_threshold', occurrences: 2 });
    clock += 60_000;
    const third = await send(bridge, 'alertmanager', AM_REFIRED);
    expect(third.status).toBe(201);
    expect(dd.cases).toHaveLength(1);
    expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'open', occurrences: 3 });
  });

  it('two different groups firing at once give two cases', async () => {
    const { dd, bridge } = await start();
    const other = AM_FIRING.replaceAll('DiskFillingUp', 'MemoryPressure');
    const answers = await Promise.all([send(bridge, 'alertmanager', AM_FIRING), send(bridge, 'alertmanager', other), send(bridge, 'alertmanager', AM_FIRING), send(bridge, 'alertmanager', other)]);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(2);
    expect(dd.cases).toHaveLength(2);
    expect(new Set(dd.cases.map((c) => c.request.data.attributes.title)).size).toBe(2);
  });

  it('with lifecycle marker_attribute, a new case also carries its dedup marker in that TEXT custom attribute (#4)', async () => {
    const { dd, bridge, ledger } = await start({
      rules: (file) => {
        const sources = file['sources'] as Record<string, Record<string, unknown>>;
        sources['alertmanager']!['lifecycle'] = { marker_attribute: 'case_bridge_marker' };
      },
    });

    expect((await send(bridge, 'alertmanager', AM_FIRING)).status).toBe(201);

    const marker = (await ledger.get('alertmanager', AM_IDENTITY))?.marker;
    expect(marker).toMatch(/^casebridge[0-9a-f]{24}$/);
    const request = dd.cases[0]?.request;
    expect(request?.data.attributes.custom_attributes).toEqual({ case_bridge_marker: { type: 'TEXT', is_multi: false, value: marker } });
    // The footer is written all the same: the marker search reads the description.
    expect(request?.data.attributes.description).toContain(markerFooter(marker!));
    expect(caseSchemas().CaseCreateRequest.safeParse(request).success).toBe(true);
  });

  it('a resolve that arrives while the create is in flight is deferred to the retry queue, then comments and closes the one case (#4)', async () => {
    const metrics = new MemoryMetrics();
    const { dd, bridge, ledger } = await start({ overrides: { embeddedSqs: true, random: () => 0, metrics } });
    dd.delayNext(1, 1500);

    const firing = send(bridge, 'alertmanager', AM_FIRING);
    expect(await waitFor(() => creates(dd).length === 1, 5000)).toBe(true);
    expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'creating' });
    clock += 60_000;
    const resolved = await send(bridge, 'alertmanager', AM_RESOLVED);
    expect(resolved.status).toBe(202);
    expect(resolved.answer).toMatchObject({ status: 'queued', reason: 'resolve_deferred' });
    expect((await firing).status).toBe(201);
    expect(dd.cases[0]?.statusChanges).toEqual([]);

    // About 5 s later the retry consumer runs the resolve again, and the case exists by then.
    expect(await waitFor(() => dd.cases[0]?.statusChanges.length === 1, 15_000)).toBe(true);
    expect(dd.cases).toHaveLength(1);
    expect(creates(dd)).toHaveLength(1);
    expect(dd.cases[0]?.comments).toEqual([expect.stringMatching(/^Resolved at 2025-05-06T04:02:30.000Z by alertmanager\./)]);
    expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED']);
    expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'closed', closedBy: 'bridge', caseId: dd.cases[0]?.id });
    expect(metrics.get('RetriesEnqueued', { source: 'alertmanager' })).toBe(1);
    expect(metrics.get('CasesClosed', { source: 'alertmanager' })).toBe(1);
    expect(metrics.get('CasesCommented', { source: 'alertmanager' })).toBe(1);
  }, 30_000);

  describe('a create that fails while the retry queue is down (#4)', () => {
    const downQueue: ActionQueue = {
      retry: async () => Promise.reject(new QueueError('SQS is unavailable')),
      deadLetter: async () => Promise.reject(new QueueError('SQS is unavailable')),
      arm: async () => Promise.reject(new QueueError('SQS is unavailable')),
    };
    const lookups = (server: DatadogTestServer) => server.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v2/cases?'));

    it('queue down: answered 503 before anything is written or sent (the watchdog cannot be armed); the sender\'s retry makes the one case', async () => {
      const { dd, bridge, ledger } = await start({ overrides: { queue: downQueue } });

      const first = await send(bridge, 'alertmanager', AM_FIRING);
      expect(first.status).toBe(503);
      expect(first.answer.error).toBe('queue_unavailable');
      expect(dd.cases).toHaveLength(0);
      expect(await ledger.get('alertmanager', AM_IDENTITY)).toBeUndefined();
      expect(lookups(dd)).toHaveLength(0);
    });

    it("response lost and the retry cannot be queued: answered 503; the work stays on the entry and the sender's retry, once the claim lapses, finds the case by its marker: one case", async () => {
      const parked = new MemoryActionQueue();
      const queue: ActionQueue = {
        retry: async () => Promise.reject(new QueueError('SQS is unavailable')),
        deadLetter: async () => Promise.reject(new QueueError('SQS is unavailable')),
        arm: (trigger, options) => parked.arm(trigger, options),
      };
      const { dd, bridge, ledger } = await start({ overrides: { queue } });
      dd.dropAfterCreateNext(1);

      expect((await send(bridge, 'alertmanager', AM_FIRING)).status).toBe(503);
      expect(dd.cases).toHaveLength(1); // created, but the bridge never heard
      expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'creating', outbox: [{ kind: 'create' }] });
      expect(parked.armed).toHaveLength(1); // the watchdog

      // Alertmanager sends the notification again after the claim (20 s) lapsed.
      clock += 21_000;
      await send(bridge, 'alertmanager', AM_FIRING);
      expect(creates(dd)).toHaveLength(1);
      expect(lookups(dd)).toHaveLength(1);
      expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'open', caseId: dd.cases[0]?.id, outbox: [] });
    });
  });

  describe("event order by the sender's own time (#13)", () => {

    it('A resolve whose sender time is older than the latest firing does not close', async () => {
      const metrics = new MemoryMetrics();
      const { dd, bridge, ledger } = await start({ overrides: { metrics } });

      expect((await send(bridge, 'alertmanager', AM_FIRING)).status).toBe(201);
      clock += 20 * 60_000;
      // The group fired again at 04:10 (a new episode) ...
      expect((await send(bridge, 'alertmanager', AM_REFIRED)).answer).toMatchObject({ status: 'updated', reason: 'repeat_commented' });
      clock += 60_000;
      // ... and the resolve of the earlier episode (endsAt 04:02:30) reaches the bridge only now.
      const late = await send(bridge, 'alertmanager', AM_RESOLVED);

      // Accepted (the sender must not send it again), and nothing done.
      expect(late.status).toBe(202);
      expect(late.answer).toMatchObject({ status: 'deduplicated', reason: 'stale_resolve' });
      expect(dd.cases).toHaveLength(1);
      expect(dd.cases[0]?.statusChanges).toEqual([]);
      expect(dd.cases[0]?.comments).toHaveLength(1);
      expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'open', lastFiringAt: Date.parse('2025-05-06T04:10:00Z') });
      expect(metrics.get('EventsOutOfOrder', { source: 'alertmanager' })).toBe(1);
      const logged = bridge.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['reason'] === 'stale_resolve');
      expect(logged).toMatchObject({ level: 'info', identity: AM_IDENTITY, eventTime: '2025-05-06T04:02:30.000Z', lastFiringAt: '2025-05-06T04:10:00.000Z' });
    });

    it('a firing whose sender time is older than the resolve that closed the case does not reopen; a newer one does', async () => {
      const metrics = new MemoryMetrics();
      const { dd, bridge, ledger } = await start({ overrides: { metrics } });

      expect((await send(bridge, 'alertmanager', AM_FIRING)).status).toBe(201);
      clock += 60_000;
      expect((await send(bridge, 'alertmanager', AM_RESOLVED)).answer).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
      clock += 60_000;
      // A notification of the episode that resolved (startsAt 03:14:07), delivered late: it does not reopen.
      const late = await send(bridge, 'alertmanager', AM_FIRING);
      expect(late.answer).toMatchObject({ status: 'deduplicated', reason: 'stale_event' });
      expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED']);
      expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'closed', closedBy: 'bridge', lastResolveAt: Date.parse('2025-05-06T04:02:30Z') });
      expect(metrics.get('EventsOutOfOrder', { source: 'alertmanager' })).toBe(1);
      expect(bridge.logs.some((l) => l.includes('"reason":"stale_event"') && l.includes('"lastResolveAt":"2025-05-06T04:02:30.000Z"'))).toBe(true);

      // A new episode (startsAt 04:10, after the resolve) reopens the same case.
      clock += 60_000;
      expect((await send(bridge, 'alertmanager', AM_REFIRED)).answer).toMatchObject({ status: 'updated', reason: 'reopened' });
      expect(dd.cases).toHaveLength(1);
      expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED', 'OPEN']);
      expect(metrics.get('EventsOutOfOrder', { source: 'alertmanager' })).toBe(1);
    });
  });

  describe('metrics (#4)', () => {
    const lifecycleCounts = (metrics: MemoryMetrics, source: string) =>
      Object.fromEntries(['CasesCreated', 'CasesDeduplicated', 'CasesCommented', 'CasesClosed', 'CasesReopened'].map((name) => [name, metrics.get(name, { source })]));

    it('Alertmanager firing -> repeat -> resolved counts the repeats deduplicated, the comments and the close', async () => {
      const metrics = new MemoryMetrics();
      const { bridge } = await start({ overrides: { metrics } });

      await send(bridge, 'alertmanager', AM_FIRING);
      clock += 60_000;
      await send(bridge, 'alertmanager', AM_FIRING); // coalesced
      clock += 15 * 60_000;
      await send(bridge, 'alertmanager', AM_FIRING); // commented
      clock += 60_000;
      await send(bridge, 'alertmanager', AM_RESOLVED); // commented, closed
      await send(bridge, 'alertmanager', AM_RESOLVED); // already closed: nothing

      expect(lifecycleCounts(metrics, 'alertmanager')).toEqual({ CasesCreated: 1, CasesDeduplicated: 2, CasesCommented: 2, CasesClosed: 1, CasesReopened: 0 });
    });

    it('PagerDuty triggered -> resolved -> reopened counts the reopen; a redelivery counts deduplicated once', async () => {
      const metrics = new MemoryMetrics();
      const { dd, bridge } = await start({ overrides: { metrics } });
      for (const kind of ['triggered', 'resolved', 'reopened'] as const) {
        clock += 60_000;
        const { body, headers } = pagerduty(kind);
        await send(bridge, 'pagerduty', body, headers);
      }
      expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED', 'OPEN']);
      expect(lifecycleCounts(metrics, 'pagerduty')).toEqual({ CasesCreated: 1, CasesDeduplicated: 1, CasesCommented: 2, CasesClosed: 1, CasesReopened: 1 });

      // PagerDuty retries the reopen delivery (same X-Webhook-Id): answered duplicate, counted once.
      const { body, headers } = pagerduty('reopened');
      expect((await send(bridge, 'pagerduty', body, headers)).answer.status).toBe('duplicate');
      expect(metrics.get('CasesDeduplicated', { source: 'pagerduty' })).toBe(2);
      expect(metrics.get('CasesReopened', { source: 'pagerduty' })).toBe(1);
    });

    it('a comment handed to the retry queue is counted when queued, not again when the retry sends it', async () => {
      const metrics = new MemoryMetrics();
      const { dd, bridge } = await start({ overrides: { metrics, embeddedSqs: true, random: () => 0 } });
      await send(bridge, 'alertmanager', AM_FIRING);
      dd.failNextUpdates(1, { status: 503 });

      clock += 16 * 60_000;
      const repeat = await send(bridge, 'alertmanager', AM_FIRING);
      expect(repeat.answer).toMatchObject({ status: 'updated', reason: 'repeat_commented' });
      expect(metrics.get('CasesCommented', { source: 'alertmanager' })).toBe(1);

      expect(
        await waitFor(() => {
          clock += 1_000;
          return dd.cases[0]?.comments.length === 1;
        }, 15_000),
      ).toBe(true);
      expect(metrics.get('RetriesEnqueued', { source: 'alertmanager' })).toBe(1);
      expect(metrics.get('CasesCommented', { source: 'alertmanager' })).toBe(1);
    }, 30_000);
  });

  it('a create whose response is lost, then retried, gives one case: the marker lookup finds it', async () => {
    const { dd, bridge, ledger } = await start({ overrides: { embeddedSqs: true, random: () => 0 } });
    dd.dropAfterCreateNext(1);

    const first = await send(bridge, 'alertmanager', AM_FIRING);
    expect(first.answer.status).toBe('queued');
    expect(dd.cases).toHaveLength(1); // created, but the bridge never heard
    // A repeat meanwhile does not create again: the intent is held.
    expect((await send(bridge, 'alertmanager', AM_FIRING)).answer).toMatchObject({ status: 'deduplicated', reason: 'create_pending' });

    // The retry consumer looks the case up by marker (1 s delay with random 0) and records it.
    const deadline = Date.now() + 15_000;
    // The bridge's clock moves as the retries wait (#13: a retried action is not due before its delay on the alert's clock).
    while ((await ledger.get('alertmanager', AM_IDENTITY))?.state !== 'open' && Date.now() < deadline) {
      clock += 1_000;
      await new Promise((r) => setTimeout(r, 100));
    }
    const entry = await ledger.get('alertmanager', AM_IDENTITY);
    expect(entry).toMatchObject({ state: 'open', caseId: dd.cases[0]?.id });
    expect(dd.requests.some((r) => r.method === 'GET' && r.path.startsWith('/api/v2/cases?'))).toBe(true);
    expect(creates(dd)).toHaveLength(1);

    clock += 60_000;
    expect((await send(bridge, 'alertmanager', AM_FIRING)).answer.status).toBe('deduplicated');
    expect(dd.cases).toHaveLength(1);
  }, 30_000);

  it("a lost create whose case Datadog's search does not show yet is looked up again, not sent again: one case", async () => {
    // Search shows a case 2.5 s after it was made; the bridge trusts a lookup that finds nothing only
    // 3 s after the lost create (60 s when deployed). Both are read on the bridge's clock, so a slow
    // machine cannot stretch one and not the other.
    const { dd, bridge, ledger } = await start({ datadog: { searchLagMs: 2_500, now: () => clock }, overrides: { embeddedSqs: true, random: () => 0, markerSearchSettleSeconds: 3 } });
    dd.dropAfterCreateNext(1);

    expect((await send(bridge, 'alertmanager', AM_FIRING)).answer.status).toBe('queued');
    expect(dd.cases).toHaveLength(1); // created, but the bridge never heard

    // The retry consumer looks after about 1 s: nothing yet; it waits and looks again.
    // The bridge's clock follows real time here: the search lag is real time.
    const [clock0, real0] = [clock, Date.now()];
    expect(
      await waitFor(async () => {
        clock = clock0 + (Date.now() - real0);
        return (await ledger.get('alertmanager', AM_IDENTITY))?.state === 'open';
      }, 15_000),
    ).toBe(true);
    expect(await ledger.get('alertmanager', AM_IDENTITY)).toMatchObject({ state: 'open', caseId: dd.cases[0]?.id });
    expect(dd.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v2/cases?')).length).toBeGreaterThanOrEqual(2);
    expect(creates(dd)).toHaveLength(1);
    expect(dd.cases).toHaveLength(1);
  }, 30_000);
});
