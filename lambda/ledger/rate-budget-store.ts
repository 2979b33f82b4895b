import * as z from '../shared/zod.js';

/**
 * Where the shared rate budget (lambda/delivery/rate-budget.ts) keeps what every function instance
 * must see: the shape of Datadog's limit, the time before which nothing may be sent (a 429's reset),
 * and how many slots each window has booked. One item per limit; every change is one atomic write
 * (a conditional update in DynamoDB, see DynamoRateBudgetStore; a plain map in memory for tests and
 * `npm start` without the DynamoDB emulator).
 */

/**
 * The longest period the budget takes from Datadog's headers (a day), so no 429's reset lies further
 * ahead. Headers stating more (or a Reset that is no count of seconds, e.g. an epoch time) would
 * otherwise hold every call back for as long, with no call left to learn better.
 */
export const MAX_PERIOD_SECONDS = 86_400;

/** A stored floor this far beyond a new one cannot be a reset's: the new one replaces it (see learn). */
export const FLOOR_BEYOND_MS = MAX_PERIOD_SECONDS * 1000;

/**
 * A limit the budget can keep, as the store and the headers must give it (zod at both boundaries): a
 * whole number of calls, at least one, per period of at most MAX_PERIOD_SECONDS. An item holding any
 * other (written by hand, or by a version that took the headers as they came) is no limit: the calls
 * go unpaced and the next 429 states it again, rather than a period of years holding every call back.
 */
const rateShapeSchema = z.lazily(() => z.object({ limit: z.int().check(z.minimum(1)), periodMs: z.number().check(z.positive(), z.maximum(MAX_PERIOD_SECONDS * 1000)) }));

/** `{ limit, periodMs }` when it is a limit the budget can keep (rateShapeSchema), else undefined. */
export function rateShapeOf(limit: number | undefined, periodMs: number | undefined): RateShape | undefined {
  const parsed = rateShapeSchema().safeParse({ limit, periodMs });
  return parsed.success ? parsed.data : undefined;
}

/** The limit as Datadog states it (`X-RateLimit-Limit` per `X-RateLimit-Period`). */
export interface RateShape {
  /** Calls allowed per period. */
  readonly limit: number;
  /** Period length, ms. */
  readonly periodMs: number;
}

/** One limit's stored state. */
export interface RateBudgetState {
  /** Unknown until Datadog has stated it (the first 429, or any answer carrying the headers). */
  readonly shape: RateShape | undefined;
  /** No slot before this time (ms): the end of a window Datadog refused a call in. */
  readonly floorMs: number;
  /** The start (ms) of the latest window a create has booked a slot in. */
  readonly lastCreateWindowMs: number | undefined;
  /** Slots booked per window, by the window's start (ms). */
  readonly booked: ReadonlyMap<number, number>;
}

export interface RateBudgetStore {
  /** The state of `key`, read consistently; undefined when nothing was ever stored. */
  read(key: string): Promise<RateBudgetState | undefined>;
  /**
   * Records the shape (when given) and raises the floor to `floorMs` (when given; never lowers it, but
   * replaces one more than FLOOR_BEYOND_MS beyond it, which no reset made).
   */
  learn(key: string, update: { readonly shape?: RateShape; readonly floorMs?: number }): Promise<void>;
  /**
   * Books one slot in the window starting at `windowStartMs`: position `minPosition` when fewer are
   * booked (the earlier positions lie in the past), else the next one while fewer than `cap` are
   * booked. Returns the booked position (0-based), or undefined when the window is full.
   */
  book(key: string, windowStartMs: number, cap: number, minPosition: number): Promise<number | undefined>;
  /** Raises lastCreateWindowMs to `windowStartMs` (never lowers it). */
  markCreateWindow(key: string, windowStartMs: number): Promise<void>;
  /** Forgets the counts of windows that are over. */
  prune(key: string, windowStartsMs: readonly number[]): Promise<void>;
}

/** The store in memory: one process (tests, `npm start` with the in-memory ledger). */
export class MemoryRateBudgetStore implements RateBudgetStore {
  private readonly items = new Map<string, { shape: RateShape | undefined; floorMs: number; lastCreateWindowMs: number | undefined; booked: Map<number, number> }>();

  private item(key: string) {
    let item = this.items.get(key);
    if (item === undefined) {
      item = { shape: undefined, floorMs: 0, lastCreateWindowMs: undefined, booked: new Map() };
      this.items.set(key, item);
    }
    return item;
  }

  async read(key: string): Promise<RateBudgetState | undefined> {
    const item = this.items.get(key);
    return item === undefined ? undefined : { ...item, booked: new Map(item.booked) };
  }

  async learn(key: string, update: { readonly shape?: RateShape; readonly floorMs?: number }): Promise<void> {
    const item = this.item(key);
    if (update.shape !== undefined) item.shape = update.shape;
    if (update.floorMs !== undefined) item.floorMs = item.floorMs > update.floorMs + FLOOR_BEYOND_MS ? update.floorMs : Math.max(item.floorMs, update.floorMs);
  }

  async book(key: string, windowStartMs: number, cap: number, minPosition: number): Promise<number | undefined> {
    const item = this.item(key);
    const count = item.booked.get(windowStartMs) ?? 0;
    const position = Math.max(count, minPosition);
    if (position >= cap) return undefined;
    item.booked.set(windowStartMs, position + 1);
    return position;
  }

  async markCreateWindow(key: string, windowStartMs: number): Promise<void> {
    const item = this.item(key);
    item.lastCreateWindowMs = Math.max(item.lastCreateWindowMs ?? windowStartMs, windowStartMs);
  }

  async prune(key: string, windowStartsMs: readonly number[]): Promise<void> {
    const item = this.item(key);
    for (const start of windowStartsMs) item.booked.delete(start);
  }
}
