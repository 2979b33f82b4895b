import type { DatadogClient } from '../datadog/client.js';
import type { OutcomeOf } from './outcome.js';
import { MAX_ATTEMPTS, MAX_DELAY_SECONDS, retryDelaySeconds } from '../datadog/retry-policy.js';
import { DatadogError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { BridgeMetrics } from '../shared/metrics.js';
import { callDatadog, MIN_CALL_MS, storing, type KeySource } from './call.js';
import type { ActionQueue, PendingAction, PendingCase } from './queue.js';
import { delayUntil, isBudgetedMethod, type PaceKind, type Pacer } from './rate-budget.js';

/** What deliverCase can come to. */
export type DeliveryOutcome = OutcomeOf<'created' | 'queued' | 'dead_lettered'>;

export interface DeliveryDeps {
  readonly datadog: DatadogClient;
  /** Current Datadog keys; `refresh` re-reads the secret (after a 401/403). */
  readonly keys: KeySource;
  readonly queue: ActionQueue;
  readonly logger: Logger;
  readonly random?: () => number;
  /** Counts CasesCreated, RateLimited, RetriesEnqueued, DeadLettered and times each Datadog call. @default no-op */
  readonly metrics?: BridgeMetrics;
  /** Clock (ms) for PendingCase.ambiguousAt and the rate budget. @default Date.now */
  readonly now?: () => number;
  /** The shared rate budget (issue 15): each create, comment and status change waits for its slot. @default none (no pacing) */
  readonly pace?: Pacer | undefined;
  /** How long this caller may wait for a slot before it queues the action instead. @default 0 */
  readonly paceWaitMs?: number | undefined;
  /** Waits `ms` (injected with a fake clock in tests). @default setTimeout */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /**
   * When the sender's answer is due, less a margin (ms; the ingest, issue 15): a Datadog call gets
   * only the time left, a slot further than that is queued, and with no time left nothing is sent.
   * @default none (the retry function: the client's own deadline)
   */
  readonly deadlineAt?: number | undefined;
}

/** Why an action waits in the retry queue for its rate-budget slot (its message's `reason`). */
export const PACED_REASON = "waiting for a slot in Datadog's rate limit";

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the action's slot in the rate budget: undefined when the call may go now (after waiting
 * at most `paceWaitMs`), else the slot's time: the caller queues the action for it (see deferToSlot).
 * A budget that cannot be read does not stop the call: Datadog's 429 still paces it.
 */
export async function awaitSlot(kind: PaceKind, action: PendingAction, deps: Pick<DeliveryDeps, 'pace' | 'paceWaitMs' | 'sleep' | 'now' | 'logger' | 'deadlineAt'>): Promise<number | undefined> {
  if (deps.pace === undefined) return undefined;
  const clock = deps.now ?? Date.now;
  let ticket = action.slotAt;
  // A wait that ends late (a busy event loop) is checked again: a slot missed is booked anew.
  for (let tries = 0; tries < 3; tries += 1) {
    const now = clock();
    let decision;
    try {
      decision = await deps.pace.reserve(kind, now, ticket);
    } catch (error) {
      deps.logger.warn('rate budget unavailable; calling Datadog unpaced', { error });
      return undefined;
    }
    if (decision.go) return undefined;
    const waitMs = decision.notBeforeMs - now;
    const maxWaitMs = Math.min(deps.paceWaitMs ?? 0, deps.deadlineAt === undefined ? Infinity : deps.deadlineAt - MIN_CALL_MS - now);
    if (waitMs > maxWaitMs) return decision.notBeforeMs;
    await (deps.sleep ?? realSleep)(waitMs);
    ticket = decision.notBeforeMs;
  }
  return undefined;
}

/** Queues an action that has not been sent for its slot (`slotAt`); nothing was tried, so no attempt counts. */
export async function deferToSlot(action: PendingAction, slotAt: number, deps: Omit<DeliveryDeps, 'datadog' | 'keys'>): Promise<OutcomeOf<'queued'>> {
  const delaySeconds = delayUntil(slotAt, (deps.now ?? Date.now)(), MAX_DELAY_SECONDS);
  await storing(`queue the case for ${action.identity}`, () => deps.queue.retry({ ...action, slotAt }, { delaySeconds, reason: PACED_REASON }));
  deps.metrics?.count('RetriesEnqueued', action.source);
  deps.logger.info('case waits for its slot in the rate limit', { kind: action.kind, delaySeconds, slotAt });
  return { status: 'queued', retryInSeconds: delaySeconds, reason: PACED_REASON };
}

/**
 * Creates the case, or hands the action to the queue: retry for 429/5xx/no response, dead letter
 * for anything retrying will not fix. Throws QueueError only when the queue itself fails.
 */
