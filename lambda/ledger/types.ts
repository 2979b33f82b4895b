import type { CaseCreateRequest } from '../datadog/schema.js';

/**
 * What the bridge remembers about one alert (source + dedup identity) and its current case.
 *
 * States: `creating` (intent recorded, create in flight or queued) -> `open` (case exists) ->
 * `resolved` (resolved at the source, case left open by `on_resolve: comment`) / `closed`
 * (case closed by the bridge or found closed by a human) -> `open` again on reopen, or a new
 * `creating` intent with generation + 1 after the reopen window.
 */
export type LedgerState = 'creating' | 'open' | 'resolved' | 'closed';

/** Status recorded when a case was found deleted (GET answered 404). */
export const DELETED_STATUS = 'DELETED';

/**
 * Status of an alert whose new case (generation 1 or later) failed for good: no case, closed by the
 * bridge. The entry keeps the generation, so that the next case gets a marker of its own (generation
 * + 1) instead of the first case's.
 */
export const ABANDONED_STATUS = 'ABANDONED';

/** An alert left by abandonCreate: closed with ABANDONED_STATUS and no case (a human's status of that name has one). */
export function isAbandoned(entry: LedgerEntry): boolean {
  return entry.state === 'closed' && entry.closedStatus === ABANDONED_STATUS && entry.caseId === undefined;
}

export interface LedgerEntry {
  readonly source: string;
  readonly identity: string;
  readonly state: LedgerState;
  /** 0 for the alert's first case, + 1 for each new case after a close (see dedupMarker). */
  readonly generation: number;
  /** dedupMarker(source, identity, generation): the footer line of the case description. */
  readonly marker: string;
  /** Owner token of the current create intent; completeCreate/takeOverCreate check it. */
  readonly intentId: string;
  /** When the current create intent was recorded (ms). */
  readonly createStartedAt: number;
  /**
   * The intent whose create failed without its retry being queued (issue 4): the case may exist, so
   * the next firing takes the intent over and looks the case up by marker before creating. It names
   * the intent, so a take-over (a new intentId) voids it.
   */
  readonly ambiguousIntentId?: string | undefined;
  readonly caseId?: string | undefined;
  readonly caseKey?: string | undefined;
  /** The rule that created the case. */
  readonly rule?: string | undefined;
  /** First and last firing occurrence of this alert (ms). */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Firing occurrences counted for the current case (the creating one included). */
  readonly occurrences: number;
  /** Occurrences already reported (in the case itself or in a comment). */
  readonly commentedOccurrences: number;
  /** When the case was created or last reopened (ms). */
  readonly openedAt?: number | undefined;
  readonly lastCommentAt?: number | undefined;
  readonly resolvedAt?: number | undefined;
  readonly closedAt?: number | undefined;
  readonly closedBy?: 'bridge' | 'human' | undefined;
  /** Datadog status name (or status) the case was closed with, e.g. `Closed`, `Won't fix`, DELETED. */
  readonly closedStatus?: string | undefined;
  readonly reopenCount: number;
  // Issue 13 (write-ahead): absent on entries written before it; the first swap() adds them.
  /** Version: + 1 on every swap(). Absent: written by a version before the outbox. */
  readonly rev?: number | undefined;
  /** Datadog effects this entry's transitions still owe, in order (the outbox). Absent or [] = none. */
  readonly outbox?: readonly OutboxAction[] | undefined;
  /** Next outbox action's sequence number (action ids derive from it). */
  readonly nextSeq?: number | undefined;
  /** The worker working the outbox, and until when (ms): after claimUntil anyone may take over. */
  readonly claimId?: string | undefined;
  readonly claimUntil?: number | undefined;
  /** Latest firing's time (ms, the sender's when it gives one): a resolve older than it does not close. */
  readonly lastFiringAt?: number | undefined;
  /** The applied resolve's time (ms, the sender's when it gives one): a firing at or before it does not reopen the case the bridge closed. */
  readonly lastResolveAt?: number | undefined;
}

/**
 * One Datadog effect owed by the alert (issue 13). Written in the same conditional write as the
 * transition that implies it and removed by the write that records its result, so that whoever finds
 * it (the alert's next delivery, the retry function's watchdog) completes it. `claimedBy`/`sentAt`
 * are written before the effect: an action whose `claimedBy` is not the current worker's may have
 * reached Datadog already, so it is guarded (`guard`): a create is looked up by marker, a comment by
 * its marker line in the case's timeline.
 */
