import type { CaseSummary } from '../datadog/client.js';
import type { OutcomeOf } from './outcome.js';
import { markRequest } from '../ledger/marker.js';
import type { AlertKey, LedgerEntry } from '../ledger/types.js';
import { MAX_ATTEMPTS, MAX_DELAY_SECONDS } from '../datadog/retry-policy.js';
import { asReplay, decide, observeCase, type Decision, type DecisionReason, type LifecycleAction } from '../lifecycle/decide.js';
import { commentText, DEFER_REASON, deferDelaySeconds, type AlertWork } from '../lifecycle/work.js';
import { DatadogError, LedgerError } from '../shared/errors.js';
import { isoTime } from '../shared/time.js';
import type { CountMetric } from '../shared/metrics.js';
import type { PendingEvent } from './queue.js';
import { callDatadog, storing } from './call.js';
import { newIntent, newIntentId } from '../ledger/intent-id.js';
import type { OutboxAction } from '../ledger/types.js';
import { WATCHDOG_DELAY_SECONDS } from '../shared/budgets.js';
import { appendActions, armWatchdog, claimed, runOutbox, type OutboxDeps } from './outbox.js';
import { STEP_HOOKS, type DurableStep } from './steps.js';
import { countTowardThreshold, resetThreshold, type ThresholdReached } from './threshold.js';
import { swapped } from '../ledger/swap.js';

/** What one event run through the lifecycle can come to. */
export type LifecycleOutcome = OutcomeOf<'created' | 'queued' | 'dead_lettered' | 'updated' | 'deduplicated' | 'below_threshold'>;

/** The count of each case update the lifecycle sends (or hands to the retry queue). */
const UPDATE_METRIC = { comment: 'CasesCommented', close: 'CasesClosed', reopen: 'CasesReopened' } as const satisfies Record<'comment' | 'close' | 'reopen', CountMetric>;

/**
 * Runs one event through the ledger and the lifecycle (the recipe of lambda/ledger): read the entry
 * (or take `read`, the caller's read of it made just before),
 * decide, verify the case in Datadog when asked, count the occurrence, then act, always claiming in
 * the ledger first (a lost claim means another delivery acts: nothing is sent).
 *
 * Metrics (issue 4, "Operator view"): CasesDeduplicated counts a firing event that made no new case
 * because its alert already has one, or one is being created (coalesced, commented, reopened,
 * won't-fix...); the ingest handler adds one per redelivered delivery id. CasesCommented, CasesClosed
 * and CasesReopened count each comment / status change once, by the run that won its ledger claim,
 * when it is sent or handed to the retry queue (the retry handler does not count it again).
 * EventsOutOfOrder (issue 13) counts an event decided stale_resolve or stale_event (outOfOrder).
 */
export async function runLifecycle(work: AlertWork, deps: OutboxDeps, read?: { readonly entry: LedgerEntry | undefined }): Promise<LifecycleOutcome> {
  const outcome = await decideAndAct(work, deps, read);
  if (work.signal === 'firing' && (outcome.status === 'deduplicated' || outcome.status === 'updated')) deps.metrics?.count('CasesDeduplicated', work.source);
  return outcome;
}

/** Conditional writes of a transition (each decided on a fresh read) before the event fails and is sent again. */
const LIFECYCLE_WRITE_ROUNDS = 5;

async function decideAndAct(work: AlertWork, deps: OutboxDeps, read?: { readonly entry: LedgerEntry | undefined }): Promise<LifecycleOutcome> {
  let recorded = false;
  // A transition write that lost its condition (another delivery changed the entry) is decided again, on a fresh read.
  for (let round = 0; ; round += 1) {
    const step = await decideOnce(work, deps, recorded, round >= LIFECYCLE_WRITE_ROUNDS - 1, round === 0 ? read : undefined);
    if (step.kind === 'done') return step.outcome;
    recorded ||= step.recorded;
  }
}

type Step = { readonly kind: 'done'; readonly outcome: LifecycleOutcome } | { readonly kind: 'again'; readonly recorded: boolean };

