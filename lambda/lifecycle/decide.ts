import type { CaseSummary } from '../datadog/client.js';
import { DELETED_STATUS, isAbandoned, type LedgerEntry } from '../ledger/types.js';
import type { Signal } from '../sources/types.js';
import { isNeverReopenStatus, type LifecyclePolicy } from './policy.js';

/** What decide() needs to know about one event. */
export interface LifecycleEvent {
  readonly signal: Signal;
  /** When the event happened at the source, or when it was received (ms). */
  readonly occurredAt: number;
  readonly deliveryId?: string | undefined;
  /** The entry's case state was just read from Datadog (observeCase): do not ask to verify again. */
  readonly verified?: boolean;
}

export type CommentReason = 'repeat' | 'resolved' | 'firing_again' | 'reopened' | 'informational';

export type LifecycleAction =
  /**
   * Create a case. `generation` selects the marker; `replacing`: beginCreate with the closed entry as
   * `replacing`; `takeOver`: takeOverCreate of the stale intent; `lookupFirst`: findCaseByMarker first.
   */
  | { readonly kind: 'create'; readonly generation: number; readonly replacing: boolean; readonly takeOver: boolean; readonly lookupFirst: boolean }
  /** Comment on the case; `occurrences`: firing occurrences not reported yet (this event included). */
  | { readonly kind: 'comment'; readonly reason: CommentReason; readonly occurrences: number }
  /** Set the case's status to policy.close_status. */
  | { readonly kind: 'close' }
  /** Set the case's status to policy.reopen_status. */
  | { readonly kind: 'reopen' }
  /** The case does not exist yet (create in flight): handle this event again later (retry queue). */
  | { readonly kind: 'defer' };

/** Why: stable codes for logs, metrics (deduplicated / commented / closed / reopened) and tests. */
export type DecisionReason =
  | 'new_alert'
  | 'create_stale_intent'
  | 'create_outcome_unknown'
  | 'new_case_after_window'
  | 'new_case_after_delete'
  | 'new_case_after_abandon'
  | 'repeat_commented'
  | 'repeat_coalesced'
  | 'create_pending'
  | 'resolve_deferred'
  | 'resolved_closed'
  | 'resolved_commented'
  | 'resolved_ignored'
  | 'firing_again'
  | 'reopened'
  | 'informational_commented'
  | 'informational'
  /** A human's note, its own comment (lambda/lifecycle/note.ts); `note_pending`: that comment is already owed. */
  | 'note_commented'
  | 'note_pending'
  | 'no_case'
  | 'already_resolved'
  | 'already_closed'
  | 'wont_fix'
  /** A firing sent at or before the resolve that resolved or closed the case (or a human's close): no reopen (issue 13). */
  | 'stale_event'
  /** A resolve older (sender time) than the alert's latest firing: it does not close (issue 13). */
  | 'stale_resolve';

export interface Decision {
  /** Datadog calls in order; empty means none. */
  readonly actions: readonly LifecycleAction[];
  readonly reason: DecisionReason;
  /** Count this firing occurrence (ledger recordOccurrence) — false for a create, which counts itself. */
  readonly record: boolean;
  /**
   * Read the case first (getCase; 404 -> 'missing'), fold it in with observeCase, and decide again
   * with `verified: true`: a human may have closed it, or closed it as won't-fix, in Datadog.
   */
  readonly verify: boolean;
  /** Occurrence count through which a comment in `actions` reports (for the ledger's CommentMark). */
  readonly commentThrough?: number;
}

const none = (reason: DecisionReason, record = false): Decision => ({ actions: [], reason, record, verify: false });

/**
 * The lifecycle as a pure function: the alert's ledger entry (as read, before this event) x the event
 * -> the Datadog actions. `now` is ms. See the README's timeline for the rules in prose.
 */
