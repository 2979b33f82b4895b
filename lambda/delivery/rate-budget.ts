import { DynamoRateBudgetStore } from '../ledger/dynamo-rate-budget.js';
import { lambdaDynamo } from '../ledger/lambda-ledger.js';
import { MAX_PERIOD_SECONDS, rateShapeOf, type RateBudgetStore, type RateShape } from '../ledger/rate-budget-store.js';
import type { RateLimit } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

/**
 * The shared rate budget (issue 15): paces the calls of every function instance to Datadog's limit
 * instead of letting them meet it. It learns the limit from Datadog's `X-RateLimit-*` headers (the
 * first 429 states it when nothing else has) and hands each call a slot:
 *
 * - Slots lie on one evenly spaced lattice, `limit` per window of `period × (1 + slack)`: any span of
 *   one period, however Datadog aligns its windows, holds at most `limit` of them, and a call late by
 *   less than `slack × period` still keeps within the limit. The calls of a window are spread over it,
 *   not all at its start.
 * - A create takes the first free slot; a comment or status change only a slot in or after the latest
 *   window a create has booked (creates go first).
 * - A slot is booked in the store (one item every instance sees), so two instances never take the same one.
 * - Datadog stays the authority: a 429 sets the floor to its reset, and no slot is given before it.
 *
 * `reserve` answers `{ go: true }` (call now) or `{ go: false, notBeforeMs }`: the slot booked for the
 * call; the caller waits for it (or has the action queued with the slot as its ticket, and passes the
 * ticket back when the action comes back).
 */

export type PaceKind = 'create' | 'update';
export type PaceDecision = { readonly go: true } | { readonly go: false; readonly notBeforeMs: number };

/** The narrow interface the delivery code (and the outbox runner's gate) calls. */
export interface Pacer {
  /** A slot for one call at `now`; `ticketMs`: the slot this action booked earlier, if any. */
  reserve(kind: PaceKind, now: number, ticketMs?: number): Promise<PaceDecision>;
  /** What a Datadog answer said about the limit; `status` 429 raises the floor to its reset. */
  observe(rateLimit: RateLimit | undefined, status: number, now: number): Promise<void>;
}

export interface RateBudgetOptions {
  readonly store: RateBudgetStore;
  /** The limit's name in the store (`ratelimit#datadog#<endpointClass>`). @default 'cases_write' */
  readonly endpointClass?: string;
  /** Each window is this much longer than the period, so a slightly late call stays within the limit. @default 0.02 */
  readonly slack?: number;
  /** Windows searched for a free slot before giving up (the call then goes to Datadog's judgement). @default 5000 */
  readonly maxWindows?: number;
  /** Where a failed prune is told (it never fails the booking; an item that keeps growing would reach DynamoDB's 400 KB). @default none */
  readonly logger?: Pick<Logger, 'warn'> | undefined;
}

/** Once this many windows that are over still hold counts in the store, they are removed. */
const PRUNE_AFTER = 32;
/**
 * The most removed by one write, oldest first: one REMOVE names each (`#wN`), and DynamoDB refuses an
 * expression over 4 KB. A drain whose actions all came back with their slots prunes nothing meanwhile
 * (a ticket is honoured before pruning), so hundreds may be over when the next new action books.
 */
const PRUNE_AT_MOST = 200;

/** The limit the headers state, when it is one the budget can keep: at least one whole call per period of at most a day. */
function shapeOf(rateLimit: RateLimit): RateShape | undefined {
  const { limit, period } = rateLimit;
  if (limit === undefined || period === undefined) return undefined;
  return rateShapeOf(Math.floor(limit), Math.round(period * 1000));
}

/** Whether `slotMs` is one of the slots of the lattice (`limit` per window, `spacingMs` apart; see reserve). */
function onLattice(slotMs: number, windowMs: number, spacingMs: number, limit: number): boolean {
  const start = Math.floor(slotMs / windowMs) * windowMs;
  // A slot is its position's time rounded up: with slots a few ms apart, the position is one of these.
  const near = Math.floor((slotMs - start) / spacingMs);
  return [near - 1, near, near + 1].some((position) => position >= 0 && position < limit && Math.ceil(start + position * spacingMs) === slotMs);
}

export class RateBudget implements Pacer {
  private readonly store: RateBudgetStore;
  private readonly key: string;
  private readonly slack: number;
  private readonly maxWindows: number;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  /** The shape last seen in the store, so that every answer does not write it again. */
  private knownShape: RateShape | undefined;

  constructor(options: RateBudgetOptions) {
    this.store = options.store;
    this.key = options.endpointClass ?? 'cases_write';
    this.slack = options.slack ?? 0.02;
    this.maxWindows = options.maxWindows ?? 5000;
    this.logger = options.logger;
  }

  /** Window length and slot spacing (ms) of a shape. */
  private lattice(shape: RateShape): { windowMs: number; spacingMs: number } {
    const windowMs = Math.ceil(shape.periodMs * (1 + this.slack));
    return { windowMs, spacingMs: windowMs / shape.limit };
  }