async function decideOnce(work: AlertWork, deps: OutboxDeps, alreadyRecorded: boolean, last: boolean, read: { readonly entry: LedgerEntry | undefined } | undefined): Promise<Step> {
  const { ledger, logger } = deps;
  const key: AlertKey = { source: work.source, identity: work.identity };
  const now = deps.now();
  // Plain literals on this path (no conditional spreads): one object shape, no dictionary-mode objects.
  const event = { signal: work.signal, occurredAt: work.occurredAt ?? now, deliveryId: work.deliveryId };
  // The caller's read of the entry, just made (e.g. to find the policy of an event no rule takes), stands
  // for this one (issue 15: one read less): every write below is conditional on the entry read.
  let entry = read !== undefined ? read.entry : await ledger.get(work.source, work.identity);
  const decideFor = (e: LedgerEntry | undefined, ev: typeof event & { verified?: boolean }): Decision => (work.replay === true ? asReplay(decide(e, ev, work.policy, now)) : decide(e, ev, work.policy, now));
  let d: Decision = decideFor(entry, event);

  const datadog = deps.datadog;
  if (d.verify && entry?.caseId !== undefined) {
    const caseId = entry.caseId;
    let summary: CaseSummary | 'missing' | undefined;
    try {
      summary = await callDatadog(deps, undefined, (keys, options) => datadog.getCase(caseId, keys, options));
    } catch (error) {
      if (!(error instanceof DatadogError)) throw error;
      if (error.status === 404) summary = 'missing';
      else logger.warn('could not read the case to verify its status; going by the ledger', { caseId, status: error.status });
    }
    if (summary !== undefined) {
      const seen = observeCase(entry, summary, now);
      if (seen.changed) {
        if (seen.entry.state === 'closed') {
          await ledger.markClosed(key, { caseId, at: seen.entry.closedAt ?? now, by: seen.entry.closedBy ?? 'human', status: seen.entry.closedStatus ?? 'CLOSED' });
        } else if (entry.state === 'closed') {
          await ledger.markReopened(key, { caseId, at: now, from: 'closed' });
        }
        entry = (await ledger.get(work.source, work.identity)) ?? seen.entry;
        logger.info('case changed in Datadog', { caseId, state: entry.state, closedStatus: entry.closedStatus });
      }
    }
    d = decideFor(entry, { ...event, verified: true });
  }

  // Issue 17: with no case to act on, a firing that would open one is counted first, and a resolve resets the count.
  let reached: ThresholdReached | undefined;
  const openAfter = work.policy.open_after;
  if (openAfter !== undefined && (entry === undefined || entry.state === 'closed')) {
    const first = d.actions[0];
    if (first?.kind === 'create' && !first.takeOver) {
      const counted = await countTowardThreshold(work, openAfter, entry?.closedAt, deps, now);
      if (counted.status === 'below_threshold') return { kind: 'done', outcome: counted };
      reached = counted;
    } else if (work.signal === 'resolved') {
      const reset = await resetThreshold(key, event.occurredAt, entry?.closedAt, openAfter, deps);
      if (reset !== undefined) return { kind: 'done', outcome: reset };
    }
  }

  let recorded = alreadyRecorded;
  if (d.record && !recorded) {
    entry = (await ledger.recordOccurrence(key, now, work.signal === 'firing' ? event.occurredAt : undefined, entry?.lastFiringAt)) ?? entry;
    recorded = true;
  }
  const caseId = entry?.caseId;
  const caseKey = entry?.caseKey;
  const nothing = async (reason: DecisionReason): Promise<Step> => {
    if (reason === 'stale_resolve' || reason === 'stale_event') outOfOrder(reason, work, event.occurredAt, entry, deps);
    // Whoever comes next completes unfinished work: this delivery works the alert's outbox when its claim is void.
    if (entry?.outbox !== undefined && entry.outbox.length > 0 && !(entry.claimUntil !== undefined && entry.claimUntil > now)) {
      await armWatchdog(key, deps, WATCHDOG_DELAY_SECONDS);
      await runOutbox(key, deps);
    }
    return { kind: 'done', outcome: { status: 'deduplicated', reason, caseId, caseKey } };
  };
  if (d.actions.length === 0) return nothing(d.reason);

  const first = d.actions[0]!;
  if (first.kind === 'create') return create(first, entry, work, deps, d.reason, recorded, last, reached);
  if (first.kind === 'defer') return { kind: 'done', outcome: await deferEvent(work, deps, now, entry) };
  if (entry === undefined || caseId === undefined) return nothing('no_case');

  const comment = d.actions.find((a): a is Extract<LifecycleAction, { kind: 'comment' }> => a.kind === 'comment');
  const mark = { lastCommentAt: now, commentedOccurrences: d.commentThrough ?? entry.occurrences };
  let next: LedgerEntry;
  switch (d.reason) {
    case 'repeat_commented':
    case 'informational_commented':
      next = { ...entry, ...mark };
      break;
    case 'firing_again':
      next = { ...entry, ...mark, state: 'open', openedAt: now, resolvedAt: undefined };
      break;
    case 'resolved_closed':
      next = { ...entry, ...mark, state: 'closed', closedAt: now, closedBy: 'bridge', closedStatus: work.policy.close_status, lastResolveAt: event.occurredAt };
      break;
    case 'resolved_commented':
      next = { ...entry, ...mark, state: 'resolved', resolvedAt: now, lastResolveAt: event.occurredAt };
      break;
    case 'reopened':
      next = { ...entry, ...mark, state: 'open', openedAt: now, reopenCount: entry.reopenCount + 1, closedAt: undefined, closedBy: undefined, closedStatus: undefined, resolvedAt: undefined };
      break;
    default:
      return nothing(d.reason);
  }
  const actions: Omit<OutboxAction, 'id'>[] = [];
  for (const action of d.actions) {
    const base = { createdAt: now, caseId, rule: work.rule ?? entry.rule, deliveryId: work.deliveryId, journalId: work.journalId };
    if (action.kind === 'comment') actions.push({ ...base, kind: 'comment', purpose: 'comment', text: commentText(action.reason, comment?.occurrences ?? 1, work, work.occurredAt ?? now) });
    else if (action.kind === 'close') actions.push({ ...base, kind: 'status', purpose: 'close', status: work.policy.close_status });
    else if (action.kind === 'reopen') actions.push({ ...base, kind: 'status', purpose: 'reopen', status: work.policy.reopen_status });
  }
  const me = newIntentId();
  next = { ...next, ...appendActions(entry, actions) };
  // The claim is taken with the transition only when no other worker holds the outbox; else that worker picks these up.
  const claimVoid = !(entry.claimUntil !== undefined && entry.claimUntil > now && entry.claimId !== undefined);
  if (claimVoid) next = claimed(next, me, now);
  // Write-ahead: the watchdog first, then the transition with its effects; then the effects.
  await armWatchdog(key, deps, WATCHDOG_DELAY_SECONDS);
  if (!(await ledger.swap(entry, next))) {
    // Not written: answering it handled would lose its effects (a close, a comment). The ingest answers
    // 503 (the sender sends it again); the retry function leaves the message on the queue.
    if (last) throw new LedgerError(`the ${work.signal} event of ${work.identity} was not written: the alert's ledger entry changed under ${LIFECYCLE_WRITE_ROUNDS} writes`);
    return { kind: 'again', recorded };
  }
  if (STEP_HOOKS) await stepAt(deps, key, 'transition.written');
  // Counted once, by the delivery whose transition owes them (the runner that sends them does not count again).
  for (const a of actions) deps.metrics?.count(UPDATE_METRIC[a.purpose ?? 'comment'], work.source);
  const run = await runOutbox(key, deps, me, swapped(entry, next, entry));
  const queued: string[] = [...run.retrying, ...run.deadLettered].map((a) => a.purpose ?? a.kind);
  // Not done yet: another worker's, the watchdog's, or waiting for a rate-limit slot (nothing failed).
  if (run.status === 'left' || run.status === 'busy' || (run.status === 'waiting' && run.retrying.length === 0)) queued.push('pending');
  // Debug (issue 15): the delivery line's trace tells the update and its actions; its journal record, the case id.
  logger.debug('case updated', { reason: d.reason, caseId, caseKey, queued });
  return { kind: 'done', outcome: { status: 'updated', reason: d.reason, caseId, caseKey, queued } };
}

