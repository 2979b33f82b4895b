import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { RateBudget, rateLimitObserver, type PaceDecision } from '../../lambda/delivery/rate-budget.js';
import { DynamoRateBudgetStore, rateBudgetPk } from '../../lambda/ledger/dynamo-rate-budget.js';
import { MemoryRateBudgetStore, type RateBudgetStore } from '../../lambda/ledger/rate-budget-store.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoApi } from '../../lambda/shared/dynamodb-api.js';
import { nodeHttpFetch, type HttpFetch } from '../../lambda/shared/http.js';
import { rebookAfter429 } from '../../lambda/delivery/deliver.js';
import { silentLogger } from '../../lambda/shared/log.js';

// The shared rate budget on a fake clock: no assertion depends on wall time. The Datadog test server
// (its rate-limit window on the same fake clock) is the judge of whether a schedule keeps the limit.

const T0 = Date.parse('2026-03-02T09:00:00.300Z');
const LIMIT = 10;
const PERIOD_MS = 2000;
const KEYS = { apiKey: 'test-api-key', appKey: 'test-app-key' };
const request = (n: number): CaseCreateRequest => ({
  data: {
    type: 'case',
    attributes: { title: `Paced ${n}`, type_id: '00000000-0000-0000-0000-000000000001', priority: 'P3' },
    relationships: { project: { data: { id: 'd4bbe1af-f36e-42f1-87c1-493ca35c320e', type: 'project' } } },
  },
});

/** The slot a decision gives: now when it says go. */
const slotOf = (d: PaceDecision, now: number): number => (d.go ? now : d.notBeforeMs);

/** The most slots in any span of one period (Datadog's window may start anywhere). */
function busiestPeriod(slots: readonly number[]): number {
  const sorted = [...slots].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= PERIOD_MS) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

function knownBudget(store: RateBudgetStore = new MemoryRateBudgetStore()): Promise<RateBudget> {
  return store.learn('cases_write', { shape: { limit: LIMIT, periodMs: PERIOD_MS } }).then(() => new RateBudget({ store }));
}

