import type { CreatedCase, DatadogClient } from '../datadog/client.js';
import { callDatadog, storing } from './call.js';
import { awaitSlot, deferToSlot, deliverCase, handOver, type DeliveryDeps } from './deliver.js';
import type { OutcomeOf } from './outcome.js';
import { markRequest, remarkRequest } from '../ledger/marker.js';
import { DELETED_STATUS, isAbandoned, type Ledger } from '../ledger/types.js';
import { DatadogError, QueueError } from '../shared/errors.js';
import { MARKER_SEARCH_SETTLE_MS } from '../shared/budgets.js';
import type { PendingAction, PendingCase, PendingComment, PendingStatus } from './queue.js';
import { MAX_ATTEMPTS, MAX_DELAY_SECONDS } from '../datadog/retry-policy.js';

export interface UpdateDeps extends Omit<DeliveryDeps, 'datadog'> {
  readonly datadog: DatadogClient;
  readonly ledger: Ledger;
  readonly now: () => number;
  /** @default MARKER_SEARCH_SETTLE_SECONDS */
  readonly markerSearchSettleSeconds?: number;
}

/**
 * How long after a create whose outcome is unknown a marker lookup that finds nothing is trusted.
 * Datadog's search lags its writes (issue 4); before this, the create waits in the retry queue and
 * looks again rather than risk a second case.
 */
export const MARKER_SEARCH_SETTLE_SECONDS = MARKER_SEARCH_SETTLE_MS / 1000;

/** Why a create waits in the retry queue (its message's `reason`). */
export const SEARCH_SETTLE_REASON = "waiting for Datadog's search to show a case the lost create may have made";

/** Look the case up by marker before creating; `since`: when the create whose outcome is unknown was sent (ms). */
export interface MarkerLookup {
  readonly since: number;
}

/** What sendUpdate can come to. */
export type UpdateOutcome = OutcomeOf<'sent' | 'dropped' | 'queued' | 'dead_lettered'>;

/**
 * Sends one comment or status change. 429/5xx/no response: the retry queue (same delays as creates;
 * a 429 waits one second more so that queued creates go first); other 4xx: the DLQ; 404: the case
 * was deleted in Datadog, which is recorded in the ledger (markClosed by human, DELETED) and the update dropped.
 */
export async function sendUpdate(action: PendingComment | PendingStatus, deps: UpdateDeps): Promise<UpdateOutcome> {
  const datadog = deps.datadog;
  const slotAt = await awaitSlot('update', action, deps);
  if (slotAt !== undefined) return deferToSlot(action, slotAt, deps);
  try {
    if (action.kind === 'comment') await callDatadog(deps, action.source, (keys, options) => datadog.addComment(action.caseId, action.text, keys, options));
    else await callDatadog(deps, action.source, (keys, options) => datadog.setStatus(action.caseId, action.status === 'CLOSED' || action.status === 'OPEN' || action.status === 'IN_PROGRESS' ? action.status : { statusName: action.status }, keys, options));
    return { status: 'sent' };
  } catch (error) {
    if (!(error instanceof DatadogError)) throw error;
    if (error.status === 404) {
      await deps.ledger.markClosed({ source: action.source, identity: action.identity }, { caseId: action.caseId, at: deps.now(), by: 'human', status: DELETED_STATUS });
      deps.logger.warn('case no longer exists in Datadog; update dropped', { caseId: action.caseId, kind: action.kind });
      return { status: 'dropped', reason: 'case deleted in Datadog' };
    }
    return handOver(action, error, deps);
  }
}

/** What a create holding the ledger's intent can come to. */
export type CreateOutcome = OutcomeOf<'created' | 'queued' | 'dead_lettered' | 'dropped'>;

/**
 * Sends a create that holds the ledger's intent: looks the case up by marker first when `lookup` is
 * given (the previous attempt's outcome is unknown), then creates. A lookup that finds nothing within
 * MARKER_SEARCH_SETTLE_SECONDS of `lookup.since` sends the create to the retry queue to look again.
 * Records the case (completeCreate), or drops the intent when the create failed for good
 * (abandonCreate) so that a later firing tries again. A create dead-lettered while its outcome is
 * unknown (the last attempt timed out, or the lookup kept failing) may have made the case: its intent
 * is kept, flagged (markCreateAmbiguous), so that the next firing looks the case up first instead of
 * making a second one.
 * When the retry queue fails (QueueError: the webhook is answered 503 and sent again, or the SQS
 * record is delivered again), the create may have reached Datadog (a timeout, a 5xx): the intent is
 * kept, flagged (markCreateAmbiguous), so that the next attempt looks the case up by marker before
 * creating (one search, harmless when nothing was created).
 */