/** Issue 13: an event older than the alert's latest firing (a resolve) or resolve (a firing) changes nothing: logged and counted. */
function outOfOrder(reason: 'stale_resolve' | 'stale_event', work: AlertWork, at: number, entry: LedgerEntry | undefined, deps: OutboxDeps): void {
  deps.metrics?.count('EventsOutOfOrder', work.source);
  const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : isoTime(t));
  const latest = reason === 'stale_resolve' ? { lastFiringAt: iso(entry?.lastFiringAt) } : { lastResolveAt: iso(entry?.lastResolveAt), closedAt: iso(entry?.closedAt), closedBy: entry?.closedBy };
  deps.logger.info(`${work.signal} event older than the alert's latest ${reason === 'stale_resolve' ? 'firing' : 'resolve or close'}: ignored`, { reason, identity: work.identity, signal: work.signal, eventTime: isoTime(at), ...latest });
}

async function stepAt(deps: OutboxDeps, key: AlertKey, name: DurableStep): Promise<void> {
  if (STEP_HOOKS && deps.steps !== undefined) await deps.steps(name, { source: key.source, identity: key.identity });
}

/** The queued form of an event the lifecycle defers (see PendingEvent). */
export function pendingEventOf(work: AlertWork, attempt: number, now: number): PendingEvent {
  return {
    kind: 'lifecycle_event',
    source: work.source,
    deliveryId: work.deliveryId,
    ...(work.journalId !== undefined ? { journalId: work.journalId } : {}),
    identity: work.identity,
    rule: work.rule,
    attempt,
    firstSeen: work.receivedAt ?? now,
    signal: work.signal,
    occurredAt: work.occurredAt ?? now,
    summary: work.summary,
    ...(work.request !== undefined ? { request: work.request } : {}),
    policy: work.policy,
  };
}

