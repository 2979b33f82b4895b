import type { CallOptions, DatadogKeys } from '../datadog/client.js';
import { BridgeError, DatadogError, QueueError } from '../shared/errors.js';
import type { BridgeMetrics } from '../shared/metrics.js';

/** The Datadog keys of one webhook or retry record; `refresh` re-reads the secret (after a 401/403). */
export interface KeySource {
  get(): Promise<DatadogKeys>;
  refresh(): Promise<DatadogKeys>;
}

/** The smallest time worth giving a Datadog call; with less left before the sender's deadline, none is made. */
export const MIN_CALL_MS = 100;

export interface CallDeps {
  readonly keys: KeySource;
  readonly metrics?: BridgeMetrics | undefined;
  /** When the sender's answer is due, less its margin (ms; issue 15): no call runs past it. @default none */
  readonly deadlineAt?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/**
 * The call's deadline: what is left before `deadlineAt`. With less than MIN_CALL_MS left, no call is
 * made: a retryable DatadogError that is not ambiguous (nothing was sent), so the action is queued.
 */
function callOptions(deps: CallDeps): CallOptions {
  if (deps.deadlineAt === undefined) return {};
  const left = deps.deadlineAt - (deps.now ?? Date.now)();
  if (left < MIN_CALL_MS) throw new DatadogError(`not sent: the sender's deadline leaves ${Math.max(0, Math.round(left))} ms for the Datadog call`, { status: 0, retryable: true, ambiguous: false });
  return { timeoutMs: left };
}

/**
 * Thrown by callDatadog when `again` refuses the second try after a 401/403 (issue 13: the outbox's
 * claim no longer holds it). Nothing was done in Datadog: the first try was refused; the cause is its answer.
 */
export class RetryRefusedError extends BridgeError {}

/**
 * One Datadog call of the bridge, with the status handling every call shares: after a 401/403 the
 * keys are read once more (they may have been rotated since this container cached them) and the call
 * is tried again once, if `again` (asked after the keys are read) allows it; else RetryRefusedError.
 * For a call `timed` for a source, each attempt's latency is recorded (DatadogLatency) and a 429
 * counted (RateLimited). Any other failure is thrown as it came (a DatadogError carries the status:
 * the caller classifies 404 and hands the rest over, see handOver).
 */
export async function callDatadog<T>(deps: CallDeps, timed: string | undefined, call: (keys: DatadogKeys, options: CallOptions) => Promise<T>, again?: () => Promise<boolean>): Promise<T> {
  let keys = await deps.keys.get();
  for (let refreshed = false; ; refreshed = true) {
    const options = callOptions(deps);
    const started = performance.now();
    try {
      const result = await call(keys, options);
      if (timed !== undefined) deps.metrics?.latency(timed, performance.now() - started);
      return result;
    } catch (error) {
      if (timed !== undefined) deps.metrics?.latency(timed, performance.now() - started);
      if (!(error instanceof DatadogError)) throw error;
      if (error.status === 429 && timed !== undefined) deps.metrics?.count('RateLimited', timed);
      if ((error.status === 401 || error.status === 403) && !refreshed) {
        keys = await deps.keys.refresh();
        if (again !== undefined && !(await again())) throw new RetryRefusedError(`Datadog answered ${error.status}; not tried again with the re-read keys`, { cause: error });
        continue;
      }
      throw error;
    }
  }
}

/** Runs `store` (a hand-over to the retry queue or the DLQ): any failure becomes a QueueError, `could not ${what}: ...`. */
export async function storing<T>(what: string, store: () => Promise<T>): Promise<T> {
  try {
    return await store();
  } catch (cause) {
    if (cause instanceof QueueError) throw cause;
    throw new QueueError(`could not ${what}: ${(cause as Error).message}`, { cause });
  }
}
