import { describe, expect, it } from 'vitest';
import { DURABLE_STEPS, type DurableStep } from '../../lambda/delivery/steps.js';
import { resolvePolicy } from '../../lambda/lifecycle/policy.js';
import type { AlertWork } from '../../lambda/lifecycle/work.js';
import { Crasher, drain, firing, ingest, lostAnswer, lostRequest, newWorld, note, paced, rateLimited, refused, resolved, snapshot, type World } from '../support/crash.js';

/**
 * Issue 13: the work is stopped at every durable step of every path (the code's own DURABLE_STEPS
 * hook), with and without the sender's retry, then the retry function drains the queue. Every run
 * must end with exactly the cases, comments and statuses of the uninterrupted run: 0 lost, 0 twice.
 */
interface Path {
  readonly name: string;
  /** Run uninterrupted before the event under test. */
  readonly setup: (w: World) => Promise<void>;
  /** The events under test (the crash may hit any of them, or the drain after them). */
  readonly events: (w: World) => AlertWork[];
  /** Datadog faults armed just before the events. */
  readonly faults?: (w: World) => void;
  /** The final status of the alert's last case in the uninterrupted run. */
  readonly ends: 'OPEN' | 'CLOSED' | 'no case';
  /** A second case: linked as the successor of the first (#17), or not (the link given up); nothing dead-lettered either way. */
  readonly linked?: boolean;
  /** The comments the alert's last case ends with in the uninterrupted run. */
  readonly comments?: number;
}

const MIN = 60_000;

async function fire(w: World, work: AlertWork): Promise<void> {
  await ingest(w, work);
  await drain(w);
}

/** Issue 17: a case opens on the third firing within 10 minutes; the firings carry delivery ids, so a retry counts once. */
const THRESHOLD = resolvePolicy({ open_after: { occurrences: 3, within_seconds: 600 } });
const counted = (deliveryId: string): AlertWork => ({ ...firing(), deliveryId, policy: THRESHOLD });

/** A case opened and closed, and the reopen window passed: the next firing makes a new case. */
async function afterTheWindow(w: World): Promise<void> {
  await fire(w, firing());
  await fire(w, resolved());
  w.clock += 2 * 24 * 60 * MIN;
}