export function decide(entry: LedgerEntry | undefined, event: LifecycleEvent, policy: LifecyclePolicy, now: number): Decision {

  if (entry === undefined) {
    if (event.signal === 'firing') return { actions: [{ kind: 'create', generation: 0, replacing: false, takeOver: false, lookupFirst: false }], reason: 'new_alert', record: false, verify: false };
    return none(event.signal === 'resolved' ? 'no_case' : 'informational');
  }

  const withCase = (actions: LifecycleAction[], reason: DecisionReason, record: boolean, commentThrough?: number): Decision => ({
    actions,
    reason,
    record,
    verify: policy.verify_case_status && !event.verified && actions.some((a) => a.kind !== 'create' && a.kind !== 'defer'),
    ...(commentThrough !== undefined ? { commentThrough } : {}),
  });
  /** Unreported occurrences; a firing event counts itself. */
  const pending = event.signal === 'firing' ? entry.occurrences + 1 - entry.commentedOccurrences : entry.occurrences - entry.commentedOccurrences;
  const through = entry.occurrences + (event.signal === 'firing' ? 1 : 0);
  const intervalDue = now - (entry.lastCommentAt ?? entry.openedAt ?? entry.createStartedAt) >= policy.comment_interval_seconds * 1000;

  switch (entry.state) {
    case 'creating': {
      const stale = now - entry.createStartedAt >= policy.create_intent_timeout_seconds * 1000;
      if (event.signal === 'firing') {
        const takeOver = { kind: 'create', generation: entry.generation, replacing: false, takeOver: true, lookupFirst: true } as const;
        // The last create failed and its retry could not be queued (answered 503): most likely this is
        // the sender's retry of that delivery, so it is not counted again.
        if (entry.ambiguousIntentId === entry.intentId) return { actions: [takeOver], reason: 'create_outcome_unknown', record: false, verify: false };
        if (stale) return { actions: [takeOver], reason: 'create_stale_intent', record: true, verify: false };
        return none('create_pending', true);
      }
      if (event.signal === 'resolved') {
        if (entry.lastFiringAt !== undefined && event.occurredAt < entry.lastFiringAt) return none('stale_resolve');
        return { actions: [{ kind: 'defer' }], reason: 'resolve_deferred', record: false, verify: false };
      }
      return none('informational');
    }

    case 'open':
    case 'resolved': {
      if (event.signal === 'firing') {
        // Sent at or before the resolve that resolved it (out of order, a retry of an old firing): it stays resolved.
        if (entry.state === 'resolved' && entry.lastResolveAt !== undefined && event.occurredAt <= entry.lastResolveAt) return none('stale_event');
        if (entry.state === 'resolved') return withCase([{ kind: 'comment', reason: 'firing_again', occurrences: pending }], 'firing_again', true, through);
        if (intervalDue) return withCase([{ kind: 'comment', reason: 'repeat', occurrences: pending }], 'repeat_commented', true, through);
        return none('repeat_coalesced', true);
      }
      if (event.signal === 'resolved') {
        if (entry.state === 'resolved') return none('already_resolved');
        // Sent before the alert's latest firing (out of order, or deferred while it fired again): it must not close.
        if (entry.lastFiringAt !== undefined && event.occurredAt < entry.lastFiringAt) return none('stale_resolve');
        if (policy.on_resolve === 'ignore') return none('resolved_ignored');
        const comment: LifecycleAction = { kind: 'comment', reason: 'resolved', occurrences: pending };
        if (policy.on_resolve === 'comment') return withCase([comment], 'resolved_commented', false, through);
        return withCase([comment, { kind: 'close' }], 'resolved_closed', false, through);
      }
      if (policy.on_informational === 'comment' && intervalDue) {
        return withCase([{ kind: 'comment', reason: 'informational', occurrences: pending }], 'informational_commented', false, through);
      }
      return none('informational');
    }

    case 'closed': {
      if (event.signal !== 'firing') return none(event.signal === 'resolved' ? 'already_closed' : 'informational');
      const abandoned = isAbandoned(entry);
      if (entry.closedStatus === DELETED_STATUS || abandoned) {
        const reason = abandoned ? 'new_case_after_abandon' : 'new_case_after_delete';
        return { actions: [{ kind: 'create', generation: entry.generation + 1, replacing: true, takeOver: false, lookupFirst: false }], reason, record: false, verify: false };
      }
      const closedAt = entry.closedAt ?? 0;
      // Sent before the close (out-of-order delivery, a retry of an old firing): it must not reopen. A close
      // of the bridge's is compared on the resolve's own time, the clock the firing's time is on, not on when
      // that resolve reached the bridge (late: a sender's retry, a deferral).
      const closedBySender = entry.closedBy === 'bridge' && entry.lastResolveAt !== undefined ? entry.lastResolveAt : closedAt;
      if (event.occurredAt <= closedBySender) return none('stale_event');
      const withinWindow = now - closedAt <= policy.reopen_window_seconds * 1000 && policy.reopen_window_seconds > 0;
      if (withinWindow) {
        if (isNeverReopenStatus(policy, entry.closedStatus)) return none('wont_fix');
        return withCase([{ kind: 'reopen' }, { kind: 'comment', reason: 'reopened', occurrences: pending }], 'reopened', true, through);
      }
      return { actions: [{ kind: 'create', generation: entry.generation + 1, replacing: true, takeOver: false, lookupFirst: false }], reason: 'new_case_after_window', record: false, verify: false };
    }
  }
}