export async function createWithIntent(action: PendingCase & { readonly intentId: string; readonly marker: string }, deps: UpdateDeps, lookup: MarkerLookup | undefined): Promise<CreateOutcome> {
  try {
    return await lookUpOrCreate(action, deps, lookup);
  } catch (error) {
    if (error instanceof QueueError) await deps.ledger.markCreateAmbiguous({ source: action.source, identity: action.identity }, action.intentId).catch(() => false);
    throw error;
  }
}

async function lookUpOrCreate(action: PendingCase & { readonly intentId: string; readonly marker: string }, deps: UpdateDeps, lookup: MarkerLookup | undefined): Promise<CreateOutcome> {
  const key = { source: action.source, identity: action.identity };
  const datadog = deps.datadog;
  if (lookup !== undefined) {
    let found: CreatedCase | undefined;
    try {
      const summary = await callDatadog(deps, undefined, (keys, options) => datadog.findCaseByMarker(action.marker, keys, options));
      if (summary !== undefined) found = { id: summary.id, key: summary.key, statusName: summary.statusName };
    } catch (error) {
      if (!(error instanceof DatadogError)) throw error;
      // Still unknown: keep it ambiguous and try again later.
      const handed = await handOver({ ...action, ambiguous: true, ambiguousAt: lookup.since }, new DatadogError(error.message, { status: error.status, retryable: true, ambiguous: true, ...(error.rateLimit ? { rateLimit: error.rateLimit } : {}), ...(error.method !== undefined ? { method: error.method } : {}) }), deps);
      if (handed.status === 'dead_lettered') await deps.ledger.markCreateAmbiguous(key, action.intentId);
      return handed;
    }
    if (found !== undefined) {
      await deps.ledger.completeCreate(key, action.intentId, { caseId: found.id, caseKey: found.key }, deps.now());
      deps.logger.info('case found by its dedup marker: not created again', { caseId: found.id, caseKey: found.key, marker: action.marker });
      return { status: 'created', case: found };
    }
    const waitMs = lookup.since + (deps.markerSearchSettleSeconds ?? MARKER_SEARCH_SETTLE_SECONDS) * 1000 - deps.now();
    // Each wait counts as an attempt, so a clock that stands still cannot keep a create waiting forever.
    if (waitMs > 0 && action.attempt + 1 < MAX_ATTEMPTS) return waitForSearch(action, lookup.since, waitMs, deps);
  }
  const outcome = await deliverCase(action.ambiguous === false ? action : { ...action, ambiguous: false }, deps);
  if (outcome.status === 'created') {
    const done = await deps.ledger.completeCreate(key, action.intentId, { caseId: outcome.case.id, caseKey: outcome.case.key }, deps.now());
    if (done === undefined) deps.logger.warn('case created but the ledger intent was taken over meanwhile', { caseId: outcome.case.id, intentId: action.intentId });
  } else if (outcome.status === 'dead_lettered') {
    if (outcome.ambiguous === true) await deps.ledger.markCreateAmbiguous(key, action.intentId);
    else await deps.ledger.abandonCreate(key, action.intentId);
  }
  return outcome;
}

/** Sends an ambiguous create to the retry queue to look its case up again once Datadog's search has caught up. */
async function waitForSearch(action: PendingCase, since: number, waitMs: number, deps: UpdateDeps): Promise<CreateOutcome> {
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(waitMs / 1000)));
  const attempt = action.attempt + 1;
  await storing(`queue the case for ${action.identity}`, () => deps.queue.retry({ ...action, attempt, ambiguous: true, ambiguousAt: since }, { delaySeconds, reason: SEARCH_SETTLE_REASON }));
  deps.metrics?.count('RetriesEnqueued', action.source);
  deps.logger.info('case not found by its dedup marker yet: looking again before creating', { marker: action.marker, delaySeconds, attempt });
  return { status: 'queued', retryInSeconds: delaySeconds, reason: SEARCH_SETTLE_REASON };
}

/**
 * A create from the retry queue. With an intent (issue 4): goes ahead only while the ledger entry is
 * still `creating` with this intent id (else someone else owns it, or it is done: dropped), and looks
 * the case up by marker first when the last failure was ambiguous. When the alert has no entry at all,
 * or one closed as abandoned (its create failed for good and was dead-lettered, which abandons the
 * intent, and an operator redrove the message), it claims a new intent and creates, so a redrive is
 * never a silent no-op.
 * A create dead-lettered with an unknown outcome kept its intent, flagged: its redrive looks it up.
 * A message written before the ledger existed has no intent: it is handled as one whose intent was
 * given up (no entry: claim one and create; an entry held by another delivery: dropped).
 */