  async reserve(kind: PaceKind, now: number, ticketMs?: number): Promise<PaceDecision> {
    const state = await this.store.read(this.key);
    const shape = state?.shape;
    if (state === undefined || shape === undefined) return { go: true }; // unknown: Datadog will say (the first 429)
    this.knownShape = shape;
    const { windowMs, spacingMs } = this.lattice(shape);
    // A 429's floor lies within one period of it. One further ahead (stored by a version that took any
    // Reset as it came) is no reset's: disregarded, for a paced budget meets no 429 to replace it, and
    // held to a window from now it would put every call a window late for good. Up to two windows
    // ahead (clocks of instances a little apart) it is held to one window from now.
    const floorMs = state.floorMs > now + 2 * windowMs ? 0 : Math.min(state.floorMs, now + windowMs);
    // A ticket is a slot this search could have given: not before the floor, nor past its last window
    // (one booked beyond, under a floor no reset made, books anew rather than wait for decades).
    // And it counts only as a slot of the current lattice: one booked under another limit or period
    // (Datadog lowered it since) would put more calls in a window than the limit now allows.
    if (ticketMs !== undefined && ticketMs >= floorMs && ticketMs <= Math.max(now, floorMs) + (this.maxWindows + 2) * windowMs && onLattice(ticketMs, windowMs, spacingMs, shape.limit)) {
      if (now < ticketMs) return { go: false, notBeforeMs: ticketMs };
      // Late by less than the slack: still within the limit. Later: the slot is lost, book another.
      if (now - ticketMs <= this.slack * shape.periodMs) return { go: true };
    }
    const from = Math.max(now, floorMs);
    let start = Math.floor(from / windowMs) * windowMs;
    // Behind the creates: from the last create window on, as a window of the current lattice (one booked
    // under another period is none: from the first that starts at or after it, or its slots would be
    // off the lattice, overlap its windows and be booked anew when their actions come back).
    if (kind === 'update' && state.lastCreateWindowMs !== undefined) start = Math.max(start, Math.ceil(state.lastCreateWindowMs / windowMs) * windowMs);
    const stale = [...state.booked.keys()].filter((s) => s + windowMs <= now);
    // Housekeeping: a failed prune must not stop the booking (the next one tries again).
    if (stale.length >= PRUNE_AFTER) {
      await this.store.prune(this.key, stale.sort((a, b) => a - b).slice(0, PRUNE_AT_MOST)).catch((error: unknown) => {
        this.logger?.warn('rate budget: the windows that are over could not be removed; the next booking tries again', { budget: this.key, windows: stale.length, error });
      });
    }
    for (let i = 0; i < this.maxWindows; i += 1, start += windowMs) {
      if ((state.booked.get(start) ?? 0) >= shape.limit) continue;
      const minPosition = start >= from ? 0 : Math.ceil((from - start) / spacingMs);
      if (minPosition >= shape.limit) continue;
      // The jump past the window's first positions is refused when the count read already passed them
      // (counts only grow): then it is not tried (issue 15: a refused conditional write is billed).
      const position = await this.store.book(this.key, start, shape.limit, (state.booked.get(start) ?? 0) >= minPosition ? 0 : minPosition);
      if (position === undefined) continue;
      if (kind === 'create' && (state.lastCreateWindowMs ?? -Infinity) < start) await this.store.markCreateWindow(this.key, start);
      const slot = Math.ceil(start + position * spacingMs);
      return slot <= now ? { go: true } : { go: false, notBeforeMs: slot };
    }
    return { go: true };
  }

  async observe(rateLimit: RateLimit | undefined, status: number, now: number): Promise<void> {
    if (rateLimit === undefined) return;
    // Unknown budget: the first 429 states it, with the reset of a window known to be spent. A
    // successful answer before it says nothing of the calls made unbooked in its window.
    if (status !== 429 && this.knownShape === undefined) return;
    const shape = shapeOf(rateLimit);
    const changed = shape !== undefined && (this.knownShape?.limit !== shape.limit || this.knownShape.periodMs !== shape.periodMs);
    // A 429 sets the floor (Reset is whole seconds, rounded up: the window may end up to a second
    // sooner, never later), at most one period ahead (the windows are calendar aligned): a Reset past
    // it is no count of seconds. A successful answer only updates the limit (e.g. one Datadog has raised).
    const knownPeriodMs = (shape ?? this.knownShape)?.periodMs;
    const longest = knownPeriodMs === undefined ? MAX_PERIOD_SECONDS : knownPeriodMs / 1000;
    const floorMs = status === 429 ? now + Math.min(rateLimit.reset ?? rateLimit.period ?? 1, longest) * 1000 : undefined;
    if (!changed && floorMs === undefined) return;
    await this.store.learn(this.key, { ...(changed ? { shape } : {}), ...(floorMs !== undefined ? { floorMs } : {}) });
    if (changed) this.knownShape = shape;
  }
}

/**
 * Whether an answer's `X-RateLimit-*` speak of the budget's limit: the budget paces writes (creates,
 * comments, status changes, links: POST), and Datadog's reads may count in a bucket of their own
 * ("unique and distinct rate limit buckets", its rate-limit docs), whose limit would pace the writes wrong.
 */
export function isBudgetedMethod(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/**
 * Feeds the `X-RateLimit-*` headers of Datadog's successful answers to writes to the budget (the
 * client's `onRateLimit`), so that a limit Datadog changes is followed (a raised one never shows as a
 * 429); a read's are not its limit. Never throws.
 */
export function rateLimitObserver(pace: Pacer, now: () => number = Date.now): (rateLimit: RateLimit, status: number, method?: string) => void {
  return (rateLimit, status, method) => {
    if (!isBudgetedMethod(method)) return;
    pace.observe(rateLimit, status, now()).catch(() => undefined);
  };
}

/** SQS's whole-second delay that brings an action back at (or just before) its slot. */
export function delayUntil(notBeforeMs: number, now: number, maxDelaySeconds: number): number {
  return Math.min(maxDelaySeconds, Math.max(0, Math.floor((notBeforeMs - now) / 1000)));
}

/** The Lambda entries' rate budget: one item in the ledger table (its DynamoDB client made on first use). */
export function lambdaRateBudget(tableName: string, logger?: Pick<Logger, 'warn'>): RateBudget {
  return new RateBudget({ store: new DynamoRateBudgetStore({ client: lambdaDynamo(), tableName }), logger });
}
