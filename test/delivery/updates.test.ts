import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../lambda/lifecycle/policy.js';
import { alertWorkOf, pendingEventOf, runLifecycle } from '../../lambda/delivery/run.js';
import { commentText, deferDelaySeconds, DEFER_REASON } from '../../lambda/lifecycle/work.js';
import { MARKER_SEARCH_SETTLE_SECONDS, planBatch, retryCreate, SEARCH_SETTLE_REASON, type UpdateDeps } from '../../lambda/delivery/updates.js';
import { MAX_ATTEMPTS } from '../../lambda/datadog/retry-policy.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { dedupMarker, markerFooter, markRequest } from '../../lambda/ledger/marker.js';
import { ABANDONED_STATUS } from '../../lambda/ledger/types.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue, type PendingAction, type PendingCase, encodeQueuedMessage, readQueuedMessage } from '../../lambda/delivery/queue.js';
import { fakeDatadog } from '../support/fakes.js';

const base = { source: 'alertmanager', deliveryId: undefined, identity: 'g', rule: 'r', attempt: 0, firstSeen: Date.parse('2026-01-01T00:00:00.000Z') } as const;
const comment = (caseId: string, text: string, occurrences = 1): PendingAction => ({ kind: 'comment', ...base, caseId, text, occurrences });
const create: PendingAction = { kind: 'create_case', ...base, request: { data: { type: 'case', attributes: { title: 't', type_id: 'x' }, relationships: { project: { data: { id: 'p', type: 'project' } } } } } };

describe('planBatch', () => {
  it('puts creates first and merges the comments queued for one case', () => {
    const plan = planBatch([
      { id: 'a', action: comment('c1', 'one', 2) },
      { id: 'b', action: { kind: 'set_status', ...base, caseId: 'c1', status: 'CLOSED' } },
      { id: 'c', action: create },
      { id: 'd', action: comment('c1', 'two', 3) },
      { id: 'e', action: comment('c2', 'other') },
    ]);
    expect(plan.map((p) => [p.action.kind, p.items.map((i) => i.id)])).toEqual([
      ['create_case', ['c']],
      ['comment', ['a', 'd']],
      ['set_status', ['b']],
      ['comment', ['e']],
    ]);
    expect(plan[1]?.action).toMatchObject({ text: 'one\n\ntwo', occurrences: 5 });
  });
});

describe('commentText', () => {
  const work = { source: 'alertmanager' as const, request: undefined, summary: 'alert.firing' };
  it('says how often it fired, and when it resolved', () => {
    expect(commentText('repeat', 3, work, 0)).toBe('Fired again (3 more times since the last update). Latest: alert.firing');
    expect(commentText('repeat', 1, work, 0)).toBe('Fired again (1 more time since the last update). Latest: alert.firing');
    expect(commentText('resolved', 0, work, Date.parse('2026-03-01T10:00:00Z'))).toBe('Resolved at 2026-03-01T10:00:00.000Z by alertmanager.');
    expect(commentText('reopened', 1, work, 0)).toBe('Fired again after being closed: reopening.');
  });
});

