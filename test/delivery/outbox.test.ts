import { describe, expect, it } from 'vitest';
import type { DatadogClient } from '../../lambda/datadog/client.js';
import { claimed, runOutbox, updateMarkerLine, type Gate, type OutboxDeps } from '../../lambda/delivery/outbox.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { runLifecycle } from '../../lambda/delivery/run.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { CLAIM_MS, DATADOG_TIMEOUT_MS, INGEST_FUNCTION_TIMEOUT_SECONDS, WATCHDOG_DELAY_SECONDS } from '../../lambda/shared/budgets.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { fakeDatadog } from '../support/fakes.js';
import { firing, resolved, T0 } from '../support/crash.js';

const KEY = { source: 'alertmanager', identity: 'group/disk' };

function world(overrides: Partial<DatadogClient> = {}) {
  const ledger = new MemoryLedger();
  const queue = new MemoryActionQueue();
  const dd = fakeDatadog(overrides);
  let clock = T0;
  const deps: OutboxDeps = {
    datadog: dd,
    keys: { get: async () => ({ apiKey: 'a', appKey: 'b' }), refresh: async () => ({ apiKey: 'a', appKey: 'b' }) },
    queue,
    ledger,
    logger: silentLogger,
    now: () => clock,
    random: () => 0,
  };
  return { ledger, queue, dd, deps, advance: (ms: number) => (clock += ms), now: () => clock };
}

/** The ledger with its swaps (and reads) seen by `onSwap` (after the write, with its result) and counted. */
function watched(ledger: MemoryLedger, onSwap: (won: boolean) => Promise<void> | void = () => undefined) {
  const seen = { swaps: 0, reads: 0 };
  const wrapped = Object.assign(Object.create(ledger) as MemoryLedger, {
    get: async (source: string, identity: string) => ((seen.reads += 1), ledger.get(source, identity)),
    swap: async (before: Parameters<MemoryLedger['swap']>[0], after: Parameters<MemoryLedger['swap']>[1]) => {
      const won = await ledger.swap(before, after);
      seen.swaps += 1;
      await onSwap(won);
      return won;
    },
  });
  return { ledger: wrapped, seen };
}

/** An open case whose outbox holds a comment a dead worker may have posted (so the next worker reads the timeline first). */
async function guardedComment(w: ReturnType<typeof world>, id: string) {
  await runLifecycle(firing(), w.deps);
  const entry = (await w.ledger.get(KEY.source, KEY.identity))!;
  const action = { id, kind: 'comment' as const, createdAt: T0, text: 'Resolved.', purpose: 'comment' as const, caseId: entry.caseId, claimedBy: 'dead', sentAt: T0 };
  await w.ledger.swap(entry, { ...entry, outbox: [action] });
  // Its call would have met its own deadline by now: a guard that does not find it posts it (#15).
  w.advance(DATADOG_TIMEOUT_MS);
  return action;
}