const PATHS: readonly Path[] = [
  { name: 'first create', ends: 'OPEN', setup: async () => undefined, events: () => [firing()] },
  {
    name: 'repeat -> comment', ends: 'OPEN',
    setup: async (w) => {
      await fire(w, firing());
      w.clock += 16 * MIN;
    },
    events: () => [firing()],
  },
  { name: 'resolve -> close', ends: 'CLOSED', setup: (w) => fire(w, firing()), events: () => [resolved()] },
  {
    name: 'firing after close -> reopen', ends: 'OPEN',
    setup: async (w) => {
      await fire(w, firing());
      await fire(w, resolved());
      w.clock += MIN;
    },
    events: () => [firing()],
  },
  { name: 'firing after the reopen window -> new case, linked to the previous one', ends: 'OPEN', linked: true, setup: afterTheWindow, events: () => [firing()] },
  // Case lineage (#17): the new case's link to the previous one is an outbox action after the create.
  { name: 'new case: link answer lost -> found among the links, linked once', ends: 'OPEN', linked: true, setup: afterTheWindow, events: () => [firing()], faults: (w) => void (w.faults.linkSuccessor = [lostAnswer]) },
  { name: 'new case: link 429 -> retry function', ends: 'OPEN', linked: true, setup: afterTheWindow, events: () => [firing()], faults: (w) => void (w.faults.linkSuccessor = [rateLimited]) },
  { name: 'new case: link refused (400) -> given up, the case stands, nothing dead-lettered', ends: 'OPEN', linked: false, setup: afterTheWindow, events: () => [firing()], faults: (w) => void (w.faults.linkSuccessor = [refused]) },
  // Human notes (#17): each its own comment, once per note id, whoever finishes the work.
  { name: 'two notes, then the resolve', ends: 'CLOSED', comments: 3, setup: (w) => fire(w, firing()), events: () => [note('n1'), note('n2'), resolved()] },
  { name: 'note while the create is queued (429): behind it', ends: 'OPEN', comments: 1, setup: async () => undefined, events: (w) => ((w.faults.createCase = [rateLimited]), [firing(), note('n1')]) },
  { name: 'note: comment answer lost -> found in the timeline', ends: 'OPEN', comments: 1, setup: (w) => fire(w, firing()), events: () => [note('n1')], faults: (w) => void (w.faults.addComment = [lostAnswer]) },
  // Issue 15: the rate budget gives the create a slot a window away: the intent is written deferred to it, unclaimed.
  { name: 'first create deferred by the rate budget to a slot', ends: 'OPEN', setup: (w) => paced(w, { limit: 2, periodMs: 60_000 }), events: () => [firing()] },
  {
    name: 'first create deferred to a slot, then resolved and fired again before it: one case, open', ends: 'OPEN',
    setup: (w) => paced(w, { limit: 2, periodMs: 60_000 }),
    events: () => [firing(), resolved(), firing()],
  },
  {
    // The budget allows one update a window: the comment goes at once, the close gets the next window's slot
    // (the comment is recorded with the close's deferral).
    name: "resolve paced by the rate budget: the comment at once, the close at its slot", ends: 'CLOSED', comments: 1,
    setup: async (w) => {
      await fire(w, firing());
      w.clock = Math.ceil(w.clock / 61_200) * 61_200;
      await paced(w, { limit: 1, periodMs: 60_000 }, 0);
    },
    events: () => [resolved()],
  },
  { name: 'create 429 -> retry function', ends: 'OPEN', setup: async () => undefined, events: () => [firing()], faults: (w) => void (w.faults.createCase = [rateLimited]) },
  {
    name: 'deferred resolve: create 429, resolve while creating', ends: 'CLOSED',
    setup: async () => undefined,
    events: (w) => {
      w.faults.createCase = [rateLimited];
      return [firing(), resolved()];
    },
  },
  {
    name: 'firing -> resolved -> firing while the create is queued: ends open', ends: 'OPEN',
    setup: async () => undefined,
    events: (w) => {
      w.faults.createCase = [rateLimited];
      return [firing(), resolved(), firing()];
    },
  },
  {
    name: 'comment 429 -> retry function', ends: 'OPEN',
    setup: async (w) => {
      await fire(w, firing());
      w.clock += 16 * MIN;
    },
    events: () => [firing()],
    faults: (w) => void (w.faults.addComment = [rateLimited]),
  },
  { name: 'close: comment 429 -> retry function', ends: 'CLOSED', setup: (w) => fire(w, firing()), events: () => [resolved()], faults: (w) => void (w.faults.addComment = [rateLimited]) },
  { name: 'create answer lost -> looked up by marker', ends: 'OPEN', setup: async () => undefined, events: () => [firing()], faults: (w) => void (w.faults.createCase = [lostAnswer]) },
  { name: 'comment answer lost -> found in the timeline', ends: 'CLOSED', setup: (w) => fire(w, firing()), events: () => [resolved()], faults: (w) => void (w.faults.addComment = [lostAnswer]) },
  {
    // The comment never reached Datadog, and the guard's timeline read takes 15 s of the 20 s claim:
    // the claim is renewed before the post.
    name: 'comment lost on the way, slow timeline read -> claim renewed before the post', ends: 'CLOSED',
    setup: (w) => fire(w, firing()),
    events: () => [resolved()],
    faults: (w) => {
      w.faults.addComment = [lostRequest];
      w.slowTimeline.push(15_000);
    },
  },
  {
    // Issue 15: the comment never reached Datadog and the retry reads the timeline before the lost call's
    // own deadline (5 s after it was sent): it waits for that deadline, reads again, then posts once.
    name: 'comment lost on the way, timeline read within its deadline -> waits for it, posted once', ends: 'CLOSED', comments: 1,
    setup: (w) => fire(w, firing()),
    events: () => [resolved()],
    faults: (w) => void (w.faults.addComment = [lostRequest]),
  },
  {
    // Issue 13: ordered by the sender's time. The resolve was sent before the alert fired again, but reaches the bridge after that firing.
    name: 'resolve sent before a re-firing, delivered after it -> stays open', ends: 'OPEN',
    setup: async (w) => {
      await fire(w, firing());
      w.clock += 16 * MIN;
    },
    events: (w) => [{ ...firing(), occurredAt: w.clock - 1000 }, { ...resolved(), occurredAt: w.clock - 2000 }],
  },
  {
    name: 'open_after: two firings counted, the third opens the case', ends: 'OPEN',
    setup: async (w) => {
      await fire(w, counted('d1'));
      await fire(w, counted('d2'));
    },
    events: () => [counted('d3')],
  },
  {
    name: 'open_after: a resolve resets the count, three firings after it open the case', ends: 'OPEN',
    setup: async (w) => {
      await fire(w, counted('d1'));
      await fire(w, counted('d2'));
    },
    events: () => [{ ...resolved(), policy: THRESHOLD }, counted('d3'), counted('d4'), counted('d5')],
  },
  { name: 'create refused (400) -> dead letter', ends: 'no case', setup: async () => undefined, events: () => [firing()], faults: (w) => void (w.faults.createCase = Array.from({ length: 9 }, () => refused)) },
];

