import type { FiringCount } from '../ledger/types.js';
import type { LifecyclePolicy } from './policy.js';

/** A policy's occurrence threshold (issue 17): open a case once the alert fired `occurrences` times within `within_seconds`. */
export type OpenAfter = NonNullable<LifecyclePolicy['open_after']>;

/**
 * The times (ms, oldest first) of the firings that count toward `open_after` for a firing received at
 * `at` (a sliding window): those received in the `within_seconds` up to it (one exactly that long
 * before counts, as do firings counted meanwhile by concurrent deliveries), after the last resolve that
 * reset the count and after `since` (the close of the alert's previous case). Pure.
 */
export function firingsCounted(count: FiringCount, at: number, openAfter: OpenAfter, since: number | undefined): number[] {
  const from = at - openAfter.within_seconds * 1000;
  const floor = Math.max(count.resetAt ?? Number.NEGATIVE_INFINITY, since ?? Number.NEGATIVE_INFINITY);
  return Object.values(count.firings)
    .filter((t) => t >= from && t > floor)
    .sort((a, b) => a - b);
}

/**
 * How many firings a resolve at `through` stops from counting: those it reset (received at or before
 * it) that were counting (after the previous reset and after `since`, the previous case's close).
 */
export function firingsReset(before: FiringCount, through: number, since: number | undefined): number {
  const floor = Math.max(before.resetAt ?? Number.NEGATIVE_INFINITY, since ?? Number.NEGATIVE_INFINITY);
  return Object.values(before.firings).filter((t) => t <= through && t > floor).length;
}
