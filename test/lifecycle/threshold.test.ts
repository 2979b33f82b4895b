import { describe, expect, it } from 'vitest';
import { firingsCounted, firingsReset } from '../../lambda/lifecycle/threshold.js';

const OPEN_AFTER = { occurrences: 3, within_seconds: 60 };
const T = 1_000_000;

describe('firingsCounted (#17): the sliding window', () => {
  it('counts the firings of the last within_seconds up to this one, one exactly that long before included', () => {
    const count = { firings: { a: T - 60_001, b: T - 60_000, c: T - 1, d: T }, resetAt: undefined };
    expect(firingsCounted(count, T, OPEN_AFTER, undefined)).toEqual([T - 60_000, T - 1, T]);
  });

  it('counts a concurrent firing received after this one', () => {
    expect(firingsCounted({ firings: { a: T, b: T + 5 }, resetAt: undefined }, T, OPEN_AFTER, undefined)).toEqual([T, T + 5]);
  });

  it('leaves out the firings at or before the last reset and at or before the previous case closed', () => {
    const count = { firings: { a: T - 30_000, b: T - 20_000, c: T - 10_000, d: T }, resetAt: T - 30_000 };
    expect(firingsCounted(count, T, OPEN_AFTER, undefined)).toEqual([T - 20_000, T - 10_000, T]);
    expect(firingsCounted(count, T, OPEN_AFTER, T - 20_000)).toEqual([T - 10_000, T]);
  });
});

describe('firingsReset (#17)', () => {
  it('counts the firings a resolve stops from counting: at or before it, after the last reset and the last close', () => {
    const before = { firings: { a: T - 30_000, b: T - 20_000, c: T - 10_000, d: T + 1 }, resetAt: T - 30_000 };
    expect(firingsReset(before, T, undefined)).toBe(2);
    expect(firingsReset(before, T, T - 10_000)).toBe(0);
  });
});