describe('the outbox (#13)', () => {
  it('a resolve with Datadog taking 4.5 s per call stops before a call that would not fit the ingest timeout, and the watchdog closes the case', async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    w.advance(60_000);
    // Each Datadog call takes 4.5 s of the ingest function's 10 s.
    let elapsed = 0;
    const slow = new Proxy(w.dd, {
      get: (t, p, r) => {
        const v = Reflect.get(t, p, r) as unknown;
        return typeof v === 'function' ? (...a: unknown[]) => ((elapsed += 4_500), (v as (...x: unknown[]) => unknown).apply(t, a)) : v;
      },
    });
    const outcome = await runLifecycle(resolved(), { ...w.deps, datadog: slow, remainingMs: () => INGEST_FUNCTION_TIMEOUT_SECONDS * 1000 - elapsed });
    expect(outcome).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    expect(elapsed).toBeLessThan(INGEST_FUNCTION_TIMEOUT_SECONDS * 1000);
    expect(w.dd.cases[0]?.status).toBe('OPEN'); // not everything fitted
    expect(w.queue.armed.at(-1)?.delaySeconds).toBe(WATCHDOG_DELAY_SECONDS);

    // The watchdog comes after the claim lapsed: the retry function finishes the close.
    w.advance(WATCHDOG_DELAY_SECONDS * 1000);
    expect(WATCHDOG_DELAY_SECONDS * 1000).toBeGreaterThan(CLAIM_MS);
    const run = await runOutbox(KEY, w.deps);
    expect(run.status).toBe('done');
    expect(w.dd.cases[0]?.status).toBe('CLOSED');
    expect(w.dd.cases[0]?.comments).toHaveLength(1);
    expect(w.dd.cases[0]?.comments[0]).toMatch(/^Resolved at .*\n\ncase-bridge update: cbu[0-9a-f]{20}$/);
  });

  it('a completion write that keeps losing to other transitions does not send its action again', async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    const entry = (await w.ledger.get(KEY.source, KEY.identity))!;
    const action = { id: 'cbu00000000000000000002', kind: 'comment' as const, createdAt: T0, text: 'Fired again.', purpose: 'comment' as const, caseId: entry.caseId };
    await w.ledger.swap(entry, { ...entry, outbox: [action] });
    // After the comment is posted, each of the worker's completion writes loses to another delivery's transition
    // that lands between its read and its write (six of them: a burst of repeats).
    let competing = 0;
    let burst = true;
    const ledger = w.ledger;
    const racing = Object.assign(Object.create(ledger) as MemoryLedger, {
      swap: async (before: Parameters<MemoryLedger['swap']>[0], after: Parameters<MemoryLedger['swap']>[1]) => {
        if (competing > 0) {
          competing -= 1;
          const current = (await ledger.get(KEY.source, KEY.identity))!;
          await ledger.swap(current, { ...current, lastSeen: current.lastSeen + 1 });
        }
        return ledger.swap(before, after);
      },
    });
    const run = await runOutbox(KEY, { ...w.deps, ledger: racing, steps: (step) => void (step === 'datadog.acted' && burst && ((competing = 6), (burst = false))) });
    expect(run.status).not.toBe('dropped');
    w.advance(CLAIM_MS + 1);
    await runOutbox(KEY, w.deps);
    expect(w.dd.cases[0]?.comments.filter((c) => c.includes(updateMarkerLine(action.id)))).toHaveLength(1);
    expect((await w.ledger.get(KEY.source, KEY.identity))?.outbox).toEqual([]);
  });

  it('an action appended by another delivery right after a completion write (#15: the next round starts from that write, not a read) is sent once, after the rest', async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    w.advance(60_000);
    const ledger = w.ledger;
    const appended = { id: 'cbu00000000000000000009', kind: 'comment' as const, createdAt: T0, text: 'Fired again.', purpose: 'comment' as const };
    let wins = 0;
    // The resolve's transition is write 1; the comment's completion write 2: a firing's transition
    // lands right after it, appending a comment under the live claim.
    const racing = watched(ledger, async (won) => {
      if (won && (wins += 1) === 2) {
        const current = (await ledger.get(KEY.source, KEY.identity))!;
        expect(current.claimUntil).toBeGreaterThan(w.now());
        await ledger.swap(current, { ...current, outbox: [...(current.outbox ?? []), { ...appended, caseId: current.caseId }] });
      }
    });
    // The comment takes 12 s: the claim no longer holds the close's call and write, so the comment is
    // recorded (and the claim renewed) before the close goes.
    const slow: DatadogClient = { ...w.dd, addComment: async (...a: Parameters<DatadogClient['addComment']>) => (w.advance(12_000), w.dd.addComment(...a)) };
    const outcome = await runLifecycle(resolved(), { ...w.deps, ledger: racing.ledger, datadog: slow });
    expect(outcome).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    const c = w.dd.cases[0]!;
    expect(c.status).toBe('CLOSED');
    expect(c.comments.map((m) => m.split('\n', 1)[0])).toEqual([expect.stringMatching(/^Resolved at /), 'Fired again.']);
    expect(c.comments.filter((m) => m.includes(updateMarkerLine(appended.id)))).toHaveLength(1);
    expect((await ledger.get(KEY.source, KEY.identity))?.outbox).toEqual([]);
    // One read of the alert by the lifecycle, one after the close's completion write lost to the append.
    expect(racing.seen.reads).toBe(2);
  });

  it("a resolve's comment and close are recorded by one write (#15); a crash after the close, before it, leaves both to the next worker, which finds the comment by its marker and sets the status again", async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    w.advance(60_000);
    const ledger = w.ledger;
    const counting = watched(ledger);
    let acted = 0;
    const crash = (step: string) => {
      if (step === 'datadog.acted' && (acted += 1) === 2) throw new Error('crash after the close');
    };
    await expect(runLifecycle(resolved(), { ...w.deps, ledger: counting.ledger, steps: crash })).rejects.toThrow('crash after the close');
    // The transition only: neither action is recorded, both stay claimed and sent by the dead worker.
    expect(counting.seen.swaps).toBe(1);
    const left = (await ledger.get(KEY.source, KEY.identity))!;
    expect(left.outbox?.map((a) => [a.purpose, a.claimedBy !== undefined, a.sentAt !== undefined])).toEqual([
      ['comment', true, true],
      ['close', true, true],
    ]);
    const c = w.dd.cases[0]!;
    expect(c.status).toBe('CLOSED');
    expect(c.comments).toHaveLength(1);

    w.advance(CLAIM_MS + 1);
    const run = await runOutbox(KEY, w.deps);
    expect(run.status).toBe('done');
    expect(c.comments).toHaveLength(1);
    expect(c.status).toBe('CLOSED');
    expect((await ledger.get(KEY.source, KEY.identity))?.outbox).toEqual([]);

    // Without a crash: the transition and one write for both actions.
    const v = world();
    await runLifecycle(firing(), v.deps);
    v.advance(60_000);
    const tally = watched(v.ledger);
    expect(await runLifecycle(resolved(), { ...v.deps, ledger: tally.ledger })).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    expect(tally.seen.swaps).toBe(2);
    expect(v.dd.cases[0]?.comments).toHaveLength(1);
    expect((await v.ledger.get(KEY.source, KEY.identity))?.outbox).toEqual([]);
  });

  it("a resolve's comment posted, then its close answered 429 while the retry queue refuses the message: the comment is recorded, so the next worker does not post it again where the timeline cannot be read", async () => {
    // ListCaseTimeline answering 405: a guard cannot check, so it posts (docs/delivery.md); only a recorded comment is safe.
    const w = world({ listComments: async () => ({ checked: false, status: 405, reason: 'method not allowed' }) });
    await runLifecycle(firing(), w.deps);
    w.advance(60_000);
    let limited = 1;
    const dd: DatadogClient = {
      ...w.dd,
      setStatus: async (...a: Parameters<DatadogClient['setStatus']>) => {
        if (limited-- > 0) throw new DatadogError('Datadog answered 429', { status: 429, retryable: true });
        return w.dd.setStatus(...a);
      },
    };
    const queue = Object.assign(Object.create(w.queue) as MemoryActionQueue, {
      retry: async () => {
        throw new Error('SQS unavailable');
      },
    });
    await expect(runLifecycle(resolved(), { ...w.deps, datadog: dd, queue })).rejects.toThrow('SQS unavailable');
    const c = w.dd.cases[0]!;
    expect(c.comments).toHaveLength(1);

    // The watchdog, after the claim: the close only.
    w.advance(WATCHDOG_DELAY_SECONDS * 1000);
    expect((await runOutbox(KEY, { ...w.deps, datadog: dd })).status).toBe('done');
    expect(c.status).toBe('CLOSED');
    expect(c.comments).toHaveLength(1);
  });

  it('a run that sends more updates in a row than its rounds records every one it sent before it stops (#15)', async () => {
    const w = world({ listComments: async () => ({ checked: false, status: 405, reason: 'method not allowed' }) });
    await runLifecycle(firing(), w.deps);
    const entry = (await w.ledger.get(KEY.source, KEY.identity))!;
    // Forty comments owed (a burst of notes behind a queued create, say), none sent yet.
    const owed = Array.from({ length: 40 }, (_, i) => ({ id: `cbu${String(i).padStart(20, '0')}`, kind: 'comment' as const, createdAt: T0, text: `Note ${i}.`, purpose: 'comment' as const, caseId: entry.caseId }));
    await w.ledger.swap(entry, { ...entry, outbox: owed });
    const first = await runOutbox(KEY, w.deps);
    const c = w.dd.cases[0]!;
    const sent = new Set(c.comments.map((m) => m.split('\n').at(-1)));
    expect(first.done.length).toBe(sent.size);
    expect(sent.size).toBeGreaterThan(0);
    // Whatever this run sent is no longer owed: no later worker has to guess whether it went.
    const left = (await w.ledger.get(KEY.source, KEY.identity))!.outbox ?? [];
    expect(left.filter((a) => sent.has(updateMarkerLine(a.id)))).toEqual([]);

    w.advance(WATCHDOG_DELAY_SECONDS * 1000);
    expect((await runOutbox(KEY, w.deps)).status).toBe('done');
    expect(c.comments).toHaveLength(40);
  });

  it("a worker whose claim is taken over after its comment went, before the close, writes nothing on the new worker's claim; that worker finds the comment by its marker (#15)", async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    w.advance(60_000);
    let asked = 0;
    let taken: number | undefined;
    // The budget's answer for the close takes longer than the claim: another worker takes the outbox over meanwhile.
    const gate: Gate = async () => {
      if ((asked += 1) === 2) {
        w.advance(CLAIM_MS + 1);
        const e = (await w.ledger.get(KEY.source, KEY.identity))!;
        expect(await w.ledger.swap(e, claimed(e, 'second', w.now()))).toBe(true);
        taken = (await w.ledger.get(KEY.source, KEY.identity))?.rev;
      }
      return { go: true };
    };
    const outcome = await runLifecycle(resolved(), { ...w.deps, gate });
    expect(outcome).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    const c = w.dd.cases[0]!;
    expect(c.comments).toHaveLength(1);
    expect(c.status).toBe('OPEN');
    expect((await w.ledger.get(KEY.source, KEY.identity))?.rev).toBe(taken);

    expect((await runOutbox(KEY, w.deps, 'second')).status).toBe('done');
    expect(c.comments).toHaveLength(1);
    expect(c.status).toBe('CLOSED');
  });

  it('a slot the rate budget refuses (#15): nothing sent, the slot kept on the action, a trigger re-armed just before it; back early, the run waits for its slot and sends once', async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    w.advance(60_000);
    const slot = w.now() + 4_500;
    const tickets: (number | undefined)[] = [];
    const gate: Gate = async (action, now) => {
      tickets.push(action.slotAt);
      return now >= slot ? { go: true } : { notBefore: slot };
    };
    const slept: number[] = [];
    const deps: OutboxDeps = { ...w.deps, gate, paceWaitMs: 3_000, sleep: async (ms) => {
        slept.push(ms);
        w.advance(ms);
      },
    };
    const outcome = await runLifecycle(resolved(), deps);
    expect(outcome).toMatchObject({ status: 'updated', reason: 'resolved_closed', queued: ['pending'] });
    expect(w.dd.cases[0]).toMatchObject({ status: 'OPEN', comments: [] });
    const waiting = await w.ledger.get(KEY.source, KEY.identity);
    expect(waiting?.claimId).toBeUndefined();
    // Nothing was sent: no guard is owed (no timeline read when it comes back).
    expect(waiting?.outbox?.[0]).toMatchObject({ kind: 'comment', notBefore: slot, slotAt: slot, claimedBy: undefined, sentAt: undefined });
    expect(waiting?.outbox?.[0]?.guard).not.toBe(true);
    expect(w.queue.armed.at(-1)?.delaySeconds).toBe(4);

    w.advance(4_000);
    const run = await runOutbox(KEY, deps);
    expect(run.status).toBe('done');
    expect(slept).toEqual([500]);
    // The comment handed its slot back as its ticket; the status change after it asked for its own.
    expect(tickets).toEqual([undefined, slot, undefined]);
    expect(w.dd.cases[0]?.status).toBe('CLOSED');
    expect(w.dd.cases[0]?.comments).toHaveLength(1);
    expect(w.queue.retries).toEqual([]);
  });

  it('a resolve older than the latest firing does not close; one at or after it does', async () => {
    const w = world();
    await runLifecycle({ ...firing(), occurredAt: T0 + 10_000 }, w.deps);
    w.advance(20_000);
    expect(await runLifecycle({ ...resolved(), occurredAt: T0 + 5_000 }, w.deps)).toMatchObject({ status: 'deduplicated', reason: 'stale_resolve' });
    expect(w.dd.cases[0]?.status).toBe('OPEN');
    expect(await runLifecycle({ ...resolved(), occurredAt: T0 + 10_000 }, w.deps)).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    expect(w.dd.cases[0]?.status).toBe('CLOSED');
  });

  it('a comment a crashed worker may have posted is found by its marker line in the timeline and not posted again', async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    const entry = await w.ledger.get(KEY.source, KEY.identity);
    // A worker wrote the transition and posted the comment, then died before recording it.
    const action = { id: 'cbu00000000000000000001', kind: 'comment' as const, createdAt: T0, text: 'Resolved.', purpose: 'comment' as const, caseId: entry?.caseId, claimedBy: 'dead', sentAt: T0 };
    await w.ledger.swap(entry, { ...entry!, outbox: [action], claimId: 'dead', claimUntil: T0 + CLAIM_MS });
    await w.dd.addComment(entry!.caseId!, `Resolved.\n\n${updateMarkerLine(action.id)}`, { apiKey: 'a', appKey: 'b' });
    expect((await runOutbox(KEY, w.deps)).status).toBe('busy'); // its claim is still live
    w.advance(CLAIM_MS);
    expect((await runOutbox(KEY, w.deps)).status).toBe('done');
    expect(w.dd.cases[0]?.comments).toHaveLength(1);
    expect((await w.ledger.get(KEY.source, KEY.identity))?.outbox).toEqual([]);
  });

  it('a guarded comment with time left for one Datadog call reads the timeline and stops before posting (the watchdog posts it)', async () => {
    const w = world();
    await guardedComment(w, 'cbu00000000000000000003');
    let elapsed = 0;
    const slow = new Proxy(w.dd, {
      get: (t, p, r) => {
        const v = Reflect.get(t, p, r) as unknown;
        return typeof v === 'function' ? (...a: unknown[]) => ((elapsed += 4_500), (v as (...x: unknown[]) => unknown).apply(t, a)) : v;
      },
    });
    // 7 s left: one 5 s Datadog call and the answer fit, two do not.
    const run = await runOutbox(KEY, { ...w.deps, datadog: slow, remainingMs: () => 7_000 - elapsed });
    expect(elapsed).toBeLessThanOrEqual(7_000);
    expect(run.status).toBe('left');
    w.advance(CLAIM_MS + 1);
    expect((await runOutbox(KEY, w.deps)).status).toBe('done');
    expect(w.dd.cases[0]?.comments).toHaveLength(1);
  });

  it('a comment given up in flight at the sender\'s deadline, that Datadog posts 3 s later, is posted once: the next worker trusts its absence from the timeline only once the call would have met its own deadline (#15)', async () => {
    const w = world();
    await runLifecycle(firing(), w.deps);
    const entry = (await w.ledger.get(KEY.source, KEY.identity))!;
    // The ingest sent the comment, gave it up at its sender's deadline and released the entry; Datadog is still on it.
    const action = { id: 'cbu00000000000000000009', kind: 'comment' as const, createdAt: w.now(), text: 'Resolved.', purpose: 'comment' as const, caseId: entry.caseId, claimedBy: 'ingest', sentAt: w.now() };
    await w.ledger.swap(entry, { ...entry, outbox: [action] });
    const lands = () => w.dd.addComment(entry.caseId!, `Resolved.\n\n${updateMarkerLine(action.id)}`, { apiKey: 'a', appKey: 'b' });
    // Its retry comes 1 s later: the timeline does not show the comment yet.
    w.advance(1_000);
    const early = await runOutbox(KEY, w.deps);
    expect(w.dd.cases[0]?.comments).toHaveLength(0);
    expect(early.status).toBe('waiting');
    w.advance(2_000);
    await lands();
    w.advance(Math.max(0, (early.dueAt ?? 0) - w.now()));
    expect((await runOutbox(KEY, w.deps)).status).toBe('done');
    expect(w.dd.cases[0]?.comments).toHaveLength(1);
  });

  it('a guarded comment whose timeline read and post outlast the first claim renews it, so a worker arriving after the first claimUntil does not post it again', async () => {
    const w = world();
    const action = await guardedComment(w, 'cbu00000000000000000004');
    const claimedAt = w.now();
    let second: Awaited<ReturnType<typeof runOutbox>> | undefined;
    // The timeline read takes 15 s; the post 6 s, and a second worker comes 1 s after the first claim's end, before the post lands.
    const slow: DatadogClient = {
      ...w.dd,
      listComments: async (...a) => (w.advance(15_000), w.dd.listComments(...a)),
      addComment: async (...a) => {
        w.advance(claimedAt + CLAIM_MS + 1_000 - w.now());
        second = await runOutbox(KEY, w.deps);
        w.advance(5_000);
        return w.dd.addComment(...a);
      },
    };
    const first = await runOutbox(KEY, { ...w.deps, datadog: slow });

    expect(first.status).toBe('done');
    expect(second?.status).toBe('busy');
    expect(w.dd.cases[0]?.comments.filter((c) => c.includes(updateMarkerLine(action.id)))).toHaveLength(1);
  });

  it('a claim taken over while the guard read ran: the first worker does not post', async () => {
    const w = world();
    const action = await guardedComment(w, 'cbu00000000000000000005');
    // The read takes longer than the whole claim, and another worker takes over and finishes meanwhile.
    const slow: DatadogClient = {
      ...w.dd,
      listComments: async (...a) => {
        const read = await w.dd.listComments(...a);
        w.advance(CLAIM_MS + 1);
        expect((await runOutbox(KEY, w.deps)).status).toBe('done');
        return read;
      },
    };
    const first = await runOutbox(KEY, { ...w.deps, datadog: slow });

    expect(first.status).not.toBe('done');
    expect(w.dd.cases[0]?.comments.filter((c) => c.includes(updateMarkerLine(action.id)))).toHaveLength(1);
  });

  describe('a post answered 401 is tried again with re-read keys only under the claim (#13)', () => {
    const unauthorized = () => new DatadogError('Datadog answered 401', { status: 401, retryable: false });

    it('a key re-read that leaves the claim too short renews it first: a worker arriving after the first claimUntil finds it busy, and the comment is posted once', async () => {
      const w = world();
      const action = await guardedComment(w, 'cbu00000000000000000006');
      const claimedAt = w.now();
      let second: Awaited<ReturnType<typeof runOutbox>> | undefined;
      let posts = 0;
      const flaky: DatadogClient = {
        ...w.dd,
        addComment: async (...a) => {
          posts += 1;
          if (posts === 1) throw unauthorized();
          // The second try is slow: another worker comes 1 s after the first claim would have ended.
          w.advance(claimedAt + CLAIM_MS + 1_000 - w.now());
          second = await runOutbox(KEY, w.deps);
          return w.dd.addComment(...a);
        },
      };
      // Secrets Manager takes 15 s to answer the re-read: 5 s of the claim are left, less than the call and its write.
      const keys = { get: w.deps.keys.get, refresh: async () => (w.advance(15_000), { apiKey: 'a2', appKey: 'b2' }) };
      const first = await runOutbox(KEY, { ...w.deps, datadog: flaky, keys });

      expect(first.status).toBe('done');
      expect(second?.status).toBe('busy');
      expect(posts).toBe(2);
      expect(w.dd.cases[0]?.comments.filter((c) => c.includes(updateMarkerLine(action.id)))).toHaveLength(1);
    });

    it('a claim taken over during the key re-read: the first worker does not try again', async () => {
      const w = world();
      const action = await guardedComment(w, 'cbu00000000000000000007');
      let posts = 0;
      const flaky: DatadogClient = { ...w.dd, addComment: async (...a) => ((posts += 1), posts === 1 ? Promise.reject(unauthorized()) : w.dd.addComment(...a)) };
      // The re-read outlasts the whole claim, and another worker takes over and posts meanwhile.
      const keys = {
        get: w.deps.keys.get,
        refresh: async () => {
          w.advance(CLAIM_MS + 1);
          expect((await runOutbox(KEY, w.deps)).status).toBe('done');
          return { apiKey: 'a2', appKey: 'b2' };
        },
      };
      const first = await runOutbox(KEY, { ...w.deps, datadog: flaky, keys });

      expect(first.status).toBe('left');
      expect(posts).toBe(1);
      expect(w.dd.cases[0]?.comments.filter((c) => c.includes(updateMarkerLine(action.id)))).toHaveLength(1);
    });
  });

  it('a firing sent after the latest resolve reopens, even when that resolve reached the bridge late', async () => {
    const w = world();
    await runLifecycle({ ...firing(), occurredAt: T0 }, w.deps);
    // The resolve, sent at T0 + 10 s, reaches the bridge at T0 + 40 s (the sender's retry, a deferral).
    w.advance(40_000);
    expect(await runLifecycle({ ...resolved(), occurredAt: T0 + 10_000 }, w.deps)).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    // The alert fired again at T0 + 20 s, after it resolved; that delivery arrives at T0 + 50 s.
    w.advance(10_000);
    expect(await runLifecycle({ ...firing(), occurredAt: T0 + 20_000 }, w.deps)).toMatchObject({ reason: 'reopened' });
    expect(w.dd.cases[0]?.status).toBe('OPEN');
  });
});

