import { describe, expect, it } from 'vitest';
import { isoTime, utcDay } from '../../lambda/shared/time.js';

describe('isoTime', () => {
  it('gives what Date.prototype.toISOString gives', () => {
    const base = Date.UTC(2026, 10, 28, 19, 33, 46, 0);
    const values = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, base, base + 5, base + 57, base + 999, base + 1000, base + 86_399_999, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    // Also in the order a busy container sees them: many within one second, then the next.
    for (let ms = base - 1500; ms < base + 1500; ms += 7) values.push(ms);
    for (const ms of values) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('leaves the unusual to toISOString: fractions, before 1970, six-digit years', () => {
    for (const ms of [1.5, -1, -86_400_001, Date.UTC(10000, 0, 1), 8.64e15]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('throws toISOString\'s RangeError for an invalid time', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});

describe('utcDay', () => {
  it("gives toISOString's UTC day, for times in any order across day boundaries", () => {
    const midnight = Date.UTC(2026, 11, 5);
    const values = [0, 1, 86_399_999, 86_400_000, midnight - 1, midnight, midnight + 1, midnight + 86_399_999, midnight + 86_400_000, midnight - 1, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    for (let ms = midnight - 3_600_000; ms < midnight + 3_600_000; ms += 599_999) values.push(ms);
    for (const ms of [...values, ...values.reverse()]) expect(utcDay(ms), String(ms)).toBe(new Date(ms).toISOString().slice(0, 10));
  });

  it('leaves the unusual to toISOString: fractions, before 1970, six-digit years, and its RangeError', () => {
    for (const ms of [1.5, -1, -86_400_001, Date.UTC(10000, 0, 1), 8.64e15]) expect(utcDay(ms)).toBe(new Date(ms).toISOString().slice(0, 10));
    expect(() => utcDay(Number.NaN)).toThrow(RangeError);
  });
});