describe('queued message schema', () => {
  it('still reads a create written before issue 4, and reads the new kinds', () => {
    const wire = (action: PendingAction): unknown => (JSON.parse(encodeQueuedMessage({ v: 1, disposition: 'retry', action, reason: '429', enqueuedAt: 0 })) as { action: unknown }).action;
    const old = JSON.parse(encodeQueuedMessage({ v: 1, disposition: 'retry', action: create, reason: '429', enqueuedAt: 0 })) as Record<string, unknown>;
    expect(readQueuedMessage(JSON.stringify(old))).toMatchObject({ ok: true, message: { action: { kind: 'create_case' } } });
    const withIntent = { ...old, action: wire({ ...create, intentId: 'i', marker: 'casebridge0123', ambiguous: true }) };
    expect(readQueuedMessage(JSON.stringify(withIntent))).toMatchObject({ ok: true, message: { action: { intentId: 'i', ambiguous: true } } });
    expect(readQueuedMessage(JSON.stringify({ ...old, action: wire(comment('c1', 'hi')) }))).toMatchObject({ ok: true, message: { action: { kind: 'comment', caseId: 'c1' } } });
    expect(readQueuedMessage(JSON.stringify({ ...old, action: wire({ kind: 'set_status', ...base, caseId: 'c1', status: 'CLOSED' }) }))).toMatchObject({ ok: true });
  });

  it('round-trips a deferred alert event with its policy, and refuses one without a policy (#4)', () => {
    const received = Date.parse('2026-03-01T10:00:00Z');
    // The sender's own time of the event (issue 13) rides apart from when the bridge received it.
    const work = { source: 'alertmanager' as const, identity: 'g', rule: undefined, signal: 'resolved' as const, deliveryId: 'd-1', request: undefined, summary: 'alert.resolved', policy: resolvePolicy({ on_resolve: 'comment' }), occurredAt: received - 90_000, receivedAt: received };
    const pending = pendingEventOf(work, 1, received + 5_000);
    const read = readQueuedMessage(encodeQueuedMessage({ v: 1, disposition: 'retry', action: pending, reason: DEFER_REASON, enqueuedAt: 0 }));

    expect(pending).toMatchObject({ occurredAt: received - 90_000, firstSeen: received });
    expect(read).toEqual({ ok: true, message: { v: 1, disposition: 'retry', action: pending, reason: DEFER_REASON, enqueuedAt: 0 } });
    expect(read.ok && read.message.action.kind === 'lifecycle_event' ? alertWorkOf(read.message.action) : undefined).toEqual({ ...work, attempt: 1 });
    // A message written before the sender's time was carried has the receive time in both fields: it runs as before.
    const { occurredAt: _o, receivedAt: _r, ...untimed } = work;
    const older = readQueuedMessage(encodeQueuedMessage({ v: 1, disposition: 'retry', action: pendingEventOf(untimed, 1, received), reason: DEFER_REASON, enqueuedAt: 0 }));
    expect(older.ok && older.message.action.kind === 'lifecycle_event' ? alertWorkOf(older.message.action) : undefined).toMatchObject({ occurredAt: received, receivedAt: received });
    const written = JSON.parse(encodeQueuedMessage({ v: 1, disposition: 'retry', action: pending, reason: 'x', enqueuedAt: 0 })) as { action: Record<string, unknown> };
    delete written.action['policy'];
    expect(readQueuedMessage(JSON.stringify(written))).toMatchObject({ ok: false });
  });
});

describe('deferDelaySeconds', () => {
  it.each([
    [1, 0, 5],
    [2, 0, 10],
    [7, 0.99, 321],
    [20, 0, 900],
  ])('after deferral %i with random %d waits %i s', (attempt, random, seconds) => {
    expect(deferDelaySeconds(attempt, () => random)).toBe(seconds);
  });
});

