/** Up to the start of year 10000: toISOString's 4-digit-year form. */
const FOUR_DIGIT_YEARS_MS = 253_402_300_800_000;

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(ms).toISOString()`, for the times a queue message carries (the bridge keeps times in ms
 * everywhere else and writes them as ISO 8601 only into messages). The date part of the last second is kept: on a busy container
 * most calls only append the milliseconds, about a tenth of the cost of formatting a Date on Node 20.
 * Anything unusual (fractions, before 1970, after 9999, NaN) goes to toISOString, with its RangeError.
 */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= FOUR_DIGIT_YEARS_MS) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19);
    cachedSecond = second;
  }
  const millis = ms - second * 1000;
  return `${cachedPrefix}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

const DAY_MS = 86_400_000;
let cachedDayStart = Number.NaN;
let cachedDay = '';

/**
 * `new Date(ms).toISOString().slice(0, 10)`, the UTC day (YYYY-MM-DD) that names a delivery's archive
 * key and its journal index partition: every webhook needs it twice, nearly always for the day of the
 * one before, so the last day's text is kept (JavaScript time has no leap seconds: a UTC day is
 * exactly DAY_MS from a multiple of DAY_MS). The unusual (isoTime's list) goes to toISOString.
 */
export function utcDay(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= FOUR_DIGIT_YEARS_MS) return new Date(ms).toISOString().slice(0, 10);
  if (!(ms >= cachedDayStart && ms < cachedDayStart + DAY_MS)) {
    cachedDayStart = ms - (ms % DAY_MS);
    cachedDay = new Date(cachedDayStart).toISOString().slice(0, 10);
  }
  return cachedDay;
}