export async function retryCreate(action: PendingCase, deps: UpdateDeps): Promise<CreateOutcome> {
  const { intentId, marker } = action;
  const entry = await deps.ledger.get(action.source, action.identity);
  const abandoned = entry !== undefined && isAbandoned(entry);
  if (entry === undefined || abandoned) {
    // The intent was given up (the create failed for good and was dead-lettered) and this message came
    // back: an operator redrove it. The alert has no case: claim a new intent and create.
    const claim = await deps.ledger.beginCreate({ source: action.source, identity: action.identity, now: deps.now(), rule: action.rule, replacing: abandoned ? entry : undefined });
    if (!claim.won) {
      deps.logger.info('queued create dropped', { reason: 'another delivery holds the alert now', caseId: claim.entry.caseId });
      return { status: 'dropped', reason: 'another delivery holds the alert now' };
    }
    const fresh = claim.entry;
    deps.logger.info('queued create without an intent: claimed a new one', { intentId: fresh.intentId });
    // A message written before the ledger existed carries no marker: its request gets the new one.
    const request = marker === undefined ? markRequest(action.request, fresh.marker) : fresh.marker === marker ? action.request : remarkRequest(action.request, marker, fresh.marker);
    return createWithIntent({ ...action, request, intentId: fresh.intentId, marker: fresh.marker }, deps, action.ambiguous === true ? { since: sentAt(action, deps) } : undefined);
  }
  if (entry.state !== 'creating' || intentId === undefined || marker === undefined || entry.intentId !== intentId) {
    const reason = entry.state !== 'creating' ? `the alert's case is already ${entry.state}` : 'another delivery took the create over';
    deps.logger.info('queued create dropped', { reason, caseId: entry.caseId });
    return { status: 'dropped', reason };
  }
  // A redelivered record whose last attempt could not be queued again finds its intent flagged; that
  // attempt may have sent a create after the message's `ambiguousAt`, so the settle time runs from now.
  const lookup = entry.ambiguousIntentId === intentId ? { since: deps.now() } : action.ambiguous === true ? { since: sentAt(action, deps) } : undefined;
  return createWithIntent({ ...action, intentId, marker }, deps, lookup);
}

/**
 * When the create whose outcome is unknown was sent: the message's `ambiguousAt`; else (a message
 * written before it existed) now, which waits the longest.
 */
function sentAt(action: PendingCase, deps: UpdateDeps): number {
  return action.ambiguousAt ?? deps.now();
}

/**
 * Orders one batch of queued actions: creates first (when rate limited, a new case matters more than
 * a comment), then comments and status changes in arrival order, with the comments queued for the
 * same case merged into one (their texts joined, occurrences added up). `items` names the items each
 * planned action stands for (the first one's own action when nothing was merged).
 */
export function planBatch<T extends { readonly action: PendingAction }>(items: readonly T[]): { action: PendingAction; items: T[] }[] {
  const creates: { action: PendingAction; items: T[] }[] = [];
  const updates: { action: PendingAction; items: T[] }[] = [];
  const commentAt = new Map<string, { action: PendingComment; items: T[] }>();
  for (const item of items) {
    const action = item.action;
    if (action.kind === 'create_case') {
      creates.push({ action, items: [item] });
    } else if (action.kind === 'comment') {
      const existing = commentAt.get(action.caseId);
      if (existing !== undefined) {
        existing.action = combineComments(existing.action, action);
        existing.items.push(item);
      } else {
        const planned = { action, items: [item] };
        commentAt.set(action.caseId, planned);
        updates.push(planned);
      }
    } else {
      updates.push({ action, items: [item] });
    }
  }
  // Each in the order of its rate-budget slot (records are handled one after another).
  const bySlot = (a: { action: PendingAction }, b: { action: PendingAction }): number => (a.action.slotAt ?? 0) - (b.action.slotAt ?? 0);
  return [...creates.sort(bySlot), ...updates.sort(bySlot)];
}

export function combineComments(a: PendingComment, b: PendingComment): PendingComment {
  return { ...a, text: `${a.text}\n\n${b.text}`, occurrences: (a.occurrences ?? 0) + (b.occurrences ?? 0), attempt: Math.min(a.attempt, b.attempt) };
}
