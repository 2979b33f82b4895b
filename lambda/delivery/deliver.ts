import type { DatadogClient } from '../datadog/client.js';
import type { OutcomeOf } from './outcome.js';
import { MAX_ATTEMPTS, retryDelaySeconds } from '../datadog/retry-policy.js';
import { DatadogError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import type { BridgeMetrics } from '../shared/metrics.js';
import { callDatadog, storing, type KeySource } from './call.js';
import type { ActionQueue, PendingAction, PendingCase } from './queue.js';

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
  /** Clock (ms) for PendingCase.ambiguousAt. @default Date.now */
  readonly now?: () => number;
}

/**
 * Creates the case, or hands the action to the queue: retry for 429/5xx/no response, dead letter
 * for anything retrying will not fix. Throws QueueError only when the queue itself fails.
 */
export async function deliverCase(action: PendingCase, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  try {
    const created = await callDatadog(deps, action.source, (keys) => deps.datadog.createCase(action.request, keys));
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
    const next: PendingAction =
      action.kind === 'create_case' && action.marker !== undefined
        ? { ...action, attempt, ambiguous: error.ambiguous, ambiguousAt: error.ambiguous ? (action.ambiguous === true ? action.ambiguousAt : undefined) ?? (deps.now ?? Date.now)() : undefined }
        : { ...action, attempt };
    if (error.retryable && attempt < MAX_ATTEMPTS) {
      // Rate limited: comments and status changes wait one second more, so that queued creates go first.
      const delaySeconds = retryDelaySeconds(error, attempt, deps.random) + (error.status === 429 && action.kind !== 'create_case' ? 1 : 0);
      await deps.queue.retry(next, { delaySeconds, reason });
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
