import { describe, expect, it } from 'vitest';
import type { CreatedCase, DatadogKeys } from '../../lambda/datadog/client.js';
import { MAX_ATTEMPTS, MAX_DELAY_SECONDS } from '../../lambda/datadog/retry-policy.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { deliverCase, type DeliveryDeps } from '../../lambda/delivery/deliver.js';
import { DatadogError, QueueError } from '../../lambda/shared/errors.js';
import { createLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue, type ActionQueue, type PendingCase } from '../../lambda/delivery/queue.js';
import { fakeDatadog } from '../support/fakes.js';

const REQUEST: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: { title: '[GitHub] acme/shop#7: Checkout fails', type_id: '00000000-0000-0000-0000-000000000001', priority: 'P4' },
    relationships: { project: { data: { id: '00000000-0000-0000-0000-000000000000', type: 'project' } } },
  },
};

function action(attempt = 0): PendingCase {
  return {
    kind: 'create_case',
    source: 'github',
    deliveryId: 'delivery-1',
    identity: 'repo/4242:issue/7',
    rule: 'issue opened',
    request: REQUEST,
    attempt,
    firstSeen: Date.parse('2025-01-02T03:04:05.000Z'),
  };
}

const CREATED: CreatedCase = { id: 'case-1', key: 'DDFC-1', statusName: 'Open' };
const KEYS: DatadogKeys = { apiKey: 'api-1', appKey: 'app-1' };
const FRESH_KEYS: DatadogKeys = { apiKey: 'api-2', appKey: 'app-2' };

function ddError(status: number, extra: { reset?: number; message?: string } = {}): DatadogError {
  return new DatadogError(extra.message ?? `Datadog POST /api/v2/cases answered ${status}`, {
    status,
    retryable: status === 0 || status === 429 || status >= 500,
    ...(extra.reset !== undefined ? { rateLimit: { reset: extra.reset } } : {}),
  });
}

/** The fake Datadog (test/support/fakes.ts) whose createCase answers from a script. */
function scriptedDatadog(script: (DatadogError | Error | CreatedCase)[]) {
  const creates: { request: CaseCreateRequest; keys: DatadogKeys }[] = [];
  const datadog = fakeDatadog({
    async createCase(request, keys) {
      creates.push({ request, keys });
      const next = script.shift();
      if (next === undefined) throw new Error('the fake Datadog has no more answers');
      if (next instanceof Error) throw next;
      return next;
    },
  });
  return Object.assign(datadog, { calls: creates });
}

function setup(script: (DatadogError | Error | CreatedCase)[], options: { random?: () => number; queue?: ActionQueue } = {}) {
  const datadog = scriptedDatadog(script);
  const queue = new MemoryActionQueue();
  const logs: string[] = [];
  let refreshes = 0;
  const deps: DeliveryDeps = {
    datadog,
    queue: options.queue ?? queue,
    logger: createLogger({ write: (l) => logs.push(l) }),
    keys: {
      get: async () => KEYS,
      refresh: async () => {
        refreshes += 1;
        return FRESH_KEYS;
      },
    },
    random: options.random ?? (() => 0.5),
  };
  return { datadog, queue, logs, deps, refreshes: () => refreshes };
}