export interface OutboxAction {
  /** `cbu` + 20 hex: also the marker line of a comment. */
  readonly id: string;
  /** `link`: the new case linked to the alert's previous case (issue 17), best effort: never dead-lettered. */
  readonly kind: 'create' | 'comment' | 'status' | 'link';
  /** ms */
  readonly createdAt: number;
  /** The worker (claimId) that last held this action, and when (ms). */
  readonly claimedBy?: string | undefined;
  readonly sentAt?: number | undefined;
  /** The latest time (ms) a previous worker may have sent it (a guarded create waits for the search to settle from then). */
  readonly suspectAt?: number | undefined;
  /** A previous worker may have sent it: check before sending. */
  readonly guard?: boolean | undefined;
  /** Failures other than a rate limit. */
  readonly tries?: number | undefined;
  /** Not before (ms): rate limited or waiting for the marker search to settle. */
  readonly notBefore?: number | undefined;
  /** The rate-budget slot this action booked (ms; issue 15): handed back to the budget as its ticket. */
  readonly slotAt?: number | undefined;
  /** create: the request, already marked. */
  readonly request?: CaseCreateRequest | undefined;
  /** comment: the text (without the marker line); status: the status or status name. */
  readonly text?: string | undefined;
  readonly status?: string | undefined;
  /** link: the alert's previous case, which the new case (caseId, or the create's) succeeds. */
  readonly linkTo?: string | undefined;
  /** What the action is for (metrics): comment, close or reopen. */
  readonly purpose?: 'comment' | 'close' | 'reopen' | undefined;
  /** The case; absent for actions queued behind a create (taken from the entry when they run). */
  readonly caseId?: string | undefined;
  /** The source's rule (a create's) and delivery id, for the queue messages. */
  readonly rule?: string | undefined;
  readonly deliveryId?: string | undefined;
  /** The journal record of the delivery that owes it (issue 16): whoever finishes it updates that record. */
  readonly journalId?: string | undefined;
}

/**
 * Issue 17: the firings counted toward an alert's occurrence threshold (`open_after`), kept on an
 * item of their own beside the alert's entry (no case exists yet, so there may be no entry).
 */
export interface FiringCount {
  /** Firing key (a hash of the delivery id, or of a per-request id for senders without one) -> when it was received (ms; a key's first time). */
  readonly firings: Readonly<Record<string, number>>;
  /** The latest resolve that reset the count (ms): firings at or before it do not count. */
  readonly resetAt: number | undefined;
}

/** What a redelivered delivery id finds: new to the bridge, still being handled, or handled. */
export type DeliveryClaim = 'claimed' | 'in_progress' | 'done';

export interface AlertKey {
  readonly source: string;
  readonly identity: string;
}

export interface BeginCreateInput extends AlertKey {
  /** ms */
  readonly now: number;
  readonly rule?: string;
  /**
   * Replace this closed entry (a new case after the reopen window, or after the case was deleted):
   * succeeds only if the stored entry is still that closed case. Generation becomes its + 1.
   */
  readonly replacing?: LedgerEntry;
}

/** `won: false` means another delivery holds the entry: `entry` is what is stored. */
export type BeginCreateResult = { readonly won: boolean; readonly entry: LedgerEntry };

/** A comment reported in the same write as a transition. */
export interface CommentMark {
  /** ms */
  readonly at: number;
  /** Occurrence count reported through (entry.occurrences after this event). */
  readonly occurrences: number;
}

/**
 * The dedup ledger. Every write that decides who acts is conditional: of N concurrent identical
 * deliveries exactly one wins beginCreate / markCommented / markClosed / markReopened, and the
 * others get `won: false` / `false` and do nothing in Datadog.
 */