describe('RateBudget', () => {
  let dd: DatadogTestServer;
  let clock = T0;
  beforeAll(async () => {
    dd = await startDatadogServer({ now: () => clock });
  });
  afterAll(async () => dd.close());

  /** Sends each create at its slot (in slot order) to the rate-limited test server; returns the statuses. */
  async function sendAt(slots: readonly number[]): Promise<number[]> {
    const client = createDatadogClient({ baseUrl: dd.url });
    const statuses: number[] = [];
    for (const [n, slot] of [...slots].sort((a, b) => a - b).entries()) {
      clock = slot;
      statuses.push(await client.createCase(request(n), KEYS).then(() => 201, (e: unknown) => (e instanceof DatadogError ? e.status : -1)));
    }
    return statuses;
  }

  it('spreads 45 queued creates over the windows of a known budget: at most the allowance per period, no 429, near the limit rate', async () => {
    dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_MS / 1000 });
    clock = T0;
    const budget = await knownBudget();
    const slots: number[] = [];
    for (let i = 0; i < 45; i += 1) slots.push(slotOf(await budget.reserve('create', T0), T0));
    expect(new Set(slots).size).toBe(45);
    expect(busiestPeriod(slots)).toBeLessThanOrEqual(LIMIT);
    // Spread within each window, not bunched at its start: consecutive slots a tenth of a window apart.
    const sorted = [...slots].sort((a, b) => a - b);
    const gaps = sorted.slice(1).map((s, i) => s - sorted[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(PERIOD_MS / LIMIT);
    // Paced within 5% of the limit's rate, and the first one at once.
    expect(sorted[0]! - T0).toBeLessThan(PERIOD_MS / LIMIT);
    expect(sorted.at(-1)! - sorted[0]!).toBeLessThanOrEqual((1.05 * 44 * PERIOD_MS) / LIMIT);
    expect(await sendAt(slots)).toEqual(slots.map(() => 201));
  });

  it('knows nothing until Datadog says: every call goes, the first 429 sets the budget, and nothing is booked before its reset', async () => {
    dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_MS / 1000 });
    clock = T0 + 60_000;
    const budget = new RateBudget({ store: new MemoryRateBudgetStore() });
    const client = createDatadogClient({ baseUrl: dd.url });
    let refused: DatadogError | undefined;
    for (let n = 0; refused === undefined && n < 20; n += 1) {
      expect(await budget.reserve('create', clock)).toEqual({ go: true });
      await client.createCase(request(n), KEYS).catch((e: unknown) => (refused = e as DatadogError));
    }
    expect(refused?.status).toBe(429);
    await budget.observe(refused?.rateLimit, 429, clock);
    const first = await budget.reserve('create', clock);
    expect(first.go).toBe(false);
    expect(slotOf(first, clock)).toBeGreaterThanOrEqual(clock + (refused?.rateLimit?.reset ?? 0) * 1000);
    const slots = [slotOf(first, clock)];
    for (let i = 0; i < 29; i += 1) slots.push(slotOf(await budget.reserve('create', clock), clock));
    expect(await sendAt(slots)).toEqual(slots.map(() => 201));
  });

  it("is told a changed limit by the client's successful answers (onRateLimit); an unknown one is left to the first 429", async () => {
    dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_MS / 1000 });
    clock = T0 + 120_000;
    const unknown = new MemoryRateBudgetStore();
    const fresh = new RateBudget({ store: unknown });
    await createDatadogClient({ baseUrl: dd.url, onRateLimit: rateLimitObserver(fresh, () => clock) }).createCase(request(0), KEYS);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await unknown.read('cases_write')).toBeUndefined();

    const store = new MemoryRateBudgetStore();
    await store.learn('cases_write', { shape: { limit: 5, periodMs: PERIOD_MS } });
    const budget = new RateBudget({ store });
    await budget.reserve('create', clock); // this instance now knows the stored limit
    await createDatadogClient({ baseUrl: dd.url, onRateLimit: rateLimitObserver(budget, () => clock) }).createCase(request(1), KEYS);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.read('cases_write'))?.shape).toEqual({ limit: LIMIT, periodMs: PERIOD_MS });
  });

  it("learns from the answers to writes only: a read's X-RateLimit-* (a bucket of its own, Datadog says they may differ) neither changes the write limit nor sets its floor", async () => {
    dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_MS / 1000 });
    clock = T0 + 180_000;
    // Datadog's reads answer with their own bucket's headers: 1,000 per minute, and here one refused.
    let refuseReads = false;
    const readBucket: HttpFetch = async (url, init) => {
      const res = await nodeHttpFetch(url, init);
      if (init.method !== 'GET') return res;
      const headers: Record<string, string> = { 'x-ratelimit-limit': '1000', 'x-ratelimit-period': '60', 'x-ratelimit-remaining': refuseReads ? '0' : '999', 'x-ratelimit-reset': '45', 'x-ratelimit-name': 'cases_read' };
      return { ok: !refuseReads && res.ok, status: refuseReads ? 429 : res.status, headers: { get: (name) => headers[name.toLowerCase()] ?? res.headers.get(name) }, text: () => res.text() };
    };
    const store = new MemoryRateBudgetStore();
    await store.learn('cases_write', { shape: { limit: LIMIT, periodMs: PERIOD_MS } });
    const budget = new RateBudget({ store });
    await budget.reserve('create', clock);
    const client = createDatadogClient({ baseUrl: dd.url, fetch: readBucket, onRateLimit: rateLimitObserver(budget, () => clock) });
    const made = await client.createCase(request(0), KEYS);
    await client.getCase(made.id, KEYS);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.read('cases_write'))?.shape).toEqual({ limit: LIMIT, periodMs: PERIOD_MS });
    refuseReads = true;
    const refused = await client.getCase(made.id, KEYS).catch((e: unknown) => e as DatadogError);
    expect((refused as DatadogError).status).toBe(429);
    await rebookAfter429('create', refused as DatadogError, { pace: budget, now: () => clock, logger: silentLogger });
    const state = await store.read('cases_write');
    expect(state?.shape).toEqual({ limit: LIMIT, periodMs: PERIOD_MS });
    expect(state?.floorMs ?? 0).toBeLessThan(clock + 2 * PERIOD_MS);
  });

  it('schedules creates before comments and status changes', async () => {
    const budget = await knownBudget();
    const creates: number[] = [];
    for (let i = 0; i < 25; i += 1) creates.push(slotOf(await budget.reserve('create', T0), T0));
    const comment = slotOf(await budget.reserve('update', T0), T0);
    expect(comment).toBeGreaterThan(Math.max(...creates));
    // A create booked after the comment still goes no later than the comment's window.
    const late = slotOf(await budget.reserve('create', T0), T0);
    expect(Math.floor((late - T0) / PERIOD_MS)).toBeLessThanOrEqual(Math.floor((comment - T0) / PERIOD_MS) + 1);
    // With no create waiting, a comment goes at once.
    const idle = await knownBudget();
    expect(slotOf(await idle.reserve('update', T0), T0) - T0).toBeLessThan(PERIOD_MS / LIMIT + 1);
  });

  it('keeps the slot an action holds: early it waits for it, on time it goes, too late it books another', async () => {
    const budget = await knownBudget();
    for (let i = 0; i < 15; i += 1) await budget.reserve('create', T0);
    const held = await budget.reserve('create', T0);
    expect(held.go).toBe(false);
    const slot = slotOf(held, T0);
    expect(await budget.reserve('create', slot - 900, slot)).toEqual({ go: false, notBeforeMs: slot });
    expect(await budget.reserve('create', slot + 10, slot)).toEqual({ go: true });
    const rebooked = await budget.reserve('create', slot + 5000, slot);
    expect(slotOf(rebooked, slot + 5000)).toBeGreaterThanOrEqual(slot + 5000);
  });

  it('follows a limit Datadog raises, stated by a successful answer, without holding anything back', async () => {
    const budget = await knownBudget();
    const slots: number[] = [];
    for (let i = 0; i < 2 * LIMIT; i += 1) slots.push(slotOf(await budget.reserve('create', T0), T0));
    expect(Math.min(...slots) - T0).toBeLessThan(PERIOD_MS / LIMIT);
    expect(busiestPeriod(slots)).toBeLessThanOrEqual(LIMIT);
    await budget.observe({ limit: 2 * LIMIT, period: PERIOD_MS / 1000, remaining: 19, reset: 2 }, 201, T0);
    const later = await budget.reserve('create', T0 + 60_000);
    const next = await budget.reserve('create', T0 + 60_000);
    expect(slotOf(next, T0 + 60_000) - slotOf(later, T0 + 60_000)).toBeLessThan(PERIOD_MS / LIMIT);
  });

  it('keeps a limit Datadog lowers: slots held under the old limit are honoured only where the new one allows, the rest booked again (#15)', async () => {
    const budget = await knownBudget();
    let pending: { slot: number; ticket: number | undefined }[] = [];
    for (let i = 0; i < 40; i += 1) {
      const held = slotOf(await budget.reserve('create', T0), T0);
      pending.push({ slot: held, ticket: held });
    }
    // A successful answer states half the limit before any of them went.
    await budget.observe({ limit: LIMIT / 2, period: PERIOD_MS / 1000, remaining: 4, reset: 2 }, 201, T0);
    const sent: number[] = [];
    for (let rounds = 0; pending.length > 0 && rounds < 400; rounds += 1) {
      pending.sort((a, b) => a.slot - b.slot);
      const [next, ...rest] = pending;
      pending = rest;
      const decision = await budget.reserve('create', next!.slot, next!.ticket);
      if (decision.go) sent.push(next!.slot);
      else pending.push({ slot: decision.notBeforeMs, ticket: decision.notBeforeMs });
    }
    expect(sent).toHaveLength(40);
    expect(busiestPeriod(sent)).toBeLessThanOrEqual(LIMIT / 2);
  });

  it('after Datadog changes the period, a comment takes a slot of the new lattice behind the creates booked under the old one, and that slot is honoured at its time', async () => {
    // Creates booked under 10 per 2 s, some windows ahead (whose starts are or are not also windows of
    // the new lattice); then the period becomes 3 s.
    for (const creates of [30, 40, 50]) {
      const budget = await knownBudget();
      for (let i = 0; i < creates; i += 1) await budget.reserve('create', T0);
      await budget.observe({ limit: LIMIT, period: 3, remaining: 4, reset: 3 }, 201, T0);
      const held = await budget.reserve('update', T0);
      expect(held.go).toBe(false);
      const slot = slotOf(held, T0);
      expect(await budget.reserve('update', slot, slot)).toEqual({ go: true });
    }
  });

  it('honours a slot it gave at its time, also with slots under 2 ms apart (a limit of hundreds per second)', async () => {
    const refused: number[] = [];
    for (let limit = 500; limit <= 600; limit += 1) {
      const store = new MemoryRateBudgetStore();
      await store.learn('cases_write', { shape: { limit, periodMs: 1000 } });
      const budget = new RateBudget({ store });
      for (let i = 0; i < 30; i += 1) {
        const held = await budget.reserve('create', T0);
        if (!held.go && !(await budget.reserve('create', held.notBeforeMs, held.notBeforeMs)).go) refused.push(limit);
      }
    }
    expect(refused).toEqual([]);
  });

  it('a 429 moves the floor: a slot held before it is booked again after it', async () => {
    const budget = await knownBudget();
    const held = await budget.reserve('create', T0);
    const slot = slotOf(held, T0);
    await budget.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 2 }, 429, T0);
    const again = await budget.reserve('create', slot, slot);
    expect(slotOf(again, slot)).toBeGreaterThanOrEqual(T0 + 2000);
  });

  it('a 429 whose Reset is no count of seconds to the window\'s end (an epoch time, past the period) holds slots back one period at most, not for decades', async () => {
    const budget = await knownBudget();
    await budget.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 1_764_900_000 }, 429, T0);
    const next = await budget.reserve('create', T0);
    expect(slotOf(next, T0)).toBeGreaterThanOrEqual(T0 + 1000);
    expect(slotOf(next, T0)).toBeLessThanOrEqual(T0 + 2 * PERIOD_MS);
  });

  it('a floor an older version stored decades ahead neither stalls the budget nor keeps a real 429 from setting it', async () => {
    const store = new MemoryRateBudgetStore();
    const budget = await knownBudget(store);
    await store.learn('cases_write', { floorMs: T0 + 1_764_900_000_000 });
    expect(slotOf(await budget.reserve('create', T0), T0)).toBeLessThanOrEqual(T0 + 2 * PERIOD_MS);
    // An action that booked its slot past that floor holds a ticket decades ahead: it books anew.
    // (A slot of the lattice, a window's start, so that it is not booked anew for being off the lattice.)
    const windowMs = Math.ceil(PERIOD_MS * 1.02);
    const farTicket = Math.floor((T0 + 1_764_900_000_000) / windowMs) * windowMs;
    expect(slotOf(await budget.reserve('create', T0, farTicket), T0)).toBeLessThanOrEqual(T0 + 2 * PERIOD_MS);
    await budget.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 2 }, 429, T0);
    expect((await store.read('cases_write'))?.floorMs).toBe(T0 + 2000);
  });

  it('a floor stored decades ahead costs no call its time while no 429 comes to replace it: paced calls go at their slots, not a window late', async () => {
    const store = new MemoryRateBudgetStore();
    const budget = await knownBudget(store);
    await store.learn('cases_write', { floorMs: T0 + 1_764_900_000_000 });
    // A paced budget meets no 429, so nothing replaces that floor: each call must still go at its own slot.
    for (let later = 0; later < 5; later += 1) {
      const now = T0 + later * 10 * PERIOD_MS;
      // Its slot: the lattice's next (slots lie a tenth of a window apart), not one a window later.
      expect(slotOf(await budget.reserve('create', now), now) - now).toBeLessThanOrEqual(Math.ceil((PERIOD_MS * 1.02) / LIMIT));
    }
    // A real 429's floor (within one period) still holds calls back.
    await budget.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 2 }, 429, T0 + 100 * PERIOD_MS);
    expect(slotOf(await budget.reserve('create', T0 + 100 * PERIOD_MS), T0 + 100 * PERIOD_MS)).toBeGreaterThanOrEqual(T0 + 101 * PERIOD_MS);
  });

  it('takes no limit from headers that state none it could keep: a period past a day, a limit below one call; a fractional limit is rounded down', async () => {
    const store = new MemoryRateBudgetStore();
    const budget = await knownBudget(store);
    await budget.reserve('create', T0);
    await budget.observe({ limit: LIMIT, period: 1e9, remaining: 3, reset: 1 }, 201, T0);
    await budget.observe({ limit: 0.5, period: 2, remaining: 0, reset: 1 }, 201, T0);
    expect((await store.read('cases_write'))?.shape).toEqual({ limit: LIMIT, periodMs: PERIOD_MS });
    await budget.observe({ limit: 12.7, period: 2, remaining: 3, reset: 1 }, 201, T0);
    expect((await store.read('cases_write'))?.shape).toEqual({ limit: 12, periodMs: PERIOD_MS });
  });
});

