import type { CreatedCase, DatadogClient, DatadogKeys } from '../datadog/client.js';
import { MAX_ATTEMPTS, retryDelaySeconds } from '../datadog/retry-policy.js';
import { DatadogError, QueueError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { noopMetrics, type BridgeMetrics } from '../shared/metrics.js';
import type { ActionQueue, PendingCase } from '../shared/queue.js';

export type DeliveryOutcome =
  | { readonly status: 'created'; readonly case: CreatedCase }
  | { readonly status: 'queued'; readonly delaySeconds: number; readonly reason: string }
  | { readonly status: 'dead_lettered'; readonly reason: string };

export interface DeliveryDeps {
  readonly datadog: DatadogClient;
  /** Current Datadog keys; `refresh` re-reads the secret (after a 401/403). */
  readonly keys: { get(): Promise<DatadogKeys>; refresh(): Promise<DatadogKeys> };
  readonly queue: ActionQueue;
  readonly logger: Logger;
  readonly random?: () => number;
  /** Counts CasesCreated, RateLimited, RetriesEnqueued, DeadLettered and times each Datadog call. @default no-op */
  readonly metrics?: BridgeMetrics;
}

/**
 * Creates the case, or hands the action to the queue: retry for 429/5xx/no response, dead letter
 * for anything retrying will not fix. Throws QueueError only when the queue itself fails.
 */
export async function deliverCase(action: PendingCase, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const metrics = deps.metrics ?? noopMetrics;
  let keys = await deps.keys.get();
  let refreshed = false;
  for (;;) {
    const started = performance.now();
    try {
      const created = await deps.datadog.createCase(action.request, keys);
      metrics.latency(action.source, performance.now() - started);
      metrics.count('CasesCreated', action.source);
      return { status: 'created', case: created };
    } catch (error) {
      metrics.latency(action.source, performance.now() - started);
      if (!(error instanceof DatadogError)) throw error;
      if (error.status === 429) metrics.count('RateLimited', action.source);
      if ((error.status === 401 || error.status === 403) && !refreshed) {
        // The keys may have been rotated since this container cached them: read them once more.
        refreshed = true;
        keys = await deps.keys.refresh();
        continue;
      }
      return await handOver(action, error, deps);
    }
  }
}

async function handOver(action: PendingCase, error: DatadogError, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const reason = error.message;
  try {
    // A 429 is Datadog pacing us, not a failed attempt.
    const attempt = error.status === 429 ? action.attempt : action.attempt + 1;
    if (error.retryable && attempt < MAX_ATTEMPTS) {
      const delaySeconds = retryDelaySeconds(error, attempt, deps.random);
      await deps.queue.retry({ ...action, attempt }, { delaySeconds, reason });
      deps.metrics?.count('RetriesEnqueued', action.source);
      deps.logger.warn('case deferred to the retry queue', { status: error.status, delaySeconds, attempt, reason, rateLimit: error.rateLimit });
      return { status: 'queued', delaySeconds, reason };
    }
    const why = error.retryable ? `gave up after ${attempt} attempts: ${reason}` : reason;
    await deps.queue.deadLetter({ ...action, attempt }, { reason: why });
    deps.metrics?.count('DeadLettered', action.source);
    deps.logger.error('case dead-lettered', { status: error.status, reason: why, errors: error.errors });
    return { status: 'dead_lettered', reason: why };
  } catch (cause) {
    if (cause instanceof QueueError) throw cause;
    throw new QueueError(`could not queue the case for ${action.identity}: ${(cause as Error).message}`, { cause });
  }
}
