/**
 * How far ahead of our clock a sender's time is believed. A sender whose clock runs ahead (or a forged,
 * unsigned time such as Sentry's header) could otherwise make its event look newer than every later one
 * and block them; beyond this lead the event counts as this much after its receipt.
 */
export const EVENT_TIME_MAX_LEAD_MS = 300_000;

/**
 * The time an event is ordered by (ms): the sender's own time where it gives one, else the receive time,
 * and never more than EVENT_TIME_MAX_LEAD_MS after the receive time.
 */
export function eventTime(event: { readonly occurredAt?: number | undefined }, receivedAt: number): number {
  return Math.min(event.occurredAt ?? receivedAt, receivedAt + EVENT_TIME_MAX_LEAD_MS);
}