describe('RateBudget in DynamoDB (dynalite): two instances share one item', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startDynalite();
    await dynamo.createLedgerTable('ledger');
  });
  afterAll(async () => dynamo.close());

  it('does not over-book: 60 creates reserved at once by two instances take 60 distinct slots, at most the allowance per period', async () => {
    const storeA = new DynamoRateBudgetStore({ client: dynamo.client, tableName: 'ledger' });
    const storeB = new DynamoRateBudgetStore({ client: dynamo.client, tableName: 'ledger' });
    const a = await knownBudget(storeA);
    const b = new RateBudget({ store: storeB });
    const decisions = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).reserve('create', T0)));
    const slots = decisions.map((d) => slotOf(d, T0));
    expect(new Set(slots).size).toBe(60);
    expect(busiestPeriod(slots)).toBeLessThanOrEqual(LIMIT);
    const state = await storeB.read('cases_write');
    expect(Math.max(...(state?.booked.values() ?? []))).toBe(LIMIT);
    expect(rateBudgetPk('cases_write')).toBe('ratelimit#datadog#cases_write');
  });

  it('in a window partly past, slots are booked from now on, one after another, whoever books them (#15: the jump past the first positions only when the count read has not passed them)', async () => {
    const shared = { client: dynamo.client, tableName: 'ledger' };
    const storeA = new DynamoRateBudgetStore(shared);
    await storeA.learn('late_test', { shape: { limit: LIMIT, periodMs: PERIOD_MS } });
    const a = new RateBudget({ store: storeA, endpointClass: 'late_test' });
    const b = new RateBudget({ store: new DynamoRateBudgetStore(shared), endpointClass: 'late_test' });
    const windowMs = Math.ceil(PERIOD_MS * 1.02);
    // Six tenths into a window: its first six positions are past.
    const now = Math.floor(T0 / windowMs) * windowMs + Math.ceil(windowMs * 0.6);
    const slots: number[] = [];
    for (let i = 0; i < 6; i += 1) slots.push(slotOf(await (i % 2 === 0 ? a : b).reserve('create', now), now));
    expect(slots.every((slot) => slot >= now)).toBe(true);
    expect(slots).toEqual([...slots].sort((x, y) => x - y));
    expect(new Set(slots).size).toBe(6);
    expect(busiestPeriod(slots)).toBeLessThanOrEqual(LIMIT);
    // The window's four remaining positions went first; the next two are in the next window.
    const start = Math.floor(now / windowMs) * windowMs;
    expect(slots.filter((slot) => slot < start + windowMs)).toHaveLength(4);
  });

  it('a 429 seen by one instance holds the other back until its reset', async () => {
    const shared = { client: dynamo.client, tableName: 'ledger' };
    const a = new RateBudget({ store: new DynamoRateBudgetStore(shared), endpointClass: 'floor_test' });
    const b = new RateBudget({ store: new DynamoRateBudgetStore(shared), endpointClass: 'floor_test' });
    expect(await b.reserve('create', T0)).toEqual({ go: true });
    await a.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 2 }, 429, T0);
    expect(slotOf(await b.reserve('create', T0), T0)).toBeGreaterThanOrEqual(T0 + 2000);
  });

  it('a long drain leaves hundreds of windows over in the item: they are removed a batch at a time, within DynamoDB\'s 4 KB expression limit, and pacing goes on', async () => {
    // dynalite does not hold expressions to DynamoDB's 4 KB: this client does, as DynamoDB answers.
    const sdk = dynamo.client;
    const expressions: string[] = [];
    const strict: DynamoApi = {
      getItem: (input) => sdk.send(new GetItemCommand(input)),
      putItem: (input) => sdk.send(new PutItemCommand(input)),
      deleteItem: (input) => sdk.send(new DeleteItemCommand(input)),
      query: (input) => sdk.send(new QueryCommand(input)),
      updateItem: async (input) => {
        const expression = input.UpdateExpression ?? '';
        expressions.push(expression);
        if (Buffer.byteLength(expression) > 4096) throw Object.assign(new Error('Invalid UpdateExpression: Expression size has exceeded the maximum allowed size'), { name: 'ValidationException' });
        return sdk.send(new UpdateItemCommand(input));
      },
    };
    const store = new DynamoRateBudgetStore({ client: strict, tableName: 'ledger' });
    await store.learn('drain_test', { shape: { limit: LIMIT, periodMs: PERIOD_MS } });
    const windowMs = Math.ceil(PERIOD_MS * 1.02);
    const first = Math.floor(T0 / windowMs) * windowMs;
    // 800 windows booked by a backlog whose actions each came back with its slot (no pruning then).
    for (let i = 0; i < 800; i += 1) await store.book('drain_test', first + i * windowMs, LIMIT, 0);
    const now = first + 800 * windowMs;
    const budget = new RateBudget({ store, endpointClass: 'drain_test' });
    const slots: number[] = [];
    for (let i = 0; i < 12; i += 1) slots.push(slotOf(await budget.reserve('create', now), now));
    expect(slots.every((slot) => slot >= now)).toBe(true);
    expect(busiestPeriod(slots)).toBeLessThanOrEqual(LIMIT);
    expect(expressions.every((e) => Buffer.byteLength(e) <= 4096)).toBe(true);
    expect((await store.read('drain_test'))?.booked.size).toBeLessThan(800);
  });

  it('a prune that fails does not stop the booking, and says so in a warning: an item that keeps growing is seen before DynamoDB\'s 400 KB', async () => {
    const memory = new MemoryRateBudgetStore();
    const failing: RateBudgetStore = {
      read: (key) => memory.read(key),
      learn: (key, update) => memory.learn(key, update),
      book: (key, start, cap, min) => memory.book(key, start, cap, min),
      markCreateWindow: (key, start) => memory.markCreateWindow(key, start),
      prune: async () => {
        throw new Error('ValidationException: the item is being written too often');
      },
    };
    await memory.learn('prune_test', { shape: { limit: LIMIT, periodMs: PERIOD_MS } });
    const windowMs = Math.ceil(PERIOD_MS * 1.02);
    const first = Math.floor(T0 / windowMs) * windowMs;
    for (let i = 0; i < 40; i += 1) await memory.book('prune_test', first + i * windowMs, LIMIT, 0);
    const warnings: string[] = [];
    const budget = new RateBudget({ store: failing, endpointClass: 'prune_test', logger: { warn: (message: string) => warnings.push(message) } });
    const now = first + 40 * windowMs;
    expect(slotOf(await budget.reserve('create', now), now)).toBeGreaterThanOrEqual(now);
    expect(warnings).toEqual([expect.stringContaining('rate budget: the windows that are over could not be removed')]);
  });

  it('an item whose limit no Datadog answer could state (a period of years, a limit below one call) is read as no limit: every call goes, and the next 429 states it again', async () => {
    const store = new DynamoRateBudgetStore({ client: dynamo.client, tableName: 'ledger' });
    for (const [key, shape] of [['corrupt_period', { limit: LIMIT, periodMs: 1e15 }], ['corrupt_limit', { limit: 0.25, periodMs: PERIOD_MS }]] as const) {
      await store.learn(key, { shape });
      const budget = new RateBudget({ store, endpointClass: key });
      expect(await budget.reserve('create', T0)).toEqual({ go: true });
      expect((await store.read(key))?.shape).toBeUndefined();
      await budget.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 2 }, 429, T0);
      expect((await store.read(key))?.shape).toEqual({ limit: LIMIT, periodMs: PERIOD_MS });
    }
  });

  it('a floor stored decades ahead (an epoch Reset taken as seconds) is replaced by the next real 429', async () => {
    const store = new DynamoRateBudgetStore({ client: dynamo.client, tableName: 'ledger' });
    await store.learn('poisoned_test', { shape: { limit: LIMIT, periodMs: PERIOD_MS }, floorMs: T0 + 1_764_900_000_000 });
    const budget = new RateBudget({ store, endpointClass: 'poisoned_test' });
    expect(slotOf(await budget.reserve('create', T0), T0)).toBeLessThanOrEqual(T0 + 2 * PERIOD_MS);
    await budget.observe({ limit: LIMIT, period: PERIOD_MS / 1000, remaining: 0, reset: 2 }, 429, T0);
    expect((await store.read('poisoned_test'))?.floorMs).toBe(T0 + 2000);
  });
});