describe('a create whose outcome is unknown, while Datadog search may lag (#4)', () => {
  const T0 = Date.parse('2026-03-01T10:00:00Z');
  const request = { data: { type: 'case' as const, attributes: { title: 't', type_id: 'x' }, relationships: { project: { data: { id: 'p', type: 'project' as const } } } } };

  /** A ledger holding the create intent, a Datadog whose search shows `visible`, a clock at `now`. */
  async function setup(options: { now: number; visible?: boolean; createFails?: DatadogError }) {
    const ledger = new MemoryLedger();
    const claim = await ledger.beginCreate({ source: 'alertmanager', identity: 'g', now: T0, rule: 'r' });
    if (!claim.won) throw new Error('no intent');
    const queue = new MemoryActionQueue();
    const calls = { creates: 0, lookups: 0 };
    const found = { id: 'case-1', key: 'C-1', status: 'OPEN', statusName: 'OPEN', statusGroup: 'SG_OPEN', description: undefined, createdAt: new Date(T0).toISOString(), closedAt: undefined };
    const datadog = fakeDatadog({
      async createCase() {
        calls.creates += 1;
        if (options.createFails) throw options.createFails;
        return { id: 'case-2', key: 'C-2', statusName: 'OPEN' };
      },
      async findCaseByMarker() {
        calls.lookups += 1;
        return options.visible === true ? found : undefined;
      },
    });
    const keys = { apiKey: 'a', appKey: 'b' };
    const deps: UpdateDeps = { datadog, keys: { get: async () => keys, refresh: async () => keys }, queue, logger: silentLogger, ledger, now: () => options.now, random: () => 0 };
    const action: PendingCase & { intentId: string; marker: string } = { kind: 'create_case', ...base, request, intentId: claim.entry.intentId, marker: claim.entry.marker, ambiguous: true, ambiguousAt: T0 };
    return { ledger, queue, calls, deps, action };
  }

  it('finds nothing within the settle time: looks again later from the retry queue, sends no create', async () => {
    const { queue, calls, deps, action } = await setup({ now: T0 + 10_000 });

    const outcome = await retryCreate(action, deps);

    expect(outcome).toEqual({ status: 'queued', retryInSeconds: MARKER_SEARCH_SETTLE_SECONDS - 10, reason: SEARCH_SETTLE_REASON });
    expect(calls).toEqual({ creates: 0, lookups: 1 });
    expect(queue.retries).toEqual([{ action: { ...action, attempt: 1, ambiguous: true, ambiguousAt: T0 }, delaySeconds: 50, reason: SEARCH_SETTLE_REASON }]);
  });

  it('finds nothing after the settle time: creates', async () => {
    const { ledger, calls, deps, action } = await setup({ now: T0 + (MARKER_SEARCH_SETTLE_SECONDS + 1) * 1000 });

    expect(await retryCreate(action, deps)).toMatchObject({ status: 'created', case: { id: 'case-2' } });
    expect(calls).toEqual({ creates: 1, lookups: 1 });
    expect(await ledger.get('alertmanager', 'g')).toMatchObject({ state: 'open', caseId: 'case-2' });
  });

  it('finds the case: records it and creates nothing, settle time or not', async () => {
    const { ledger, calls, deps, action } = await setup({ now: T0 + 1000, visible: true });

    expect(await retryCreate(action, deps)).toMatchObject({ status: 'created', case: { id: 'case-1' } });
    expect(calls).toEqual({ creates: 0, lookups: 1 });
    expect(await ledger.get('alertmanager', 'g')).toMatchObject({ state: 'open', caseId: 'case-1' });
  });

  it('stops waiting when the attempts run out, and creates', async () => {
    const { calls, deps, action } = await setup({ now: T0 + 1000 });

    expect(await retryCreate({ ...action, attempt: MAX_ATTEMPTS - 1 }, deps)).toMatchObject({ status: 'created' });
    expect(calls.creates).toBe(1);
  });

  it('dates the unknown outcome from the create that was sent: a timeout sets ambiguousAt, a failed lookup keeps it, a clean failure clears it', async () => {
    const timeout = new DatadogError('timed out', { status: 0, retryable: true, ambiguous: true });
    const sent = await setup({ now: T0 + 70_000, createFails: timeout });
    await retryCreate(sent.action, sent.deps);
    expect(sent.queue.retries[0]?.action).toMatchObject({ ambiguous: true, ambiguousAt: T0 + 70_000 });

    const clean = await setup({ now: T0 + 70_000, createFails: new DatadogError('rate limited', { status: 429, retryable: true }) });
    await retryCreate(clean.action, clean.deps);
    expect(clean.queue.retries[0]?.action).toMatchObject({ ambiguous: false });
    expect((clean.queue.retries[0]?.action as PendingCase).ambiguousAt).toBeUndefined();

    const lookupFails = await setup({ now: T0 + 10_000 });
    const failing = { ...lookupFails.deps, datadog: { ...lookupFails.deps.datadog, findCaseByMarker: async () => Promise.reject(timeout) } } as UpdateDeps;
    await retryCreate(lookupFails.action, failing);
    expect(lookupFails.queue.retries[0]?.action).toMatchObject({ ambiguous: true, ambiguousAt: T0 });
    expect(lookupFails.calls.creates).toBe(0);
  });

  it('dead-letters a create whose last attempt timed out as ambiguous, so that a redrive looks it up first', async () => {
    const timeout = new DatadogError('timed out', { status: 0, retryable: true, ambiguous: true });
    const last = await setup({ now: T0 + 70_000, createFails: timeout });
    await retryCreate({ ...last.action, attempt: MAX_ATTEMPTS - 1 }, last.deps);
    expect(last.queue.deadLetters[0]?.action).toMatchObject({ ambiguous: true, ambiguousAt: T0 + 70_000 });
  });

  it('keeps the intent of a create dead-lettered with an unknown outcome, flagged, and the next firing finds its case instead of making a second', async () => {
    const timeout = new DatadogError('timed out', { status: 0, retryable: true, ambiguous: true });
    const last = await setup({ now: T0 + 70_000, createFails: timeout });

    expect(await retryCreate({ ...last.action, attempt: MAX_ATTEMPTS - 1 }, last.deps)).toEqual({ status: 'dead_lettered', reason: `gave up after ${MAX_ATTEMPTS} attempts: timed out`, ambiguous: true });
    expect(await last.ledger.get('alertmanager', 'g')).toMatchObject({ state: 'creating', intentId: last.action.intentId, ambiguousIntentId: last.action.intentId });

    // Datadog is back and the timed-out create had made the case: the alert fires again.
    const visible = { ...last.deps, datadog: { ...last.deps.datadog, findCaseByMarker: async () => ({ id: 'case-1', key: 'C-1', status: 'OPEN', statusName: 'Open', statusGroup: 'SG_OPEN', description: undefined, createdAt: undefined, closedAt: undefined }) } } as UpdateDeps;
    const work = { source: 'alertmanager' as const, identity: 'g', rule: 'r', signal: 'firing' as const, deliveryId: undefined, request, summary: 'firing', policy: resolvePolicy() };
    expect(await runLifecycle(work, visible)).toMatchObject({ status: 'created', case: { id: 'case-1' } });
    expect(last.calls.creates).toBe(1);
    expect(await last.ledger.get('alertmanager', 'g')).toMatchObject({ state: 'open', caseId: 'case-1' });
  });

  it('keeps the intent, flagged, when the lookup still fails on the last attempt', async () => {
    const timeout = new DatadogError('timed out', { status: 0, retryable: true, ambiguous: true });
    const { ledger, queue, deps, action } = await setup({ now: T0 + 10_000 });
    const failing = { ...deps, datadog: { ...deps.datadog, findCaseByMarker: async () => Promise.reject(timeout) } } as UpdateDeps;

    expect(await retryCreate({ ...action, attempt: MAX_ATTEMPTS - 1 }, failing)).toMatchObject({ status: 'dead_lettered', ambiguous: true });
    expect(queue.deadLetters).toHaveLength(1);
    expect(await ledger.get('alertmanager', 'g')).toMatchObject({ state: 'creating', ambiguousIntentId: action.intentId });
  });

  it('drops the intent of a create that failed for good (a 400), so that the next firing creates at once', async () => {
    const { ledger, queue, deps, action } = await setup({ now: T0 + 70_000, createFails: new DatadogError('bad request', { status: 400, retryable: false }) });

    expect(await retryCreate(action, deps)).toEqual({ status: 'dead_lettered', reason: 'bad request' });
    expect(queue.deadLetters).toHaveLength(1);
    expect(await ledger.get('alertmanager', 'g')).toBeUndefined();
  });

  it('carries ambiguousAt through the queued message', () => {
    const message = { v: 1 as const, disposition: 'retry' as const, action: { ...create, intentId: 'i', marker: 'casebridge0123', ambiguous: true, ambiguousAt: Date.parse('2026-03-01T10:00:00.000Z') }, reason: 'x', enqueuedAt: 0 };
    expect(readQueuedMessage(encodeQueuedMessage(message))).toEqual({ ok: true, message });
  });
});