/** The work of a deferred event taken from the retry queue. */
export function alertWorkOf(pending: PendingEvent): AlertWork {
  return {
    source: pending.source,
    identity: pending.identity,
    rule: pending.rule,
    signal: pending.signal,
    deliveryId: pending.deliveryId,
    journalId: pending.journalId,
    request: pending.request,
    summary: pending.summary,
    policy: pending.policy,
    occurredAt: pending.occurredAt,
    receivedAt: pending.firstSeen,
    attempt: pending.attempt,
  };
}

/**
 * The case does not exist yet (a resolve while the create is in flight): hands the event to the
 * retry queue, to run through the lifecycle again after a delay; after MAX_ATTEMPTS deferrals, to
 * the DLQ. Throws QueueError when the queue fails (the webhook is answered 503 and sent again).
 * A create waiting for its rate-limit slot (issue 15) has not failed: the event comes back just after
 * that slot (again and again when it is more than SQS's 900 s away), and such a wait counts no
 * attempt, so a storm's backlog longer than the deferrals' backoff (about 635 s) does not dead-letter it.
 */
async function deferEvent(work: AlertWork, deps: OutboxDeps, now: number, entry: LedgerEntry | undefined): Promise<LifecycleOutcome> {
  const head = entry?.outbox?.[0];
  const slotWaitMs = head?.kind === 'create' && head.slotAt !== undefined && head.notBefore !== undefined ? head.notBefore - now : 0;
  const attempt = (work.attempt ?? 0) + (slotWaitMs > 0 ? 0 : 1);
  const pending = pendingEventOf(work, attempt, now);
  return storing(`defer the ${work.signal} event of ${work.identity}`, async (): Promise<LifecycleOutcome> => {
    if (slotWaitMs > 0 || attempt < MAX_ATTEMPTS) {
      const delaySeconds = slotWaitMs > 0 ? Math.min(MAX_DELAY_SECONDS, Math.ceil(slotWaitMs / 1000) + deferDelaySeconds(1, deps.random)) : deferDelaySeconds(attempt, deps.random);
      await deps.queue.retry(pending, { delaySeconds, reason: DEFER_REASON });
      deps.metrics?.count('RetriesEnqueued', work.source);
      deps.logger.info('event deferred: the case is still being created', { identity: work.identity, signal: work.signal, attempt, delaySeconds });
      return { status: 'queued', retryInSeconds: delaySeconds, reason: 'resolve_deferred' };
    }
    const reason = `gave up after ${attempt} attempts: ${DEFER_REASON}`;
    await deps.queue.deadLetter(pending, { reason });
    deps.metrics?.count('DeadLettered', work.source);
    deps.logger.error('deferred event dead-lettered', { identity: work.identity, signal: work.signal, reason });
    return { status: 'dead_lettered', reason };
  });
}

/**
 * Case lineage (issue 17): a new case for an alert whose previous case was closed and the reopen window
 * passed is linked to that case (SUCCESSOR_OF), by an outbox action after the create. Best effort: a
 * link that fails is retried like any action, and given up (logged) rather than dead-lettered.
 */