/** One run of a path: crash at hit `crashAt` (0: none); `retry`: the sender sends each event again after a crash. */
async function run(path: Path, crashAt: number, retry: boolean): Promise<{ world: World; crasher: Crasher; stuck: string; transitions: number }> {
  const w = newWorld();
  await path.setup(w);
  path.faults?.(w);
  const crasher = new Crasher(crashAt);
  const events = path.events(w);
  for (const work of events) {
    // The sender's time of the event: the path's own, else when it is sent (the sender's retry keeps it).
    const stamped = { ...work, occurredAt: work.occurredAt ?? w.clock };
    const answered = await ingest(w, stamped, crasher);
    if (!answered && retry) await ingest(w, stamped, crasher);
    w.clock += 1000;
  }
  let stuck = '';
  try {
    await drain(w, crasher);
  } catch (error) {
    stuck = `${(error as Error).message}: ${JSON.stringify(w.sqs.messages.map((m) => m.action.kind))}`;
  }
  return { world: w, crasher, stuck, transitions: crasher.trace.filter((s) => s === 'transition.written').length };
}

describe('crash points (#13)', () => {
  it('every durable step of every path, with and without the sender retry: the cases, comments and statuses of an uninterrupted run', { timeout: 120_000 }, async () => {
    let covered = 0;
    let points = 0;
    const hit = new Set<DurableStep>();
    const failures: string[] = [];
    for (const path of PATHS) {
      const ref = await run(path, 0, false);
      if (ref.stuck !== '') failures.push(`${path.name}: uninterrupted run: ${ref.stuck}`);
      const expected = snapshot(ref.world);
      expect(expected.cases.at(-1)?.status ?? 'no case', path.name).toBe(path.ends);
      if (path.comments !== undefined) expect(expected.cases.at(-1)?.comments.length, path.name).toBe(path.comments);
      if (path.linked !== undefined) expect({ cases: expected.cases.map((c) => c.succeeds), dlq: expected.dlq }, path.name).toEqual({ cases: [[], path.linked ? [0] : []], dlq: 0 });
      // No comment is posted twice in any case (the marker line names its outbox action).
      for (const c of expected.cases) expect(new Set(c.comments).size, path.name).toBe(c.comments.length);
      for (const step of ref.crasher.trace) {
        expect(DURABLE_STEPS).toContain(step);
        hit.add(step);
      }
      points += ref.crasher.trace.length;
      for (let i = 1; i <= ref.crasher.trace.length; i += 1) {
        for (const retry of [true, false]) {
          const got = await run(path, i, retry);
          // Without the sender's retry, an event stopped before its transition was never accepted (no 2xx): as if not sent.
          const stoppedBefore = !retry && got.crasher.trace.slice(0, i).filter((s) => s === 'transition.written').length < ref.transitions && got.crasher.trace[i - 1] !== 'transition.written';
          const actual = snapshot(got.world);
          if (got.stuck !== '') failures.push(`${path.name}: crash at #${i}, retry ${retry}: ${got.stuck}`);
          for (const c of actual.cases) if (new Set(c.comments).size !== c.comments.length) failures.push(`${path.name}: crash at #${i}: a comment posted twice`);
          const ok = JSON.stringify(actual) === JSON.stringify(expected) || (stoppedBefore && actual.cases.length <= expected.cases.length);
          if (!ok) failures.push(`${path.name}: crash at #${i} (${ref.crasher.trace[i - 1]}), retry ${retry}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
          covered += 1;
        }
      }
    }
    console.log(`crash points covered: ${covered} runs (${points} crash points x with/without the sender's retry) over ${PATHS.length} paths`);
    expect(failures).toEqual([]);
    expect(points).toBeGreaterThanOrEqual(60);
    expect([...hit].sort()).toEqual(expect.arrayContaining(['watchdog.armed', 'transition.written', 'claim.written', 'datadog.acted', 'action.completed', 'retry.enqueued', 'failure.recorded', 'threshold.counted', 'threshold.reset']));
  });
});