export async function deliverCase(action: PendingCase, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const slotAt = await awaitSlot('create', action, deps);
  if (slotAt !== undefined) return deferToSlot(action, slotAt, deps);
  try {
    const created = await callDatadog(deps, action.source, (keys, options) => deps.datadog.createCase(action.request, keys, options));
    deps.metrics?.count('CasesCreated', action.source);
    return { status: 'created', case: created };
  } catch (error) {
    if (!(error instanceof DatadogError)) throw error;
    return await handOver(action, error, deps);
  }
}

/** Queues a failed action (any kind) for retry or dead-letters it; shared with updates.ts and run.ts. */
export async function handOver(action: PendingAction, error: DatadogError, deps: Omit<DeliveryDeps, 'datadog' | 'keys'>): Promise<OutcomeOf<'queued' | 'dead_lettered'>> {
  const reason = error.message;
  return storing(`queue the case for ${action.identity}`, async () => {
    // A 429 is Datadog pacing us, not a failed attempt.
    const attempt = error.status === 429 ? action.attempt : action.attempt + 1;
    // A create whose outcome is unknown is looked up by its marker before it is sent again (issue 4),
    // also when an operator redrives it from the DLQ, and no earlier than MARKER_SEARCH_SETTLE_SECONDS
    // after `ambiguousAt`: now for a create just sent (its answer arrives after it was sent, so this
    // errs on the long side), or, for a failed lookup (still ambiguous, nothing sent), the lost one's.
    // The slot it held (if any) is spent: the call was made.
    const next: PendingAction =
      action.kind === 'create_case' && action.marker !== undefined
        ? { ...action, attempt, slotAt: undefined, ambiguous: error.ambiguous, ambiguousAt: error.ambiguous ? (action.ambiguous === true ? action.ambiguousAt : undefined) ?? (deps.now ?? Date.now)() : undefined }
        : { ...action, attempt, slotAt: undefined };
    if (error.retryable && attempt < MAX_ATTEMPTS) {
      // Rate limited: with the rate budget, the next free slot (creates before comments); without it,
      // the reset, and comments and status changes one second more, so that queued creates go first.
      const slotAt = error.status === 429 ? await rebook(action, error, deps) : undefined;
      const delaySeconds =
        slotAt !== undefined
          ? delayUntil(slotAt, (deps.now ?? Date.now)(), MAX_DELAY_SECONDS)
          : retryDelaySeconds(error, attempt, deps.random) + (error.status === 429 && action.kind !== 'create_case' ? 1 : 0);
      await deps.queue.retry(slotAt !== undefined ? { ...next, slotAt } : next, { delaySeconds, reason });
      deps.metrics?.count('RetriesEnqueued', action.source);
      deps.logger.warn('case deferred to the retry queue', { status: error.status, delaySeconds, attempt, reason, rateLimit: error.rateLimit });
      return { status: 'queued', retryInSeconds: delaySeconds, reason };
    }
    const why = error.retryable ? `gave up after ${attempt} attempts: ${reason}` : reason;
    await deps.queue.deadLetter(next, { reason: why });
    deps.metrics?.count('DeadLettered', action.source);
    deps.logger.error('case dead-lettered', { status: error.status, reason: why, errors: error.errors });
    return next.kind === 'create_case' && next.ambiguous === true ? { status: 'dead_lettered', reason: why, ambiguous: true } : { status: 'dead_lettered', reason: why };
  });
}

/** After a 429: tells the rate budget (its reset is the floor) and books the action's next slot. */
function rebook(action: PendingAction, error: DatadogError, deps: Omit<DeliveryDeps, 'datadog' | 'keys'>): Promise<number | undefined> {
  return rebookAfter429(action.kind === 'create_case' ? 'create' : 'update', error, deps);
}

/**
 * After a 429 (here and in the outbox): the budget told, the next slot of a `kind` call; undefined:
 * retry at the reset. A read refused (a marker lookup, a guard's timeline read) is retried at its own
 * reset: its bucket may not be the writes' that the budget paces.
 */
export async function rebookAfter429(kind: PaceKind, error: DatadogError, deps: Pick<DeliveryDeps, 'pace' | 'now' | 'logger'>): Promise<number | undefined> {
  if (deps.pace === undefined || !isBudgetedMethod(error.method)) return undefined;
  const now = (deps.now ?? Date.now)();
  try {
    await deps.pace.observe(error.rateLimit, error.status, now);
    const decision = await deps.pace.reserve(kind, now);
    return decision.go ? undefined : decision.notBeforeMs;
  } catch (cause) {
    deps.logger.warn('rate budget unavailable; retrying at the reset', { error: cause });
    return undefined;
  }
}