describe('a redelivered record whose intent the ledger flagged (#4)', () => {
  it('waits the full settle time from now, whatever its ambiguousAt says: its last attempt may have sent a create later', async () => {
    const T0 = Date.parse('2026-03-01T10:00:00Z');
    const ledger = new MemoryLedger();
    const claim = await ledger.beginCreate({ source: 'alertmanager', identity: 'g', now: T0, rule: 'r' });
    if (!claim.won) throw new Error('no intent');
    await ledger.markCreateAmbiguous({ source: 'alertmanager', identity: 'g' }, claim.entry.intentId);
    const queue = new MemoryActionQueue();
    let creates = 0;
    const datadog = fakeDatadog({ createCase: async () => (creates += 1, { id: 'x', key: 'X', statusName: 'OPEN' }) });
    const keys = { apiKey: 'a', appKey: 'b' };
    const now = T0 + 70_000;
    const deps: UpdateDeps = { datadog, keys: { get: async () => keys, refresh: async () => keys }, queue, logger: silentLogger, ledger, now: () => now };
    const action: PendingCase = { ...create, kind: 'create_case', intentId: claim.entry.intentId, marker: claim.entry.marker, ambiguous: true, ambiguousAt: T0 };

    expect(await retryCreate(action, deps)).toMatchObject({ status: 'queued', retryInSeconds: MARKER_SEARCH_SETTLE_SECONDS });
    expect(creates).toBe(0);
    expect(queue.retries[0]?.action).toMatchObject({ ambiguous: true, ambiguousAt: now });
  });
});