export interface Ledger {
  get(source: string, identity: string): Promise<LedgerEntry | undefined>;
  /** Conditional put of a `creating` intent (occurrences 1). Fails, returning the stored entry, if one exists. */
  beginCreate(input: BeginCreateInput): Promise<BeginCreateResult>;
  /** Takes over a stale `creating` intent (the process died between intent and create). */
  takeOverCreate(key: AlertKey, staleIntentId: string, now: number): Promise<BeginCreateResult>;
  /** Records the created case; undefined when the intent is no longer this one's (taken over or gone). */
  completeCreate(key: AlertKey, intentId: string, created: { readonly caseId: string; readonly caseKey: string | undefined }, now: number): Promise<LedgerEntry | undefined>;
  /**
   * Drops a `creating` intent whose create failed for good (4xx, dead letter), so a later delivery
   * tries again: the alert's first intent (generation 0) is deleted; a later one becomes `closed` with
   * ABANDONED_STATUS and no case, keeping its generation.
   */
  abandonCreate(key: AlertKey, intentId: string): Promise<boolean>;
  /**
   * Keeps a `creating` intent whose create failed and could not be queued for retry, flagged
   * (ambiguousIntentId): its outcome may be unknown, so the next delivery looks the case up first.
   */
  markCreateAmbiguous(key: AlertKey, intentId: string): Promise<boolean>;
  /**
   * ADD 1 to occurrences, SET lastSeen, and lastFiringAt to `firingAt` when that is later (issue 13:
   * event order). Undefined when there is no entry (nothing is created). `seenFiringAt`: the
   * entry's lastFiringAt as the caller read it, a hint only (issue 15): when it is not earlier than
   * `firingAt` (an Alertmanager repeat keeps its alert's start), the count is written first on the
   * condition that the stored one is not earlier either, instead of first trying the move forward
   * that would be refused (a refused conditional write is billed). The result is the same either way.
   */
  recordOccurrence(key: AlertKey, at: number, firingAt?: number, seenFiringAt?: number): Promise<LedgerEntry | undefined>;
  /** Claims a repeat comment: true only if lastCommentAt is still `previousCommentAt` (coalescing under concurrency). */
  markCommented(key: AlertKey, mark: CommentMark & { readonly caseId: string; readonly previousCommentAt: number | undefined }): Promise<boolean>;
  /** open -> resolved (on_resolve: comment). */
  markResolved(key: AlertKey, change: { readonly caseId: string; readonly at: number; readonly comment?: CommentMark }): Promise<boolean>;
  /** open|resolved -> closed; or, with `by: 'human'`, records what Datadog showed (status name may change while closed). */
  markClosed(
    key: AlertKey,
    change: { readonly caseId: string; readonly at: number; readonly by: 'bridge' | 'human'; readonly status: string; readonly comment?: CommentMark },
  ): Promise<boolean>;
  /** closed|resolved -> open, only if the entry is still in `from` for that case (one of N concurrent firings wins). */
  markReopened(key: AlertKey, change: { readonly caseId: string; readonly at: number; readonly from: 'closed' | 'resolved'; readonly comment?: CommentMark }): Promise<boolean>;
  /** Remembers a sender's delivery id for `ttlSeconds` (default one day). False when it was already seen. */
  rememberDelivery(source: string, deliveryId: string, now: number, ttlSeconds?: number): Promise<boolean>;
  /** Forgets a delivery id whose handling failed (answered 5xx), so that the sender's retry is handled. */
  forgetDelivery(source: string, deliveryId: string): Promise<void>;
  /**
   * Issue 13: the one conditional write of the outbox. Stores `after` (its `rev` becomes before's + 1)
   * only if the stored entry is still `before` (same `rev`; for an entry written before `rev` existed,
   * the same state, intent, case, generation and last comment) or, for `before` undefined, absent.
   * Occurrences are added (after - before), so a concurrent recordOccurrence is kept. Every other
   * write (markClosed / markReopened of the verify path, the create-intent and comment writes) adds 1
   * to `rev` too, so a swap decided on a read from before it fails. False when the condition failed:
   * read again and decide again.
   */
  swap(before: LedgerEntry | undefined, after: LedgerEntry): Promise<boolean>;
  /**
   * Claims a delivery id before its work: `claimed` when it is new (or its last claim is older than
   * `staleMs`: the worker died before storing its outcome), `in_progress` while another worker holds
   * it, `done` once finishDelivery stored it (or when it was remembered by a version without claims).
   */
  claimDelivery(source: string, deliveryId: string, now: number, staleMs: number, ttlSeconds?: number): Promise<DeliveryClaim>;
  /** Marks a claimed delivery id done: its outcome is stored (the entry's transition and outbox). */
  finishDelivery(source: string, deliveryId: string, now: number, ttlSeconds?: number): Promise<void>;
  /**
   * Issue 17: counts one firing toward the alert's occurrence threshold, atomically and once per
   * `firing.key` (a second count of the same key keeps its first time: a sender's retry of one
   * delivery counts once). Returns the count after it, this firing included. Firings received more
   * than `windowMs` before this one are dropped from the item (they can no longer count).
   */
  countFiring(key: AlertKey, firing: { readonly key: string; readonly at: number }, windowMs: number): Promise<FiringCount>;
  /**
   * Issue 17: a resolve resets the count: records `through` as `resetAt` and removes the firings
   * received at or before it. Returns the count as it was before; undefined, with nothing written,
   * when the alert has no count or a reset at or after `through` is recorded.
   */
  resetFirings(key: AlertKey, through: number): Promise<FiringCount | undefined>;
}

export const DELIVERY_TTL_SECONDS = 86_400;
