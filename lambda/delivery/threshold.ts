import { hash } from 'node:crypto';
import { newIntentId } from '../ledger/intent-id.js';
import type { AlertKey } from '../ledger/types.js';
import { firingsCounted, firingsReset, type OpenAfter } from '../lifecycle/threshold.js';
import type { AlertWork } from '../lifecycle/work.js';
import type { OutboxDeps } from './outbox.js';
import type { OutcomeOf } from './outcome.js';
import { STEP_HOOKS, step } from './steps.js';

/** No case yet: a firing counted below the occurrence threshold, or a resolve that reset the count (issue 17). */
export type BelowThreshold = OutcomeOf<'below_threshold'>;

/** The threshold was reached: how many firings count, and the first of them (ms). */
export interface ThresholdReached {
  readonly status: 'reached';
  readonly occurrences: number;
  readonly firstSeen: number;
}

/** Per request, for senders without a delivery id: one key per event, kept across the lifecycle's rounds. */
const requestKeys = new WeakMap<AlertWork, string>();

/**
 * The firing's key in the count: a hash of the sender's delivery id (so a retry of one delivery
 * counts once, and the item stays small whatever the id's length), else one per request (a sender
 * without delivery ids counts each request, its retries included).
 */
function firingKey(work: AlertWork): string {
  if (work.deliveryId !== undefined) return hash('sha256', work.deliveryId, 'base64url').slice(0, 16);
  let key = requestKeys.get(work);
  if (key === undefined) {
    key = `r:${newIntentId()}`;
    requestKeys.set(work, key);
  }
  return key;
}

/**
 * A firing that would open a case under `open_after`: counted on the alert's count in the ledger
 * (one atomic write, once per delivery), then compared with the threshold. `since`: the close of the
 * alert's previous case (firings before it do not count toward the next one).
 */
export async function countTowardThreshold(work: AlertWork, openAfter: OpenAfter, since: number | undefined, deps: OutboxDeps, now: number): Promise<BelowThreshold | ThresholdReached> {
  const key: AlertKey = { source: work.source, identity: work.identity };
  const at = work.occurredAt ?? now;
  const count = await deps.ledger.countFiring(key, { key: firingKey(work), at }, openAfter.within_seconds * 1000);
  if (STEP_HOOKS) await step(deps, 'threshold.counted', key);
  const counted = firingsCounted(count, at, openAfter, since);
  if (counted.length >= openAfter.occurrences) return { status: 'reached', occurrences: counted.length, firstSeen: counted[0] ?? at };
  deps.logger.info('firing below the occurrence threshold: no case yet', { identity: work.identity, occurrences: counted.length, needed: openAfter.occurrences, withinSeconds: openAfter.within_seconds });
  return { status: 'below_threshold', reason: 'counted', occurrences: counted.length, openAfter };
}

/**
 * A resolve of an alert without a case: resets its count. Undefined when no firing was counting
 * toward a new case (`since`: the previous case's close), so the resolve is answered as before.
 */
export async function resetThreshold(key: AlertKey, through: number, since: number | undefined, openAfter: OpenAfter | undefined, deps: OutboxDeps): Promise<BelowThreshold | undefined> {
  const before = await deps.ledger.resetFirings(key, through);
  if (before === undefined) return undefined;
  if (STEP_HOOKS) await step(deps, 'threshold.reset', key);
  const reset = firingsReset(before, through, since);
  if (reset === 0) return undefined;
  deps.logger.info('resolved below the occurrence threshold: count reset, no case', { identity: key.identity, reset });
  return { status: 'below_threshold', reason: 'reset', occurrences: 0, openAfter };
}