describe('a new case after a close that fails for good (#4)', () => {
  const T0 = Date.parse('2026-03-01T10:00:00Z');
  const k = { source: 'alertmanager', identity: 'g' } as const;

  /** A ledger whose alert had its first case, case-0, closed a second later. */
  async function closedAlert(by: 'bridge' | 'human', status: string) {
    const ledger = new MemoryLedger();
    const first = await ledger.beginCreate({ ...k, now: T0, rule: 'r' });
    await ledger.completeCreate(k, first.entry.intentId, { caseId: 'case-0', caseKey: 'C-0' }, T0);
    await ledger.markClosed(k, { caseId: 'case-0', at: T0 + 1000, by, status });
    return { ledger, first };
  }

  it('leaves the alert closed without a case at its generation; a redrive makes the case with a marker of its own', async () => {
    const { ledger } = await closedAlert('bridge', 'CLOSED');
    const replacing = await ledger.beginCreate({ ...k, now: T0 + 2 * 86_400_000, rule: 'r', replacing: (await ledger.get(k.source, k.identity))! });
    const queue = new MemoryActionQueue();
    const sent: PendingCase['request'][] = [];
    let fail = true;
    const datadog = fakeDatadog({
      async createCase(request) {
        if (fail) throw new DatadogError('bad request', { status: 400, retryable: false });
        sent.push(request);
        return { id: `case-${sent.length}`, key: `C-${sent.length}`, statusName: 'OPEN' };
      },
      findCaseByMarker: async () => undefined,
    });
    const keys = { apiKey: 'a', appKey: 'b' };
    const deps: UpdateDeps = { datadog, keys: { get: async () => keys, refresh: async () => keys }, queue, logger: silentLogger, ledger, now: () => T0 + 3 * 86_400_000 };
    // As create() sends it: marked with generation 1, in the footer and in the marker attribute.
    const marked = markRequest((create as PendingCase).request, replacing.entry.marker, { attribute: 'dedup_marker' });
    const action: PendingCase = { ...create, kind: 'create_case', request: marked, intentId: replacing.entry.intentId, marker: replacing.entry.marker };

    expect(await retryCreate(action, deps)).toEqual({ status: 'dead_lettered', reason: 'bad request' });
    expect(await ledger.get(k.source, k.identity)).toMatchObject({ state: 'closed', generation: 1, closedStatus: ABANDONED_STATUS });

    // The operator fixes the rule and redrives: a new intent, generation 2, and its own marker.
    fail = false;
    expect(await retryCreate(queue.deadLetters[0]!.action as PendingCase, deps)).toMatchObject({ status: 'created', case: { id: 'case-1' } });
    const entry = await ledger.get(k.source, k.identity);
    expect(entry).toMatchObject({ state: 'open', generation: 2, caseId: 'case-1', marker: dedupMarker(k.source, k.identity, 2) });
    // Marked once, with generation 2: neither the first case's marker nor the abandoned one's.
    const attributes = sent[0]!.data.attributes;
    expect(attributes.description).toBe(markerFooter(dedupMarker(k.source, k.identity, 2)));
    expect(attributes.custom_attributes).toEqual({ dedup_marker: { type: 'TEXT', is_multi: false, value: dedupMarker(k.source, k.identity, 2) } });
  });

  it('does not take a case a human closed with a status named ABANDONED for an abandoned alert: a redrive of its old create is dropped', async () => {
    const { ledger, first } = await closedAlert('human', ABANDONED_STATUS);
    let creates = 0;
    const datadog = fakeDatadog({ createCase: async () => (creates += 1, { id: 'x', key: 'X', statusName: 'OPEN' }) });
    const keys = { apiKey: 'a', appKey: 'b' };
    const deps: UpdateDeps = { datadog, keys: { get: async () => keys, refresh: async () => keys }, queue: new MemoryActionQueue(), logger: silentLogger, ledger, now: () => T0 + 2000 };

    expect(await retryCreate({ ...create, kind: 'create_case', intentId: first.entry.intentId, marker: first.entry.marker } as PendingCase, deps)).toMatchObject({ status: 'dropped' });
    expect(creates).toBe(0);
  });
});
