import { describe, expect, it } from 'vitest';
import { runNote } from '../../lambda/delivery/note.js';
import type { OutboxDeps } from '../../lambda/delivery/outbox.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { runLifecycle } from '../../lambda/delivery/run.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import type { LedgerEntry } from '../../lambda/ledger/types.js';
import type { AlertWork } from '../../lambda/lifecycle/work.js';
import type { SourceNote } from '../../lambda/sources/types.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { firing, note, resolved, T0 } from '../support/crash.js';
import { fakeDatadog, type FakeDatadog } from '../support/fakes.js';

// Under contention (issues 13, 17): a note, a resolve or a new case whose conditional write keeps losing (a burst of
// other deliveries of the alert writes the entry between its read and its write) is never answered as
// handled without being written: it is mirrored, or the delivery fails so that the sender sends it again.

/** Another delivery's conditional write changes the entry between each of the next `contended` reads and writes of a note. */
class ContendedLedger extends MemoryLedger {
  contended = 0;
  override async swap(before: LedgerEntry | undefined, after: LedgerEntry): Promise<boolean> {
    const contendedWrite = after.outbox?.some((a) => a.text?.startsWith('Note from') === true || a.purpose === 'close' || (a.kind === 'create' && after.generation > 0)) === true;
    if (this.contended > 0 && contendedWrite) {
      this.contended -= 1;
      // Another worker's conditional write lands first (its claim on the outbox, a comment's completion...).
      const current = await this.get(after.source, after.identity);
      if (current !== undefined) await super.swap(current, { ...current });
    }
    return super.swap(before, after);
  }
}

/** A contended ledger, a fake Datadog and the outbox's deps over them, on `now`. */
function world(now: () => number): { ledger: ContendedLedger; dd: FakeDatadog; deps: OutboxDeps } {
  const ledger = new ContendedLedger();
  const dd = fakeDatadog();
  const keys = { apiKey: 'a', appKey: 'b' };
  return { ledger, dd, deps: { datadog: dd, keys: { get: async () => keys, refresh: async () => keys }, queue: new MemoryActionQueue(), ledger, logger: silentLogger, now, random: () => 0 } };
}

describe('a note that keeps losing its write to concurrent firings', () => {
  it.each([1, 3, 6])('(%i lost writes) is posted once, or the delivery fails and its redelivery posts it once', async (times) => {
    const { ledger, dd, deps } = world(() => T0);
    expect((await runLifecycle(firing(), deps)).status).toBe('created');
    ledger.contended = times;
    const work = note('n-1') as AlertWork & { note: SourceNote };
    let failed = false;
    try {
      await runNote(work, deps);
    } catch {
      failed = true;
    }
    // The sender's retry of a failed delivery.
    if (failed) await runNote(work, deps);
    const comments = dd.cases.flatMap((c) => c.comments).filter((text) => text.includes('Note n-1.'));
    expect(comments).toHaveLength(1);
  });
});

describe('a resolve that keeps losing its write to concurrent deliveries', () => {
  it.each([1, 3, 6])('(%i lost writes) closes the case, or the delivery fails and its redelivery closes it', async (times) => {
    const { ledger, dd, deps } = world(() => T0 + 1000);
    expect((await runLifecycle({ ...firing(), occurredAt: T0 }, deps)).status).toBe('created');
    ledger.contended = times;
    const work: AlertWork = { ...resolved(), occurredAt: T0 + 500 };
    let failed = false;
    try {
      await runLifecycle(work, deps);
    } catch {
      failed = true;
    }
    if (failed) await runLifecycle(work, deps);
    expect(dd.cases[0]?.status).toBe('CLOSED');
    expect((await ledger.get('alertmanager', 'group/disk'))?.state).toBe('closed');
  });
});

describe('a new case after the reopen window whose create write loses to a write that made no case (a note on the closed case)', () => {
  it('is decided again and creates the new case', async () => {
    let clock = T0;
    const { ledger, dd, deps } = world(() => clock);
    expect((await runLifecycle({ ...firing(), occurredAt: clock }, deps)).status).toBe('created');
    clock += 60_000;
    expect((await runLifecycle({ ...resolved(), occurredAt: clock }, deps)).reason).toBe('resolved_closed');
    clock += 2 * 86_400_000;
    ledger.contended = 1;
    const outcome = await runLifecycle({ ...firing(), occurredAt: clock }, deps);
    expect(outcome.status).toBe('created');
    expect(dd.cases).toHaveLength(2);
  });
});
