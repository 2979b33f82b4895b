import { describe, expect, it } from 'vitest';
import type { CaseSummary } from '../../lambda/datadog/client.js';
import { decide, observeCase, type Decision, type DecisionReason, type LifecycleAction, type LifecycleEvent } from '../../lambda/lifecycle/decide.js';
import { DEFAULT_LIFECYCLE_POLICY, lifecycleSchemas, resolvePolicy, type LifecyclePolicy } from '../../lambda/lifecycle/policy.js';
import { dedupMarker } from '../../lambda/ledger/marker.js';
import { ABANDONED_STATUS, DELETED_STATUS, type LedgerEntry } from '../../lambda/ledger/types.js';
import { openLedgerEntry } from '../support/fakes.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

const base: LedgerEntry = openLedgerEntry({ source: 'alertmanager', identity: 'webhook/{}:{alertname="DiskFull"}' }, T0, { caseId: 'case-1', caseKey: 'DDFC-1' });

const creating: LedgerEntry = { ...base, state: 'creating', caseId: undefined, caseKey: undefined, openedAt: undefined };
const open: LedgerEntry = base;
const openBusy: LedgerEntry = { ...base, occurrences: 5, commentedOccurrences: 2, lastCommentAt: T0 + 20 * MIN };
const resolved: LedgerEntry = { ...base, state: 'resolved', resolvedAt: T0 + HOUR };
const closed: LedgerEntry = { ...base, state: 'closed', closedAt: T0 + HOUR, closedBy: 'bridge', closedStatus: 'CLOSED', occurrences: 3, commentedOccurrences: 3 };
const wontFix: LedgerEntry = { ...closed, closedBy: 'human', closedStatus: 'Won\u2019t Fix' };
const deleted: LedgerEntry = { ...closed, closedBy: 'human', closedStatus: DELETED_STATUS };
/** A generation-1 case that failed for good (abandonCreate): closed, no case. */
const abandoned: LedgerEntry = { ...creating, generation: 1, state: 'closed', closedBy: 'bridge', closedStatus: ABANDONED_STATUS };

const firing = (at: number, extra: Partial<LifecycleEvent> = {}): LifecycleEvent => ({ signal: 'firing', occurredAt: at, ...extra });
const resolve = (at: number, extra: Partial<LifecycleEvent> = {}): LifecycleEvent => ({ signal: 'resolved', occurredAt: at, ...extra });
const info = (at: number): LifecycleEvent => ({ signal: 'informational', occurredAt: at });

const create = (generation: number, over: Partial<Extract<LifecycleAction, { kind: 'create' }>> = {}): LifecycleAction => ({ kind: 'create', generation, replacing: false, takeOver: false, lookupFirst: false, ...over });
const comment = (reason: Extract<LifecycleAction, { kind: 'comment' }>['reason'], occurrences: number): LifecycleAction => ({ kind: 'comment', reason, occurrences });

interface Row {
  readonly name: string;
  readonly entry: LedgerEntry | undefined;
  readonly event: LifecycleEvent;
  readonly now?: number;
  readonly policy?: Partial<LifecyclePolicy>;
  readonly reason: DecisionReason;
  readonly actions: readonly LifecycleAction[];
  readonly record?: boolean;
  readonly verify?: boolean;
}

