import { describe, expect, it } from 'vitest';
import type { DatadogKeys } from '../../lambda/datadog/client.js';
import { callDatadog, RetryRefusedError, storing } from '../../lambda/delivery/call.js';
import { DatadogError, QueueError } from '../../lambda/shared/errors.js';
import { MemoryMetrics } from '../../lambda/shared/metrics.js';

const OLD: DatadogKeys = { apiKey: 'old', appKey: 'old' };
const NEW: DatadogKeys = { apiKey: 'new', appKey: 'new' };

function setup() {
  let refreshes = 0;
  const metrics = new MemoryMetrics();
  const deps = { keys: { get: async () => OLD, refresh: async () => (refreshes++, NEW) }, metrics };
  return { deps, metrics, refreshes: () => refreshes };
}

const answer = (status: number) => new DatadogError(`HTTP ${status}`, { status, retryable: status === 429 || status >= 500 });

describe('callDatadog', () => {
  it.each([401, 403])('after a %i reads the keys once more and tries again with them', async (status) => {
    const { deps, refreshes } = setup();
    const used: DatadogKeys[] = [];
    const result = await callDatadog(deps, 'github', async (keys) => {
      used.push(keys);
      if (keys === OLD) throw answer(status);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(used).toEqual([OLD, NEW]);
    expect(refreshes()).toBe(1);
  });

  it('asks `again` before the second try, after the keys are read: refused, nothing more is sent (#13)', async () => {
    const { deps, refreshes } = setup();
    const order: string[] = [];
    const refresh = deps.keys.refresh;
    const keys = { get: deps.keys.get, refresh: async () => (order.push('refresh'), refresh()) };
    const call = async (k: DatadogKeys) => (order.push(`call ${k.apiKey}`), k === OLD ? Promise.reject(answer(401)) : 'ok');

    await expect(callDatadog({ ...deps, keys }, 'github', call, async () => (order.push('again'), false))).rejects.toBeInstanceOf(RetryRefusedError);
    expect(order).toEqual(['call old', 'refresh', 'again']);
    expect(await callDatadog({ ...deps, keys }, 'github', call, async () => true)).toBe('ok');
    expect(refreshes()).toBe(2);
  });

  it('refreshes only once: a second 401 is thrown to the caller', async () => {
    const { deps, refreshes } = setup();
    await expect(callDatadog(deps, 'github', async () => Promise.reject(answer(401)))).rejects.toMatchObject({ status: 401 });
    expect(refreshes()).toBe(1);
  });

  it('times each attempt and counts a 429 for a timed call; an untimed call records nothing', async () => {
    const { deps, metrics } = setup();
    await expect(callDatadog(deps, 'github', async () => Promise.reject(answer(429)))).rejects.toMatchObject({ status: 429 });
    await expect(callDatadog(deps, undefined, async () => Promise.reject(answer(429)))).rejects.toMatchObject({ status: 429 });
    expect(metrics.get('RateLimited', { source: 'github' })).toBe(1);
    expect(metrics.latencies.get('github')).toHaveLength(1);
  });

  it('throws anything that is not a Datadog answer as it came, without a retry', async () => {
    const { deps, refreshes } = setup();
    const bug = new TypeError('bug');
    await expect(callDatadog(deps, 'github', async () => Promise.reject(bug))).rejects.toBe(bug);
    expect(refreshes()).toBe(0);
  });
});

describe('storing', () => {
  it('turns a failed hand-over into a QueueError with its cause, and keeps a QueueError as it is', async () => {
    const down = new Error('SQS is down');
    const failure = await storing('queue the case for x', async () => Promise.reject(down)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueueError);
    expect(failure).toMatchObject({ message: 'could not queue the case for x: SQS is down', cause: down });
    const own = new QueueError('already one');
    await expect(storing('queue', async () => Promise.reject(own))).rejects.toBe(own);
    expect(await storing('queue', async () => 7)).toBe(7);
  });
});
