import type { DatadogError } from '../shared/errors.js';

/** SQS's largest DelaySeconds. */
export const MAX_DELAY_SECONDS = 900;
export const MAX_ATTEMPTS = 8;

/**
 * How long to wait before the next attempt.
 * 429: until the limit resets (`X-RateLimit-Reset` seconds) plus up to 1 s of jitter, so a burst
 * does not come back in one wave. 5xx / no response: exponential backoff with full jitter.
 */
export function retryDelaySeconds(error: DatadogError, attempt: number, random: () => number = Math.random): number {
  if (error.status === 429) {
    const reset = error.rateLimit?.reset ?? 10;
    return Math.min(MAX_DELAY_SECONDS, Math.ceil(reset + random()));
  }
  const cap = Math.min(MAX_DELAY_SECONDS, 2 ** Math.min(attempt, 10) * 5);
  return Math.max(1, Math.floor(random() * cap));
}
