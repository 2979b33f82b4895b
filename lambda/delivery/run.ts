import type { CaseSummary } from '../datadog/client.js';
import type { OutcomeOf } from './outcome.js';
import { markRequest } from '../ledger/marker.js';
import type { AlertKey, LedgerEntry } from '../ledger/types.js';
import { MAX_ATTEMPTS } from '../datadog/retry-policy.js';
import { decide, observeCase, type Decision, type DecisionReason, type LifecycleAction } from '../lifecycle/decide.js';
import { commentText, DEFER_REASON, deferDelaySeconds, type AlertWork } from '../lifecycle/work.js';
import { DatadogError } from '../shared/errors.js';
import type { CountMetric } from '../shared/metrics.js';
import type { PendingEvent } from './queue.js';
import { callDatadog, storing } from './call.js';
import { createWithIntent, sendUpdate, type UpdateDeps, type UpdateOutcome } from './updates.js';

/** What one event run through the lifecycle can come to. */
export type LifecycleOutcome = OutcomeOf<'created' | 'queued' | 'dead_lettered' | 'updated' | 'deduplicated'>;

/** The count of each case update the lifecycle sends (or hands to the retry queue). */
const UPDATE_METRIC = { comment: 'CasesCommented', close: 'CasesClosed', reopen: 'CasesReopened' } as const satisfies Record<'comment' | 'close' | 'reopen', CountMetric>;

/**
 * Runs one event through the ledger and the lifecycle (the recipe of lambda/ledger): read the entry,
 * decide, verify the case in Datadog when asked, count the occurrence, then act, always claiming in
 * the ledger first (a lost claim means another delivery acts: nothing is sent).
 *
 * Metrics (issue 4, "Operator view"): CasesDeduplicated counts a firing event that made no new case
 * because its alert already has one, or one is being created (coalesced, commented, reopened,
 * won't-fix...); the ingest handler adds one per redelivered delivery id. CasesCommented, CasesClosed
 * and CasesReopened count each comment / status change once, by the run that won its ledger claim,
 * when it is sent or handed to the retry queue (the retry handler does not count it again).
 */
export async function runLifecycle(work: AlertWork, deps: UpdateDeps): Promise<LifecycleOutcome> {
  const outcome = await decideAndAct(work, deps);
  if (work.signal === 'firing' && (outcome.status === 'deduplicated' || outcome.status === 'updated')) deps.metrics?.count('CasesDeduplicated', work.source);
  return outcome;
}

async function decideAndAct(work: AlertWork, deps: UpdateDeps): Promise<LifecycleOutcome> {
  const { ledger, logger } = deps;
  const key: AlertKey = { source: work.source, identity: work.identity };
  const now = deps.now();
  // Plain literals on this path (no conditional spreads): one object shape, no dictionary-mode objects.
  const event = { signal: work.signal, occurredAt: work.occurredAt ?? now, deliveryId: work.deliveryId };
  let entry = await ledger.get(work.source, work.identity);
  let d: Decision = decide(entry, event, work.policy, now);

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
          await ledger.markClosed(key, { caseId, at: seen.entry.closedAt ?? now, by: 'human', status: seen.entry.closedStatus ?? 'CLOSED' });
        } else if (entry.state === 'closed') {
          await ledger.markReopened(key, { caseId, at: now, from: 'closed' });
        }
        entry = (await ledger.get(work.source, work.identity)) ?? seen.entry;
        logger.info('case changed in Datadog', { caseId, state: entry.state, closedStatus: entry.closedStatus });
      }
    }
    d = decide(entry, { ...event, verified: true }, work.policy, now);
  }

  if (d.record) await ledger.recordOccurrence(key, now);
  const caseId = entry?.caseId;
  const caseKey = entry?.caseKey;
  const nothing = (reason: DecisionReason): LifecycleOutcome => ({ status: 'deduplicated', reason, caseId, caseKey });
  if (d.actions.length === 0) return nothing(d.reason);

  const first = d.actions[0]!;
  if (first.kind === 'create') return create(first, entry, work, deps, d.reason);
  if (first.kind === 'defer') return deferEvent(work, deps, now);
  if (entry === undefined || caseId === undefined) return nothing('no_case');

  const comment = d.actions.find((a): a is Extract<LifecycleAction, { kind: 'comment' }> => a.kind === 'comment');
  const mark = { at: now, occurrences: d.commentThrough ?? entry.occurrences };
  let claimed: boolean;
  switch (d.reason) {
    case 'repeat_commented':
    case 'informational_commented':
      claimed = await ledger.markCommented(key, { ...mark, caseId, previousCommentAt: entry.lastCommentAt });
      break;
    case 'firing_again':
      claimed = await ledger.markReopened(key, { caseId, at: now, from: 'resolved', comment: mark });
      break;
    case 'resolved_closed':
      claimed = await ledger.markClosed(key, { caseId, at: now, by: 'bridge', status: work.policy.close_status, comment: mark });
      break;
    case 'resolved_commented':
      claimed = await ledger.markResolved(key, { caseId, at: now, comment: mark });
      break;
    case 'reopened':
      claimed = await ledger.markReopened(key, { caseId, at: now, from: 'closed', comment: mark });
      break;
    default:
      claimed = false;
  }
  if (!claimed) return nothing(d.reason);

  const base = { source: work.source, deliveryId: work.deliveryId, identity: work.identity, rule: work.rule ?? entry.rule, attempt: 0, firstSeen: now, caseId };
  const queued: string[] = [];
  for (const action of d.actions) {
    if (action.kind !== 'comment' && action.kind !== 'close' && action.kind !== 'reopen') continue;
    let outcome: UpdateOutcome;
    if (action.kind === 'comment') {
      outcome = await sendUpdate({ kind: 'comment', ...base, text: commentText(action.reason, comment?.occurrences ?? 1, work, work.occurredAt ?? now), occurrences: action.occurrences }, deps);
    } else {
      outcome = await sendUpdate({ kind: 'set_status', ...base, status: action.kind === 'close' ? work.policy.close_status : work.policy.reopen_status }, deps);
    }
    if (outcome.status === 'dropped') break; // the case is gone
    if (outcome.status === 'sent' || outcome.status === 'queued') deps.metrics?.count(UPDATE_METRIC[action.kind], work.source);
    if (outcome.status === 'queued' || outcome.status === 'dead_lettered') queued.push(action.kind);
  }
  logger.info('case updated', { reason: d.reason, caseId, caseKey, queued });
  return { status: 'updated', reason: d.reason, caseId, caseKey, queued };
}

