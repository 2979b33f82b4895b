import type { DatadogError } from '../shared/errors.js';

/** SQS's largest DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;
export const MAX_ATTEMPTS = 8;

/**
 * How long to wait before the next attempt.
 * 429: until the limit resets (`X-RateLimit-Reset` seconds, rounded up) plus 0 or 1 s of jitter, so a
 * burst does not come back in one wave. DelaySeconds is whole seconds: a fractional jitter rounded up
 * would always add a full second, leaving the limit idle for that second of every window (measured
 * with 10 creates / 2 s: 75% of the limit's rate with ceil(reset + random), 97% with this).
 * 5xx / no response: exponential backoff with full jitter.
 */
export function retryDelaySeconds(error: DatadogError, attempt: number, random: () => number = Math.random): number {
  if (error.status === 429) {
    const reset = error.rateLimit?.reset ?? 10;
    return Math.min(MAX_DELAY_SECONDS, Math.ceil(reset) + Math.floor(random() * 2));
  }
  const cap = Math.min(MAX_DELAY_SECONDS, 2 ** Math.min(attempt, 10) * 5);
  return Math.max(1, Math.floor(random() * cap));
}