describe('deliverCase', () => {
  it('returns the created case after one call with the current keys', async () => {
    const { datadog, queue, deps, refreshes } = setup([CREATED]);

    await expect(deliverCase(action(), deps)).resolves.toEqual({ status: 'created', case: CREATED });

    expect(datadog.calls).toEqual([{ request: REQUEST, keys: KEYS }]);
    expect(refreshes()).toBe(0);
    expect(queue.retries).toEqual([]);
    expect(queue.deadLetters).toEqual([]);
  });

  describe('429: waits for X-RateLimit-Reset plus jitter, attempt unchanged', () => {
    it.each([
      // reset, random, expected delay = min(900, ceil(reset) + floor(random * 2))
      [7, 0, 7],
      [7, 0.25, 7],
      [7, 0.5, 8],
      [7, 0.999, 8],
      [0, 0, 0],
      [0.2, 0, 1],
      [59, 0.5, 60],
      [899, 0.5, 900],
      [900, 0.5, 900],
      [3600, 0, MAX_DELAY_SECONDS],
      [undefined, 0.5, 11], // no header: 10 s
    ])('reset %s, random %s -> %s s', async (reset, random, expected) => {
      const { queue, deps, datadog } = setup([ddError(429, reset === undefined ? {} : { reset })], { random: () => random });

      const outcome = await deliverCase(action(3), deps);

      expect(outcome).toEqual({ status: 'queued', retryInSeconds: expected, reason: 'Datadog POST /api/v2/cases answered 429' });
      expect(queue.retries).toEqual([{ action: action(3), delaySeconds: expected, reason: 'Datadog POST /api/v2/cases answered 429' }]);
      expect(queue.deadLetters).toEqual([]);
      expect(datadog.calls).toHaveLength(1);
    });
  });

  describe('5xx and no response: exponential backoff with full jitter', () => {
    it.each([
      // status, attempt before, random, expected delay = max(1, floor(random * min(900, 2^(attempt+1) * 5)))
      [500, 0, 0.5, 5], // window 10
      [500, 0, 0, 1], // never 0
      [500, 0, 0.99, 9],
      [502, 1, 0.5, 10], // window 20
      [503, 2, 0.5, 20], // window 40
      [504, 3, 0.999, 79], // window 80
      [500, 5, 0.5, 160], // window 320
      [0, 6, 0.999, 639], // window 640, no response at all
      [500, 6, 1 - Number.EPSILON, 639],
    ])('status %s at attempt %s, random %s -> %s s', async (status, attempt, random, expected) => {
      const { queue, deps } = setup([ddError(status)], { random: () => random });

      const outcome = await deliverCase(action(attempt), deps);

      expect(outcome).toMatchObject({ status: 'queued', retryInSeconds: expected });
      expect(queue.retries).toHaveLength(1);
      expect(queue.retries[0]?.action).toEqual(action(attempt + 1));
      expect(queue.retries[0]?.delaySeconds).toBe(expected);
      expect(queue.deadLetters).toEqual([]);
    });

    it('never waits longer than SQS allows', async () => {
      // The window is capped at 900 s whatever the attempt; MAX_ATTEMPTS keeps attempts below 2^10 anyway.
      const { queue, deps } = setup([ddError(500)], { random: () => 0.999999 });

      await deliverCase(action(MAX_ATTEMPTS - 2), deps);

      expect(queue.retries[0]?.delaySeconds).toBeLessThanOrEqual(MAX_DELAY_SECONDS);
      expect(queue.retries[0]?.delaySeconds).toBe(Math.floor(0.999999 * Math.min(900, 2 ** (MAX_ATTEMPTS - 1) * 5)));
    });
  });

  describe('gives up after MAX_ATTEMPTS', () => {
    it.each([
      [500, MAX_ATTEMPTS - 1, 'dead_lettered', MAX_ATTEMPTS],
      [0, MAX_ATTEMPTS - 1, 'dead_lettered', MAX_ATTEMPTS],
      [500, MAX_ATTEMPTS, 'dead_lettered', MAX_ATTEMPTS + 1],
      [500, MAX_ATTEMPTS - 2, 'queued', MAX_ATTEMPTS - 1],
      // A 429 does not count, so it is queued up to the last attempt...
      [429, MAX_ATTEMPTS - 1, 'queued', MAX_ATTEMPTS - 1],
      // ...but never past it.
      [429, MAX_ATTEMPTS, 'dead_lettered', MAX_ATTEMPTS],
    ])('status %s at attempt %s -> %s with attempt %s', async (status, attempt, expected, storedAttempt) => {
      const { queue, deps } = setup([ddError(status, { reset: 5 })]);

      const outcome = await deliverCase(action(attempt), deps);

      expect(outcome.status).toBe(expected);
      if (expected === 'dead_lettered') {
        const reason = `gave up after ${storedAttempt} attempts: Datadog POST /api/v2/cases answered ${status}`;
        expect(outcome).toEqual({ status: 'dead_lettered', reason });
        expect(queue.deadLetters).toEqual([{ action: action(storedAttempt), reason }]);
        expect(queue.retries).toEqual([]);
      } else {
        expect(queue.retries[0]?.action.attempt).toBe(storedAttempt);
        expect(queue.deadLetters).toEqual([]);
      }
    });
  });

  describe('4xx other than 429: dead letter at once, no retry', () => {
    it.each([400, 404, 409, 413, 422])('%s', async (status) => {
      const message = `Datadog POST /api/v2/cases answered ${status}: ${status} Bad Request detail`;
      const { queue, deps, datadog, refreshes } = setup([ddError(status, { message })]);

      const outcome = await deliverCase(action(0), deps);

      expect(outcome).toEqual({ status: 'dead_lettered', reason: message });
      expect(queue.deadLetters).toEqual([{ action: action(1), reason: message }]);
      expect(queue.retries).toEqual([]);
      expect(datadog.calls).toHaveLength(1);
      expect(refreshes()).toBe(0);
    });
  });

  describe('401/403: re-reads the keys once and tries again', () => {
    it.each([401, 403])('%s then success -> created with the refreshed keys', async (status) => {
      const { queue, deps, datadog, refreshes } = setup([ddError(status), CREATED]);

      await expect(deliverCase(action(), deps)).resolves.toEqual({ status: 'created', case: CREATED });

      expect(refreshes()).toBe(1);
      expect(datadog.calls.map((c) => c.keys)).toEqual([KEYS, FRESH_KEYS]);
      expect(queue.retries).toEqual([]);
      expect(queue.deadLetters).toEqual([]);
    });

    it.each([
      [401, 401],
      [401, 403],
      [403, 403],
    ])('%s then %s -> one refresh, then dead letter', async (first, second) => {
      const { queue, deps, datadog, refreshes } = setup([ddError(first), ddError(second), CREATED]);

      const outcome = await deliverCase(action(), deps);

      expect(outcome).toEqual({ status: 'dead_lettered', reason: `Datadog POST /api/v2/cases answered ${second}` });
      expect(refreshes()).toBe(1);
      expect(datadog.calls).toHaveLength(2);
      expect(queue.deadLetters).toHaveLength(1);
    });

    it('401 then 500 -> queued after the refresh, counted as one attempt', async () => {
      const { queue, deps, datadog, refreshes } = setup([ddError(401), ddError(500)]);

      const outcome = await deliverCase(action(2), deps);

      expect(outcome.status).toBe('queued');
      expect(refreshes()).toBe(1);
      expect(datadog.calls).toHaveLength(2);
      expect(queue.retries[0]?.action.attempt).toBe(3);
    });
  });

  describe('failures of the queue itself', () => {
    it.each([
      ['retry', ddError(503)],
      ['deadLetter', ddError(400)],
    ] as const)('wraps a failing %s in a QueueError with the cause', async (method, error) => {
      const down = new Error('SQS is down');
      const queue: ActionQueue = {
        retry: () => (method === 'retry' ? Promise.reject(down) : Promise.resolve()),
        deadLetter: () => (method === 'deadLetter' ? Promise.reject(down) : Promise.resolve()),
        arm: () => Promise.resolve(),
      };
      const { deps } = setup([error], { queue });

      const failure: unknown = await deliverCase(action(), deps).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(failure).toBeInstanceOf(QueueError);
      expect((failure as QueueError).message).toBe('could not queue the case for repo/4242:issue/7: SQS is down');
      expect((failure as QueueError).cause).toBe(down);
    });

    it('passes a QueueError through unchanged', async () => {
      const original = new QueueError('DLQ full');
      const { deps } = setup([ddError(400)], { queue: { retry: () => Promise.resolve(), deadLetter: () => Promise.reject(original), arm: () => Promise.resolve() } });

      await expect(deliverCase(action(), deps)).rejects.toBe(original);
    });
  });

  it('rethrows errors that are not DatadogErrors without queueing', async () => {
    const bug = new TypeError('undefined is not a function');
    const { deps, queue } = setup([bug]);

    await expect(deliverCase(action(), deps)).rejects.toBe(bug);
    expect(queue.retries).toEqual([]);
    expect(queue.deadLetters).toEqual([]);
  });

  it('logs the deferral and the dead letter with status and reason', async () => {
    const deferred = setup([ddError(429, { reset: 7 })], { random: () => 0 });
    await deliverCase(action(), deferred.deps);
    expect(deferred.logs.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'warn', message: 'case deferred to the retry queue', status: 429, delaySeconds: 7, attempt: 0, rateLimit: { reset: 7 } }),
    ]);

    const dead = setup([ddError(422)]);
    await deliverCase(action(), dead.deps);
    expect(dead.logs.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'error', message: 'case dead-lettered', status: 422, reason: 'Datadog POST /api/v2/cases answered 422' }),
    ]);
  });
});