/** The queued form of an event the lifecycle defers (see PendingEvent). */
export function pendingEventOf(work: AlertWork, attempt: number, now: number): PendingEvent {
  const occurredAt = work.occurredAt ?? now;
  return {
    kind: 'lifecycle_event',
    source: work.source,
    deliveryId: work.deliveryId,
    identity: work.identity,
    rule: work.rule,
    attempt,
    firstSeen: occurredAt,
    signal: work.signal,
    occurredAt,
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
    request: pending.request,
    summary: pending.summary,
    policy: pending.policy,
    occurredAt: pending.occurredAt,
    attempt: pending.attempt,
  };
}

/**
 * The case does not exist yet (a resolve while the create is in flight): hands the event to the
 * retry queue, to run through the lifecycle again after a delay; after MAX_ATTEMPTS deferrals, to
 * the DLQ. Throws QueueError when the queue fails (the webhook is answered 503 and sent again).
 */
async function deferEvent(work: AlertWork, deps: UpdateDeps, now: number): Promise<LifecycleOutcome> {
  const attempt = (work.attempt ?? 0) + 1;
  const pending = pendingEventOf(work, attempt, now);
  return storing(`defer the ${work.signal} event of ${work.identity}`, async (): Promise<LifecycleOutcome> => {
    if (attempt < MAX_ATTEMPTS) {
      const delaySeconds = deferDelaySeconds(attempt, deps.random);
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

async function create(action: Extract<LifecycleAction, { kind: 'create' }>, entry: LedgerEntry | undefined, work: AlertWork, deps: UpdateDeps, reason: DecisionReason): Promise<LifecycleOutcome> {
  const key: AlertKey = { source: work.source, identity: work.identity };
  const now = deps.now();
  if (work.request === undefined) return { status: 'deduplicated', reason: 'no_case', caseId: undefined, caseKey: undefined };
  const claim =
    action.takeOver && entry !== undefined
      ? await deps.ledger.takeOverCreate(key, entry.intentId, now)
      : await deps.ledger.beginCreate({ source: work.source, identity: work.identity, now, rule: work.rule, replacing: action.replacing ? entry : undefined });
  if (!claim.won) {
    // Another delivery of the same alert holds the entry: this one is a repeat.
    await deps.ledger.recordOccurrence(key, now);
    return { status: 'deduplicated', reason: 'create_pending', caseId: claim.entry.caseId, caseKey: claim.entry.caseKey };
  }
  const intent = claim.entry;
  const request = markRequest(work.request, intent.marker, { attribute: work.policy.marker_attribute });
  // Taking over a create whose outcome is unknown: look its case up first. The ledger does not know
  // when the last create was sent (a queued retry may have sent one long after the intent was
  // claimed), so a lookup that finds nothing is trusted only a full settle time from now.
  const lookup = action.lookupFirst ? { since: now } : undefined;
  const outcome = await createWithIntent(
    { kind: 'create_case', source: work.source, deliveryId: work.deliveryId, identity: work.identity, rule: work.rule, request, attempt: 0, firstSeen: now, intentId: intent.intentId, marker: intent.marker, ambiguous: false },
    deps,
    lookup,
  );
  if (outcome.status === 'created') return { status: 'created', case: outcome.case, reason };
  if (outcome.status === 'dropped') return { status: 'deduplicated', reason: 'create_pending', caseId: undefined, caseKey: undefined };
  return outcome;
}
