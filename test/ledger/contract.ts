import { describe, expect, it } from 'vitest';
import { dedupMarker } from '../../lambda/ledger/marker.js';
import { ABANDONED_STATUS, type Ledger } from '../../lambda/ledger/types.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
let counter = 0;
/** A fresh alert key per test (the table is shared within a file). */
function key(): { source: string; identity: string } {
  counter += 1;
  return { source: 'alertmanager', identity: `webhook/{}:{alertname="Disk${counter}"}` };
}

/** The behaviour every Ledger implementation must have. `ledger()` gives one backed by a clean or shared store. */
export function ledgerContract(name: string, ledger: () => Ledger): void {
  describe(`${name}: create intents`, () => {
    it('beginCreate records a creating intent with the marker; a second one gets the existing entry', async () => {
      const l = ledger();
      const k = key();
      const first = await l.beginCreate({ ...k, now: T0, rule: 'page' });
      expect(first.won).toBe(true);
      expect(first.entry).toMatchObject({ ...k, state: 'creating', generation: 0, marker: dedupMarker(k.source, k.identity), occurrences: 1, commentedOccurrences: 1, firstSeen: T0, lastSeen: T0, rule: 'page', reopenCount: 0 });
      const second = await l.beginCreate({ ...k, now: T0 + 5 });
      expect(second.won).toBe(false);
      expect(second.entry).toEqual(first.entry);
      expect(await l.get(k.source, k.identity)).toEqual(first.entry);
    });

    it('10 concurrent beginCreate: exactly one winner, all see the same intent', async () => {
      const l = ledger();
      const k = key();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => l.beginCreate({ ...k, now: T0 + i })));
      const winners = results.filter((r) => r.won);
      expect(winners).toHaveLength(1);
      const intentIds = new Set(results.map((r) => r.entry.intentId));
      expect(intentIds.size).toBe(1);
      expect(intentIds.has(winners[0]!.entry.intentId)).toBe(true);
    });

    it('completeCreate only for the current intent; then the entry is open with the case', async () => {
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      expect(await l.completeCreate(k, 'someone-else', { caseId: 'x', caseKey: 'DDFC-0' }, T0 + 1)).toBeUndefined();
      const done = await l.completeCreate(k, entry.intentId, { caseId: 'case-1', caseKey: 'DDFC-1' }, T0 + 2);
      expect(done).toMatchObject({ state: 'open', caseId: 'case-1', caseKey: 'DDFC-1', openedAt: T0 + 2 });
      // Completing twice (a retried create) fails: the intent is no longer creating.
      expect(await l.completeCreate(k, entry.intentId, { caseId: 'case-2', caseKey: 'DDFC-2' }, T0 + 3)).toBeUndefined();
      expect((await l.get(k.source, k.identity))?.caseId).toBe('case-1');
    });

    it('takeOverCreate: one of two concurrent takeovers of a stale intent wins, with a new intent id', async () => {
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      const [a, b] = await Promise.all([l.takeOverCreate(k, entry.intentId, T0 + 4_000_000), l.takeOverCreate(k, entry.intentId, T0 + 4_000_000)]);
      expect([a.won, b.won].filter(Boolean)).toHaveLength(1);
      const winner = a.won ? a : b;
      expect(winner.entry.intentId).not.toBe(entry.intentId);
      expect(winner.entry.createStartedAt).toBe(T0 + 4_000_000);
      // The old owner can no longer complete.
      expect(await l.completeCreate(k, entry.intentId, { caseId: 'late', caseKey: undefined }, T0 + 4_000_001)).toBeUndefined();
    });

    it('abandonCreate drops the intent so the next delivery can begin again', async () => {
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      expect(await l.abandonCreate(k, 'other')).toBe(false);
      expect(await l.abandonCreate(k, entry.intentId)).toBe(true);
      expect(await l.get(k.source, k.identity)).toBeUndefined();
      expect((await l.beginCreate({ ...k, now: T0 + 1 })).won).toBe(true);
    });

    it('markCreateAmbiguous keeps the intent and names it; only for the current creating intent (#4)', async () => {
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      expect(await l.markCreateAmbiguous(k, 'other')).toBe(false);
      expect(await l.markCreateAmbiguous(k, entry.intentId)).toBe(true);
      expect(await l.get(k.source, k.identity)).toEqual({ ...entry, ambiguousIntentId: entry.intentId, rev: 1 });
      // A take-over gives a new intent id, which the flag does not name.
      const taken = await l.takeOverCreate(k, entry.intentId, T0 + 5);
      expect(taken.won).toBe(true);
      expect(taken.entry.ambiguousIntentId).not.toBe(taken.entry.intentId);
      await l.completeCreate(k, taken.entry.intentId, { caseId: 'case-1', caseKey: 'DDFC-1' }, T0 + 6);
      expect(await l.markCreateAmbiguous(k, taken.entry.intentId)).toBe(false);
    });
  });

  describe(`${name}: occurrences and transitions`, () => {
    async function openCase(l: Ledger, k: { source: string; identity: string }) {
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      const open = await l.completeCreate(k, entry.intentId, { caseId: 'case-9', caseKey: 'DDFC-9' }, T0 + 10);
      return open!;
    }

    it('recordOccurrence adds one and moves lastSeen; never creates an entry', async () => {
      const l = ledger();
      const k = key();
      expect(await l.recordOccurrence(k, T0)).toBeUndefined();
      expect(await l.get(k.source, k.identity)).toBeUndefined();
      await openCase(l, k);
      await Promise.all([1, 2, 3, 4, 5].map((i) => l.recordOccurrence(k, T0 + i * 1000)));
      const entry = await l.get(k.source, k.identity);
      expect(entry?.occurrences).toBe(6);
      expect(entry?.lastSeen).toBeGreaterThanOrEqual(T0 + 1000);
      expect(entry?.firstSeen).toBe(T0);
    });

    it('markCommented is claimed once per previous comment time (concurrent repeats comment once)', async () => {
      const l = ledger();
      const k = key();
      await openCase(l, k);
      const claims = await Promise.all(Array.from({ length: 5 }, () => l.markCommented(k, { caseId: 'case-9', at: T0 + 900_000, occurrences: 4, previousCommentAt: undefined })));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await l.get(k.source, k.identity)).toMatchObject({ lastCommentAt: T0 + 900_000, commentedOccurrences: 4 });
      expect(await l.markCommented(k, { caseId: 'case-9', at: T0 + 1_800_000, occurrences: 6, previousCommentAt: T0 + 900_000 })).toBe(true);
      expect(await l.markCommented(k, { caseId: 'other-case', at: T0 + 2_800_000, occurrences: 7, previousCommentAt: T0 + 1_800_000 })).toBe(false);
    });

    it('open -> closed -> reopened -> resolved -> open, each transition won once', async () => {
      const l = ledger();
      const k = key();
      await openCase(l, k);
      expect(await l.markReopened(k, { caseId: 'case-9', at: T0, from: 'closed' })).toBe(false);
      const closes = await Promise.all([1, 2, 3].map(() => l.markClosed(k, { caseId: 'case-9', at: T0 + 100, by: 'bridge', status: 'CLOSED', comment: { at: T0 + 100, occurrences: 1 } })));
      expect(closes.filter(Boolean)).toHaveLength(1);
      expect(await l.get(k.source, k.identity)).toMatchObject({ state: 'closed', closedAt: T0 + 100, closedBy: 'bridge', closedStatus: 'CLOSED', lastCommentAt: T0 + 100 });
      // A human changes the closed case's status to won't fix: recorded while closed.
      expect(await l.markClosed(k, { caseId: 'case-9', at: T0 + 100, by: 'human', status: "Won't fix" })).toBe(true);
      expect((await l.get(k.source, k.identity))?.closedStatus).toBe("Won't fix");
      const reopens = await Promise.all([1, 2].map(() => l.markReopened(k, { caseId: 'case-9', at: T0 + 200, from: 'closed', comment: { at: T0 + 200, occurrences: 2 } })));
      expect(reopens.filter(Boolean)).toHaveLength(1);
      const reopened = await l.get(k.source, k.identity);
      expect(reopened).toMatchObject({ state: 'open', openedAt: T0 + 200, reopenCount: 1, commentedOccurrences: 2 });
      expect(reopened?.closedAt).toBeUndefined();
      expect(reopened?.closedStatus).toBeUndefined();
      expect(await l.markResolved(k, { caseId: 'case-9', at: T0 + 300 })).toBe(true);
      expect(await l.markResolved(k, { caseId: 'case-9', at: T0 + 300 })).toBe(false);
      expect(await l.markReopened(k, { caseId: 'case-9', at: T0 + 400, from: 'resolved' })).toBe(true);
      expect(await l.get(k.source, k.identity)).toMatchObject({ state: 'open', reopenCount: 1 });
    });

    it('a closed entry is replaced by a new intent with generation + 1 (new case after the window), once', async () => {
      const l = ledger();
      const k = key();
      await openCase(l, k);
      await l.markClosed(k, { caseId: 'case-9', at: T0 + 100, by: 'bridge', status: 'CLOSED' });
      const closed = (await l.get(k.source, k.identity))!;
      // Without `replacing`, a closed entry still blocks.
      expect((await l.beginCreate({ ...k, now: T0 + 200 })).won).toBe(false);
      const results = await Promise.all([1, 2, 3].map(() => l.beginCreate({ ...k, now: T0 + 90_000_000, replacing: closed })));
      expect(results.filter((r) => r.won)).toHaveLength(1);
      const entry = await l.get(k.source, k.identity);
      expect(entry).toMatchObject({ state: 'creating', generation: 1, marker: dedupMarker(k.source, k.identity, 1), firstSeen: T0, occurrences: 1 });
      expect(entry?.caseId).toBeUndefined();
    });

    it('abandonCreate of a later generation keeps the alert, closed without a case, and its generation: the next case gets a marker of its own (#4)', async () => {
      const l = ledger();
      const k = key();
      await openCase(l, k);
      await l.markClosed(k, { caseId: 'case-9', at: T0 + 100, by: 'bridge', status: 'CLOSED' });
      const { entry: intent } = await l.beginCreate({ ...k, now: T0 + 90_000_000, replacing: (await l.get(k.source, k.identity))! });
      await l.markCreateAmbiguous(k, intent.intentId);

      expect(await l.abandonCreate(k, 'other')).toBe(false);
      expect(await l.abandonCreate(k, intent.intentId)).toBe(true);
      const abandoned = (await l.get(k.source, k.identity))!;
      expect(abandoned).toMatchObject({ state: 'closed', generation: 1, closedBy: 'bridge', closedStatus: ABANDONED_STATUS });
      expect(abandoned.caseId).toBeUndefined();
      expect(abandoned.ambiguousIntentId).toBeUndefined();
      expect(await l.abandonCreate(k, intent.intentId)).toBe(false);

      // Without `replacing` it still blocks; replacing it (once, of three at a time) gives generation 2.
      expect((await l.beginCreate({ ...k, now: T0 + 90_000_100 })).won).toBe(false);
      const results = await Promise.all([1, 2, 3].map(() => l.beginCreate({ ...k, now: T0 + 90_000_200, replacing: abandoned })));
      expect(results.filter((r) => r.won)).toHaveLength(1);
      expect(await l.get(k.source, k.identity)).toMatchObject({ state: 'creating', generation: 2, marker: dedupMarker(k.source, k.identity, 2) });
    });
  });

  describe(`${name}: delivery ids`, () => {
    it('the same delivery sent 5 times: first true, the rest false', async () => {
      const l = ledger();
      const id = `d-${(counter += 1)}`;
      const seen = [];
      for (let i = 0; i < 5; i += 1) seen.push(await l.rememberDelivery('github', id, T0 + i * 1000));
      expect(seen).toEqual([true, false, false, false, false]);
      // Per source: the same id from another sender is another delivery.
      expect(await l.rememberDelivery('sentry', id, T0)).toBe(true);
    });

    it('5 concurrent sends of one delivery: exactly one true', async () => {
      const l = ledger();
      const id = `d-${(counter += 1)}`;
      const seen = await Promise.all(Array.from({ length: 5 }, () => l.rememberDelivery('pagerduty', id, T0)));
      expect(seen.filter(Boolean)).toHaveLength(1);
    });

    it('an expired delivery id (past its TTL, not yet deleted) counts as new', async () => {
      const l = ledger();
      const id = `d-${(counter += 1)}`;
      expect(await l.rememberDelivery('github', id, T0)).toBe(true);
      expect(await l.rememberDelivery('github', id, T0 + 86_399_000)).toBe(false);
      expect(await l.rememberDelivery('github', id, T0 + 86_400_000)).toBe(true);
      expect(await l.rememberDelivery('github', id, T0 + 86_401_000)).toBe(false);
      expect(await l.rememberDelivery('github', `${id}-short`, T0, 60)).toBe(true);
      expect(await l.rememberDelivery('github', `${id}-short`, T0 + 61_000, 60)).toBe(true);
    });
  });

  describe(`${name}: the outbox's conditional write (#13)`, () => {
    it('swap writes the outbox with the transition; of 5 concurrent swaps from one read exactly one wins; rev counts', async () => {
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      const action = { id: 'cbu0', kind: 'comment' as const, createdAt: T0, text: 'hi', purpose: 'comment' as const, claimedBy: 'w1', sentAt: T0 };
      const wins = await Promise.all([1, 2, 3, 4, 5].map((i) => l.swap(entry, { ...entry, state: 'open', caseId: `c${i}`, outbox: [action], claimId: 'w1', claimUntil: T0 + 20_000 })));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const stored = await l.get(k.source, k.identity);
      expect(stored).toMatchObject({ state: 'open', rev: 1, outbox: [action], claimId: 'w1', claimUntil: T0 + 20_000 });
      // The next swap needs rev 1; a stale read loses.
      expect(await l.swap(entry, { ...entry, state: 'closed' })).toBe(false);
      expect(await l.swap(stored!, { ...stored!, outbox: [], claimId: undefined, claimUntil: undefined })).toBe(true);
      const done = await l.get(k.source, k.identity);
      expect(done).toMatchObject({ rev: 2, outbox: [] });
      expect(done?.claimId).toBeUndefined();
    });

    it('swap keeps an occurrence counted meanwhile, and a put from nothing fails when the entry exists', async () => {
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      await l.recordOccurrence(k, T0 + 1, T0 + 1);
      expect(await l.swap(entry, { ...entry, state: 'open', caseId: 'c' })).toBe(true);
      expect(await l.get(k.source, k.identity)).toMatchObject({ occurrences: 2, state: 'open', lastFiringAt: T0 + 1 });
      expect(await l.swap(undefined, { ...entry })).toBe(false);
    });

    it("a swap read before a human close or reopen (the verify path's writes) loses its condition", async () => {
      // A resolve decided on a read taken before the case was seen closed "Won't fix" must decide again,
      // not close it with the bridge's status; a new case decided before a human reopen must not replace it.
      const l = ledger();
      const k = key();
      const { entry } = await l.beginCreate({ ...k, now: T0 });
      expect(await l.swap(entry, { ...entry, state: 'open', caseId: 'c9' })).toBe(true);
      const open = (await l.get(k.source, k.identity))!;
      expect(await l.markClosed(k, { caseId: 'c9', at: T0 + 5, by: 'human', status: "Won't fix" })).toBe(true);
      expect(await l.swap(open, { ...open, state: 'closed', closedBy: 'bridge', closedStatus: 'CLOSED', outbox: [{ id: 'cbu1', kind: 'status', createdAt: T0, status: 'CLOSED' }] })).toBe(false);
      expect(await l.get(k.source, k.identity)).toMatchObject({ state: 'closed', closedBy: 'human', closedStatus: "Won't fix" });
      const closed = (await l.get(k.source, k.identity))!;
      expect(await l.markReopened(k, { caseId: 'c9', at: T0 + 6, from: 'closed' })).toBe(true);
      expect(await l.swap(closed, { ...closed, state: 'creating', generation: 1, caseId: undefined })).toBe(false);
      expect(await l.get(k.source, k.identity)).toMatchObject({ state: 'open', caseId: 'c9', generation: 0 });
    });

    it('recordOccurrence only moves lastFiringAt forward', async () => {
      const l = ledger();
      const k = key();
      await l.beginCreate({ ...k, now: T0 });
      await l.recordOccurrence(k, T0 + 10, T0 + 10);
      await l.recordOccurrence(k, T0 + 20, T0 + 5);
      expect(await l.get(k.source, k.identity)).toMatchObject({ occurrences: 3, lastFiringAt: T0 + 10, lastSeen: T0 + 20 });
    });

    it("recordOccurrence comes to the same entry whatever the caller saw of lastFiringAt (the hint)", async () => {
      const l = ledger();
      const k = key();
      await l.beginCreate({ ...k, now: T0 });
      await l.recordOccurrence(k, T0 + 10, T0 + 10);
      // A repeat with its alert's start, read as it is: counted, lastFiringAt kept.
      expect(await l.recordOccurrence(k, T0 + 20, T0 + 10, T0 + 10)).toMatchObject({ occurrences: 3, lastFiringAt: T0 + 10, lastSeen: T0 + 20 });
      // A hint later than what is stored (a stale or wrong read): lastFiringAt still moves forward.
      expect(await l.recordOccurrence(k, T0 + 30, T0 + 30, T0 + 40)).toMatchObject({ occurrences: 4, lastFiringAt: T0 + 30, lastSeen: T0 + 30 });
      // An earlier firing with a hint: counted, lastFiringAt not moved back.
      expect(await l.recordOccurrence(k, T0 + 50, T0 + 5, T0 + 30)).toMatchObject({ occurrences: 5, lastFiringAt: T0 + 30, lastSeen: T0 + 50 });
      expect(await l.recordOccurrence({ ...k, identity: `${k.identity}-none` }, T0 + 60, T0 + 60, T0 + 60)).toBeUndefined();
    });

    it('claimDelivery: claimed, then in progress until finished or stale; done after finishDelivery', async () => {
      const l = ledger();
      const id = `d-${key().identity}`;
      expect(await l.claimDelivery('pagerduty', id, T0, 20_000)).toBe('claimed');
      expect(await l.claimDelivery('pagerduty', id, T0 + 1_000, 20_000)).toBe('in_progress');
      // The worker died before storing its outcome: the sender's retry takes it over after the claim.
      expect(await l.claimDelivery('pagerduty', id, T0 + 21_000, 20_000)).toBe('claimed');
      await l.finishDelivery('pagerduty', id, T0 + 22_000);
      expect(await l.claimDelivery('pagerduty', id, T0 + 60_000, 20_000)).toBe('done');
    });
  });

  describe(`${name}: occurrence threshold counts (#17)`, () => {
    const WINDOW = 60_000;

    it('counts each firing key once, atomically: 20 concurrent counts of 10 keys (each sent twice) hold 10 firings', async () => {
      const l = ledger();
      const k = key();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => l.countFiring(k, { key: `d${i % 10}`, at: T0 + i }, WINDOW)));
      // Each answer includes its own firing; the counts seen are those of some order of the writes.
      for (const [i, r] of results.entries()) expect(Object.keys(r.firings)).toContain(`d${i % 10}`);
      const last = await l.countFiring(k, { key: 'd0', at: T0 + 30 }, WINDOW);
      expect(Object.keys(last.firings).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `d${i}`).sort());
      // A retried key keeps its first time.
      expect(last.firings['d0']).toBeLessThanOrEqual(T0 + 10);
      expect(last.resetAt).toBeUndefined();
    });

    it('drops the firings older than the window before this one', async () => {
      const l = ledger();
      const k = key();
      await l.countFiring(k, { key: 'a', at: T0 }, WINDOW);
      await l.countFiring(k, { key: 'b', at: T0 + 30_000 }, WINDOW);
      expect((await l.countFiring(k, { key: 'c', at: T0 + 60_000 }, WINDOW)).firings).toEqual({ a: T0, b: T0 + 30_000, c: T0 + 60_000 });
      expect((await l.countFiring(k, { key: 'd', at: T0 + 60_001 }, WINDOW)).firings).toEqual({ b: T0 + 30_000, c: T0 + 60_000, d: T0 + 60_001 });
      expect((await l.countFiring(k, { key: 'e', at: T0 + 200_000 }, WINDOW)).firings).toEqual({ e: T0 + 200_000 });
    });

    it('resetFirings removes the firings at or before the resolve and records it; a later count starts after it', async () => {
      const l = ledger();
      const k = key();
      expect(await l.resetFirings(k, T0)).toBeUndefined();
      await l.countFiring(k, { key: 'a', at: T0 }, WINDOW);
      await l.countFiring(k, { key: 'b', at: T0 + 10 }, WINDOW);
      await l.countFiring(k, { key: 'c', at: T0 + 30 }, WINDOW);
      // The count as it was before the reset.
      expect(await l.resetFirings(k, T0 + 10)).toEqual({ firings: { a: T0, b: T0 + 10, c: T0 + 30 }, resetAt: undefined });
      // An older resolve delivered late changes nothing.
      expect(await l.resetFirings(k, T0 + 5)).toBeUndefined();
      const after = await l.countFiring(k, { key: 'd', at: T0 + 40 }, WINDOW);
      expect(after).toEqual({ firings: { c: T0 + 30, d: T0 + 40 }, resetAt: T0 + 10 });
    });
  });
}