/**
 * The decision for a replayed event (issue 16): it is no new occurrence of the alert, so it is not
 * counted, and a repeat or informational comment (which reports occurrences) is not sent for it. What
 * else it decides stands: a create (its alert has no case, or an abandoned one), a close, a reopen
 * (a replayed firing older than the close is a stale event already, by its time of first receipt).
 */
export function asReplay(d: Decision): Decision {
  if (d.reason === 'repeat_commented' || d.reason === 'repeat_coalesced' || d.reason === 'create_pending') return none(d.reason === 'create_pending' ? 'create_pending' : 'repeat_coalesced');
  if (d.reason === 'informational_commented') return none('informational');
  return d;
}

/** True when Datadog shows the case closed (status CLOSED or a status in the closed group). */
export function isClosedInDatadog(summary: CaseSummary): boolean {
  return summary.status === 'CLOSED' || summary.statusGroup === 'SG_CLOSED';
}

/**
 * Folds what Datadog shows (getCase, or 'missing' on 404) into the entry, so decide() sees a case a
 * human closed, closed as won't-fix, reopened or deleted. Pure: the caller writes the change with
 * markClosed({ by: 'human' }) / markReopened when `changed`.
 */
export function observeCase(entry: LedgerEntry, summary: CaseSummary | 'missing', now: number): { readonly entry: LedgerEntry; readonly changed: boolean } {
  if (entry.state === 'creating') return { entry, changed: false };
  if (summary === 'missing') {
    if (entry.state === 'closed' && entry.closedStatus === DELETED_STATUS) return { entry, changed: false };
    return { entry: { ...entry, state: 'closed', closedAt: entry.closedAt ?? now, closedBy: 'human', closedStatus: DELETED_STATUS }, changed: true };
  }
  const status = summary.statusName ?? summary.status ?? 'CLOSED';
  if (isClosedInDatadog(summary)) {
    // The status the bridge set (`CLOSED`) reads back by its name (`Closed`): the same status.
    if (entry.state === 'closed' && entry.closedStatus?.toLowerCase() === status.toLowerCase()) return { entry, changed: false };
    const closedAtParsed = summary.closedAt !== undefined ? Date.parse(summary.closedAt) : Number.NaN;
    const closedAt = entry.state === 'closed' && entry.closedAt !== undefined ? entry.closedAt : Number.isFinite(closedAtParsed) ? closedAtParsed : now;
    // A human who only changes the status of a case the bridge closed (e.g. to won't fix) did not close it.
    const closedBy = entry.state === 'closed' ? (entry.closedBy ?? 'human') : 'human';
    return { entry: { ...entry, state: 'closed', closedAt, closedBy, closedStatus: status }, changed: true };
  }
  if (entry.state === 'closed') {
    // Reopened by a human in Datadog.
    const { closedAt: _a, closedBy: _b, closedStatus: _c, ...rest } = entry;
    return { entry: { ...rest, state: 'open', openedAt: now }, changed: true };
  }
  return { entry, changed: false };
}