function lineage(reason: DecisionReason, entry: LedgerEntry | undefined, create: Omit<OutboxAction, 'id'>): Omit<OutboxAction, 'id'>[] {
  if (reason !== 'new_case_after_window' || entry?.caseId === undefined) return [];
  return [{ kind: 'link', createdAt: create.createdAt, linkTo: entry.caseId, rule: create.rule, deliveryId: create.deliveryId, journalId: create.journalId }];
}

async function create(
  action: Extract<LifecycleAction, { kind: 'create' }>,
  entry: LedgerEntry | undefined,
  work: AlertWork,
  deps: OutboxDeps,
  reason: DecisionReason,
  recorded: boolean,
  last: boolean,
  reached?: ThresholdReached,
): Promise<Step> {
  const key: AlertKey = { source: work.source, identity: work.identity };
  const now = deps.now();
  if (work.request === undefined) return { kind: 'done', outcome: { status: 'deduplicated', reason: 'no_case', caseId: undefined, caseKey: undefined } };
  const before = action.takeOver || action.replacing ? entry : undefined;
  const intent: LedgerEntry =
    action.takeOver && entry !== undefined
      ? { ...entry, intentId: newIntentId(), createStartedAt: now, outbox: undefined }
      : withThreshold(newIntent({ source: work.source, identity: work.identity, now, rule: work.rule, replacing: action.replacing ? entry : undefined }), reached);
  const request = markRequest(work.request, intent.marker, { attribute: work.policy.marker_attribute });
  // Taking over a create whose outcome is unknown: guarded (looked up by marker once the search has settled).
  const createAction: Omit<OutboxAction, 'id'> = { kind: 'create', createdAt: now, request, rule: work.rule, deliveryId: work.deliveryId, journalId: work.journalId, guard: action.lookupFirst, suspectAt: action.lookupFirst ? now : undefined };
  const me = newIntentId();
  const next = claimed({ ...intent, nextSeq: entry?.nextSeq, lastFiringAt: work.signal === 'firing' ? (work.occurredAt ?? now) : intent.lastFiringAt, ...appendActions({ ...intent, nextSeq: entry?.nextSeq }, [createAction, ...lineage(reason, entry, createAction)]) }, me, now);
  await armWatchdog(key, deps, WATCHDOG_DELAY_SECONDS);
  if (!(await deps.ledger.swap(before, next))) {
    const held = await deps.ledger.get(work.source, work.identity);
    // A new case for a closed one, beaten by a write that made none (a note or a claim on the closed
    // case's outbox): the entry is still the closed case's: decided again, on that fresh read.
    if (action.replacing && before !== undefined && held?.state === before.state && held.generation === before.generation && held.caseId === before.caseId) {
      if (last) throw new LedgerError(`the new case of ${work.identity} was not written: the alert's ledger entry changed under ${LIFECYCLE_WRITE_ROUNDS} writes`);
      return { kind: 'again', recorded };
    }
    // Another delivery of the same alert holds the entry: this one is a repeat.
    if (!recorded) await deps.ledger.recordOccurrence(key, now, work.occurredAt ?? now, held?.lastFiringAt);
    return { kind: 'done', outcome: { status: 'deduplicated', reason: 'create_pending', caseId: held?.caseId, caseKey: held?.caseKey } };
  }
  if (STEP_HOOKS) await stepAt(deps, key, 'transition.written');
  const run = await runOutbox(key, deps, me, swapped(before, next, before));
  if (run.created !== undefined) return { kind: 'done', outcome: { status: 'created', case: run.created, reason } };
  if (run.deadLettered.length > 0) return { kind: 'done', outcome: { status: 'dead_lettered', reason: run.reason ?? 'the case could not be created' } };
  const retryInSeconds = run.retryInSeconds ?? Math.max(0, Math.ceil(((run.dueAt ?? now + WATCHDOG_DELAY_SECONDS * 1000) - now) / 1000));
  return { kind: 'done', outcome: { status: 'queued', retryInSeconds, reason: run.reason ?? 'outbox_pending' } };
}

/** A case opened by its occurrence threshold counts the firings that reached it (issue 17), all reported in the case itself. */
function withThreshold(intent: LedgerEntry, reached: ThresholdReached | undefined): LedgerEntry {
  if (reached === undefined) return intent;
  return { ...intent, occurrences: reached.occurrences, commentedOccurrences: reached.occurrences, firstSeen: Math.min(intent.firstSeen, reached.firstSeen) };
}