describe('a resolve while its create waits for a rate-limit slot (#15)', () => {
  it('is deferred until the slot, not counted as a failed attempt: a backlog longer than the deferrals\' backoff does not dead-letter it', async () => {
    const w = world();
    // A storm's backlog: the budget's first free slot for this create is 700 s away.
    const slot = T0 + 700_000;
    const gate: Gate = () => (w.now() < slot ? { notBefore: slot } : { go: true });
    const deps = { ...w.deps, gate };
    expect(await runLifecycle(firing(), deps)).toMatchObject({ status: 'queued' });
    expect((await w.ledger.get(KEY.source, KEY.identity))?.outbox?.[0]).toMatchObject({ kind: 'create', notBefore: slot, slotAt: slot });
    // The resolve comes back again and again (each deferral the retry function runs), the last one the
    // eighth: none of them is dead-lettered while the create waits for its slot.
    w.advance(60_000);
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const outcome = await runLifecycle({ ...resolved(), attempt: 7 }, deps);
      expect(outcome).toMatchObject({ status: 'queued', reason: 'resolve_deferred' });
      expect(w.queue.deadLetters).toHaveLength(0);
      const deferred = w.queue.retries.at(-1)!;
      expect(deferred.action).toMatchObject({ kind: 'lifecycle_event', attempt: 7 });
      // Back after the slot: by then the case exists.
      expect(w.now() + deferred.delaySeconds * 1000).toBeGreaterThan(slot);
    }
    // The slot comes, the create goes; the resolve, run again then, closes the case.
    w.advance(slot - w.now());
    expect(await runOutbox(KEY, deps)).toMatchObject({ status: 'done' });
    expect(await runLifecycle({ ...resolved(), attempt: 7 }, deps)).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    expect(w.dd.cases[0]?.status).toBe('CLOSED');
  });
});