const rows: Row[] = [
  // no entry
  { name: 'first firing creates', entry: undefined, event: firing(T0), reason: 'new_alert', actions: [create(0)] },
  { name: 'resolve without a case does nothing', entry: undefined, event: resolve(T0), reason: 'no_case', actions: [] },
  { name: 'informational without a case does nothing', entry: undefined, event: info(T0), reason: 'informational', actions: [] },
  // creating
  { name: 'firing while the create is in flight is counted', entry: creating, event: firing(T0 + MIN), now: T0 + MIN, reason: 'create_pending', actions: [], record: true },
  { name: 'resolve while creating is deferred', entry: creating, event: resolve(T0 + MIN), now: T0 + MIN, reason: 'resolve_deferred', actions: [{ kind: 'defer' }] },
  { name: 'informational while creating does nothing', entry: creating, event: info(T0 + MIN), now: T0 + MIN, reason: 'informational', actions: [] },
  { name: 'firing on an orphaned intent takes over and looks up the marker first', entry: creating, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'create_stale_intent', actions: [create(0, { takeOver: true, lookupFirst: true })], record: true },
  { name: 'firing on an intent whose create could not be queued takes over at once, marker lookup first (#4)', entry: { ...creating, ambiguousIntentId: 'intent-1' }, event: firing(T0 + MIN), now: T0 + MIN, reason: 'create_outcome_unknown', actions: [create(0, { takeOver: true, lookupFirst: true })] },
  { name: 'the flag of an intent taken over since does not apply to the new one (#4)', entry: { ...creating, intentId: 'intent-2', ambiguousIntentId: 'intent-1' }, event: firing(T0 + MIN), now: T0 + MIN, reason: 'create_pending', actions: [], record: true },
  { name: 'the orphan timeout is configurable', entry: creating, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, policy: { create_intent_timeout_seconds: 3 * 3600 }, reason: 'create_pending', actions: [], record: true },
  // open: repeats and coalescing
  { name: 'a repeat within the interval after create is coalesced', entry: open, event: firing(T0 + 5 * MIN), now: T0 + 5 * MIN, reason: 'repeat_coalesced', actions: [], record: true },
  { name: 'a repeat once the interval has passed comments with the count', entry: open, event: firing(T0 + 15 * MIN), now: T0 + 15 * MIN, reason: 'repeat_commented', actions: [comment('repeat', 1)], record: true, verify: true },
  { name: 'the count covers coalesced occurrences since the last comment', entry: openBusy, event: firing(T0 + 35 * MIN), now: T0 + 35 * MIN, reason: 'repeat_commented', actions: [comment('repeat', 4)], record: true, verify: true },
  { name: 'the window runs from the last comment', entry: openBusy, event: firing(T0 + 34 * MIN), now: T0 + 34 * MIN, reason: 'repeat_coalesced', actions: [], record: true },
  { name: 'comment_interval_seconds is configurable', entry: openBusy, event: firing(T0 + 25 * MIN), now: T0 + 25 * MIN, policy: { comment_interval_seconds: 300 }, reason: 'repeat_commented', actions: [comment('repeat', 4)], record: true, verify: true },
  { name: 'interval 0 comments every repeat', entry: open, event: firing(T0 + 1), now: T0 + 1, policy: { comment_interval_seconds: 0 }, reason: 'repeat_commented', actions: [comment('repeat', 1)], record: true, verify: true },
  { name: 'no verify when the policy says so', entry: open, event: firing(T0 + HOUR), now: T0 + HOUR, policy: { verify_case_status: false }, reason: 'repeat_commented', actions: [comment('repeat', 1)], record: true, verify: false },
  { name: 'no second verify after observeCase', entry: open, event: firing(T0 + HOUR, { verified: true }), now: T0 + HOUR, reason: 'repeat_commented', actions: [comment('repeat', 1)], record: true, verify: false },
  // open: resolve
  { name: 'resolve comments then closes', entry: openBusy, event: resolve(T0 + HOUR), now: T0 + HOUR, reason: 'resolved_closed', actions: [comment('resolved', 3), { kind: 'close' }], verify: true },
  { name: 'on_resolve: comment only comments', entry: open, event: resolve(T0 + HOUR), now: T0 + HOUR, policy: { on_resolve: 'comment' }, reason: 'resolved_commented', actions: [comment('resolved', 0)], verify: true },
  { name: 'on_resolve: ignore does nothing', entry: open, event: resolve(T0 + HOUR), now: T0 + HOUR, policy: { on_resolve: 'ignore' }, reason: 'resolved_ignored', actions: [] },
  { name: 'a resolve sent before the latest firing (sender times) does not close (#13)', entry: { ...openBusy, lastFiringAt: T0 + 40 * MIN }, event: resolve(T0 + 39 * MIN), now: T0 + HOUR, reason: 'stale_resolve', actions: [] },
  { name: 'a resolve sent after the latest firing closes, however late it arrives (#13)', entry: { ...openBusy, lastFiringAt: T0 + 40 * MIN }, event: resolve(T0 + 41 * MIN), now: T0 + 3 * HOUR, reason: 'resolved_closed', actions: [comment('resolved', 3), { kind: 'close' }], verify: true },
  // open: informational
  { name: 'informational is ignored by default', entry: open, event: info(T0 + HOUR), now: T0 + HOUR, reason: 'informational', actions: [] },
  { name: 'on_informational: comment comments (coalesced)', entry: open, event: info(T0 + HOUR), now: T0 + HOUR, policy: { on_informational: 'comment' }, reason: 'informational_commented', actions: [comment('informational', 0)], verify: true },
  { name: 'on_informational: comment within the interval does nothing', entry: open, event: info(T0 + MIN), now: T0 + MIN, policy: { on_informational: 'comment' }, reason: 'informational', actions: [] },
  // resolved (comment-only policy)
  { name: 'firing after a comment-only resolve comments at once', entry: resolved, event: firing(T0 + HOUR + MIN), now: T0 + HOUR + MIN, reason: 'firing_again', actions: [comment('firing_again', 1)], record: true, verify: true },
  { name: 'a firing sent at or before the comment-only resolve (sender time) stays resolved (#13)', entry: { ...resolved, lastResolveAt: T0 + 50 * MIN }, event: firing(T0 + 50 * MIN), now: T0 + HOUR + MIN, reason: 'stale_event', actions: [] },
  { name: 'a firing sent after the comment-only resolve (sender time) comments, however late that resolve arrived (#13)', entry: { ...resolved, lastResolveAt: T0 + 50 * MIN }, event: firing(T0 + 55 * MIN), now: T0 + HOUR + MIN, reason: 'firing_again', actions: [comment('firing_again', 1)], record: true, verify: true },
  { name: 'a second resolve does nothing', entry: resolved, event: resolve(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'already_resolved', actions: [] },
  // closed
  { name: 'firing within the reopen window reopens', entry: closed, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'reopened', actions: [{ kind: 'reopen' }, comment('reopened', 1)], record: true, verify: true },
  { name: 'firing after the reopen window creates a new case (next generation)', entry: closed, event: firing(T0 + 26 * HOUR), now: T0 + 26 * HOUR, reason: 'new_case_after_window', actions: [create(1, { replacing: true })] },
  { name: 'reopen_window_seconds is configurable', entry: closed, event: firing(T0 + 3 * HOUR), now: T0 + 3 * HOUR, policy: { reopen_window_seconds: 3600 }, reason: 'new_case_after_window', actions: [create(1, { replacing: true })] },
  { name: 'reopen window 0: always a new case', entry: closed, event: firing(T0 + HOUR + 1), now: T0 + HOUR + 1, policy: { reopen_window_seconds: 0 }, reason: 'new_case_after_window', actions: [create(1, { replacing: true })] },
  { name: "won't fix is never reopened", entry: wontFix, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'wont_fix', actions: [] },
  { name: "won't fix: a new case only after the window", entry: wontFix, event: firing(T0 + 30 * HOUR), now: T0 + 30 * HOUR, reason: 'new_case_after_window', actions: [create(1, { replacing: true })] },
  { name: 'never_reopen_statuses is configurable', entry: wontFix, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, policy: { never_reopen_statuses: [] }, reason: 'reopened', actions: [{ kind: 'reopen' }, comment('reopened', 1)], record: true, verify: true },
  { name: 'a custom never-reopen status', entry: { ...closed, closedStatus: 'Known issue' }, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, policy: { never_reopen_statuses: ['known ISSUE'] }, reason: 'wont_fix', actions: [] },
  { name: 'a firing older than the close is stale', entry: closed, event: firing(T0 + 30 * MIN), now: T0 + 2 * HOUR, reason: 'stale_event', actions: [] },
  { name: 'a deleted case gets a new case', entry: deleted, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'new_case_after_delete', actions: [create(1, { replacing: true })] },
  { name: 'an abandoned new case (failed for good) is made again at once, next generation', entry: abandoned, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'new_case_after_abandon', actions: [create(2, { replacing: true })] },
  { name: 'a case a human closed with a status named ABANDONED is still a case: reopened within the window', entry: { ...closed, closedBy: 'human', closedStatus: ABANDONED_STATUS }, event: firing(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'reopened', actions: [{ kind: 'reopen' }, comment('reopened', 1)], record: true, verify: true },
  { name: 'resolve of an abandoned alert does nothing', entry: abandoned, event: resolve(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'already_closed', actions: [] },
  { name: 'resolve of a closed case does nothing', entry: closed, event: resolve(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'already_closed', actions: [] },
  { name: 'informational on a closed case does nothing', entry: closed, event: info(T0 + 2 * HOUR), now: T0 + 2 * HOUR, reason: 'informational', actions: [] },
];

describe('decide (state x event -> actions)', () => {
  it.each(rows)('$name', (row) => {
    const policy = lifecycleSchemas().policy.parse({ ...row.policy });
    const decision: Decision = decide(row.entry, row.event, policy, row.now ?? row.event.occurredAt);
    expect(decision.reason).toBe(row.reason);
    expect(decision.actions).toEqual(row.actions);
    expect(decision.record).toBe(row.record ?? false);
    expect(decision.verify).toBe(row.verify ?? false);
  });

  it('reports the occurrence count a comment covers (for the ledger mark)', () => {
    expect(decide(openBusy, firing(T0 + HOUR), DEFAULT_LIFECYCLE_POLICY, T0 + HOUR).commentThrough).toBe(6);
    expect(decide(openBusy, resolve(T0 + HOUR), DEFAULT_LIFECYCLE_POLICY, T0 + HOUR).commentThrough).toBe(5);
    expect(decide(open, firing(T0 + MIN), DEFAULT_LIFECYCLE_POLICY, T0 + MIN).commentThrough).toBeUndefined();
  });
});

/** Applies a decision to an entry the way the handler does with the ledger (used for sequences). */
function apply(entry: LedgerEntry | undefined, d: Decision, at: number, caseId = 'case-1'): LedgerEntry | undefined {
  let e = entry;
  if (d.record && e) e = { ...e, occurrences: e.occurrences + 1, lastSeen: at };
  for (const a of d.actions) {
    if (a.kind === 'create') e = { ...base, generation: a.generation, marker: dedupMarker(base.source, base.identity, a.generation), caseId, createStartedAt: at, openedAt: at, firstSeen: e?.firstSeen ?? at, lastSeen: at };
    if (a.kind === 'comment' && e) e = { ...e, lastCommentAt: at, commentedOccurrences: d.commentThrough ?? e.occurrences };
    if (a.kind === 'close' && e) e = { ...e, state: 'closed', closedAt: at, closedBy: 'bridge', closedStatus: 'CLOSED' };
    if (a.kind === 'reopen' && e) e = { ...e, state: 'open', openedAt: at, reopenCount: e.reopenCount + 1, closedAt: undefined, closedStatus: undefined, closedBy: undefined };
  }
  return e;
}

function run(policy: LifecyclePolicy, steps: readonly { at: number; event: LifecycleEvent }[]): { reasons: DecisionReason[]; actions: string[][]; entry: LedgerEntry | undefined } {
  let entry: LedgerEntry | undefined;
  const reasons: DecisionReason[] = [];
  const actions: string[][] = [];
  for (const { at, event } of steps) {
    const d = decide(entry, { ...event, verified: true }, policy, at);
    reasons.push(d.reason);
    actions.push(d.actions.map((a) => (a.kind === 'comment' ? `comment:${a.reason}:${a.occurrences}` : a.kind)));
    entry = apply(entry, d, at);
  }
  return { reasons, actions, entry };
}

describe('sequences', () => {
  it('PagerDuty triggered -> acknowledged -> resolved -> reopened (defaults)', () => {
    const { reasons, actions, entry } = run(DEFAULT_LIFECYCLE_POLICY, [
      { at: T0, event: firing(T0) }, // incident.triggered
      { at: T0 + 2 * MIN, event: info(T0 + 2 * MIN) }, // incident.acknowledged
      { at: T0 + HOUR, event: resolve(T0 + HOUR) }, // incident.resolved
      { at: T0 + 3 * HOUR, event: firing(T0 + 3 * HOUR) }, // incident.reopened
    ]);
    expect(reasons).toEqual(['new_alert', 'informational', 'resolved_closed', 'reopened']);
    expect(actions).toEqual([['create'], [], ['comment:resolved:0', 'close'], ['reopen', 'comment:reopened:1']]);
    expect(entry).toMatchObject({ state: 'open', reopenCount: 1, caseId: 'case-1' });
  });

  it('PagerDuty sequence with on_resolve: comment and a 1 h reopen window', () => {
    const policy = resolvePolicy({ on_resolve: 'comment' }, { reopen_window_seconds: 3600 });
    const { reasons, actions } = run(policy, [
      { at: T0, event: firing(T0) },
      { at: T0 + 2 * MIN, event: info(T0 + 2 * MIN) },
      { at: T0 + HOUR, event: resolve(T0 + HOUR) },
      { at: T0 + 3 * HOUR, event: firing(T0 + 3 * HOUR) },
    ]);
    // Comment-only leaves the case open: the reopened incident is "firing again" on the same case.
    expect(reasons).toEqual(['new_alert', 'informational', 'resolved_commented', 'repeat_commented']);
    expect(actions[2]).toEqual(['comment:resolved:0']);
  });

  it('Alertmanager firing -> repeats every 4 min -> resolved: one case, comments at most every 15 min', () => {
    const steps = [{ at: T0, event: firing(T0) }];
    for (let i = 1; i <= 10; i += 1) steps.push({ at: T0 + i * 4 * MIN, event: firing(T0 + i * 4 * MIN) });
    steps.push({ at: T0 + 45 * MIN, event: resolve(T0 + 45 * MIN) });
    const { reasons, actions, entry } = run(DEFAULT_LIFECYCLE_POLICY, steps);
    expect(reasons.filter((r) => r === 'new_alert')).toHaveLength(1);
    // Repeats at 16, 32 min (15 min apart at least); the others coalesced.
    expect(actions.flat().filter((a) => a.startsWith('comment:repeat'))).toEqual(['comment:repeat:4', 'comment:repeat:4']);
    expect(actions.at(-1)).toEqual(['comment:resolved:2', 'close']);
    expect(entry).toMatchObject({ state: 'closed', occurrences: 11 });
  });
});

describe('observeCase', () => {
  const summary = (over: Partial<CaseSummary>): CaseSummary => ({ id: 'case-1', key: 'DDFC-1', status: 'OPEN', statusName: 'Open', statusGroup: 'SG_OPEN', description: '', createdAt: undefined, closedAt: undefined, ...over });

  it('the status the bridge closed with, read back by its name (CLOSED as Closed), is no change: the close stays the bridge\'s (#13)', () => {
    const byBridge: LedgerEntry = { ...closed, lastResolveAt: T0 + 50 * MIN };
    expect(observeCase(byBridge, summary({ status: 'CLOSED', statusName: 'Closed', statusGroup: 'SG_CLOSED' }), T0 + 2 * HOUR).changed).toBe(false);
    // A human who then sets won't fix changes the status, not who closed it or when.
    const wont = observeCase(byBridge, summary({ status: 'CLOSED', statusName: "Won't fix", statusGroup: 'SG_CLOSED' }), T0 + 2 * HOUR);
    expect(wont).toMatchObject({ changed: true, entry: { closedBy: 'bridge', closedAt: T0 + HOUR, closedStatus: "Won't fix" } });
  });

  it('a case a human closed as won\u2019t fix is seen closed, and not reopened', () => {
    const seen = observeCase(open, summary({ status: 'CLOSED', statusName: "Won't fix", statusGroup: 'SG_CLOSED', closedAt: new Date(T0 + HOUR).toISOString() }), T0 + 2 * HOUR);
    expect(seen.changed).toBe(true);
    expect(seen.entry).toMatchObject({ state: 'closed', closedBy: 'human', closedStatus: "Won't fix", closedAt: T0 + HOUR });
    expect(decide(seen.entry, firing(T0 + 2 * HOUR, { verified: true }), DEFAULT_LIFECYCLE_POLICY, T0 + 2 * HOUR).reason).toBe('wont_fix');
  });

  it('a resolve for a case a human already closed does nothing', () => {
    const seen = observeCase(open, summary({ status: 'CLOSED', statusName: 'Closed', statusGroup: 'SG_CLOSED' }), T0 + HOUR);
    expect(decide(seen.entry, resolve(T0 + HOUR, { verified: true }), DEFAULT_LIFECYCLE_POLICY, T0 + HOUR).reason).toBe('already_closed');
  });

  it('a case a human reopened is open again; a deleted one is DELETED', () => {
    const reopened = observeCase(closed, summary({}), T0 + 2 * HOUR);
    expect(reopened).toMatchObject({ changed: true, entry: { state: 'open', openedAt: T0 + 2 * HOUR } });
    expect(reopened.entry.closedAt).toBeUndefined();
    expect(observeCase(open, 'missing', T0 + HOUR).entry).toMatchObject({ state: 'closed', closedStatus: DELETED_STATUS });
    expect(observeCase(open, summary({}), T0).changed).toBe(false);
    expect(observeCase(creating, 'missing', T0).changed).toBe(false);
  });
});

describe('lifecycleSchemas().policy and DEFAULT_LIFECYCLE_POLICY', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_LIFECYCLE_POLICY).toEqual({
      comment_interval_seconds: 900,
      on_resolve: 'close',
      reopen_window_seconds: 86_400,
      never_reopen_statuses: ["Won't fix", "Won't do", 'Cancelled', 'Declined', 'Duplicate'],
      on_informational: 'ignore',
      on_note: 'comment',
      create_intent_timeout_seconds: 3600,
      verify_case_status: true,
      close_status: 'CLOSED',
      reopen_status: 'OPEN',
    });
  });

  it('writes out exactly what the schema gives for an empty policy (no schema is built at load)', () => {
    expect(DEFAULT_LIFECYCLE_POLICY).toEqual(lifecycleSchemas().policy.parse({}));
    expect(resolvePolicy(undefined, {}, { on_resolve: undefined })).toBe(DEFAULT_LIFECYCLE_POLICY);
    expect(Object.isFrozen(DEFAULT_LIFECYCLE_POLICY)).toBe(true);
  });

  it('is strict and validates', () => {
    expect(lifecycleSchemas().policy.safeParse({ comment_interval: 5 }).success).toBe(false);
    expect(lifecycleSchemas().policy.safeParse({ on_resolve: 'delete' }).success).toBe(false);
    expect(lifecycleSchemas().policy.safeParse({ comment_interval_seconds: -1 }).success).toBe(false);
    expect(lifecycleSchemas().policy.safeParse({ create_intent_timeout_seconds: 10 }).success).toBe(false);
  });

  it('resolvePolicy layers defaults <- source <- rule', () => {
    const p = resolvePolicy({ comment_interval_seconds: 60, on_resolve: 'comment' }, undefined, { on_resolve: 'close' });
    expect(p.comment_interval_seconds).toBe(60);
    expect(p.on_resolve).toBe('close');
    expect(p.reopen_window_seconds).toBe(86_400);
  });
});
