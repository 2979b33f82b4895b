import { describe, expect, it } from 'vitest';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { FOLLOW_UP_WAIT_MS } from '../../lambda/delivery/journal.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { newDeliveryId, type DeliveryJournal } from '../../lambda/journal/types.js';
import { createRetryHandler, NO_KEYS_REASON } from '../../lambda/retry/handler.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { MemoryMetrics } from '../../lambda/shared/metrics.js';
import { fakeDatadog, queuedRecord } from '../support/fakes.js';
import { pendingCase } from '../support/fauxqs.js';

// Issue 16: the journal never decides, nor holds, the work. A journal that stops answering must not hold
// the retry function's records (its batch budget, RECORD_START_MS, has no room for it): the wait for
// follow-up writes is bounded, as the ingest's is, and the late write is counted.

describe('the retry function with a journal that hangs', () => {
  it('finishes its record within the follow-up wait and counts the late write', async () => {
    const hanging: DeliveryJournal = { update: () => new Promise(() => {}), get: async () => undefined, list: async () => [] };
    const queue = new MemoryActionQueue();
    const metrics = new MemoryMetrics();
    const handler = createRetryHandler({
      datadog: fakeDatadog(),
      ledger: new MemoryLedger(),
      secrets: { get: async () => ({}), refresh: async () => ({}) },
      queue,
      logger: silentLogger,
      metrics,
      journal: hanging,
    });
    const now = Date.now();
    const record = queuedRecord('1', { ...pendingCase(1), journalId: newDeliveryId(now) }, 'first try answered 429', now);
    const started = performance.now();
    const result = await Promise.race([handler({ Records: [record] }), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000))]);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(performance.now() - started).toBeLessThan(FOLLOW_UP_WAIT_MS + 2_000);
    expect(queue.deadLetters[0]?.reason).toBe(NO_KEYS_REASON);
    expect([...metrics.counts.keys()].some((k) => k.includes('JournalFailed') && k.includes('late'))).toBe(true);
  });
});
