import type { CaseCreateRequest } from '../datadog/schema.js';
import { MAX_DELAY_SECONDS } from '../datadog/retry-policy.js';
import type { Signal, SourceNote } from '../sources/types.js';
import type { SourceName } from '../sources/index.js';
import type { CommentReason } from './decide.js';
import type { LifecyclePolicy } from './policy.js';

/** One alert event, mapped: what the lifecycle needs. */
export interface AlertWork {
  readonly source: SourceName;
  /** Dedup identity (the rule's, else the source's). */
  readonly identity: string;
  /** The matching rule; undefined for an event no rule matched (a resolve, an acknowledgement). */
  readonly rule: string | undefined;
  readonly signal: Signal;
  readonly deliveryId: string | undefined;
  /** The delivery's journal record (issue 16): its outbox actions name it. @default none */
  readonly journalId?: string | undefined;
  /** The create request (when a rule matched); its title is quoted in comments. */
  readonly request: CaseCreateRequest | undefined;
  /** Short text naming the event when there is no request (e.g. `incident.acknowledged`). */
  readonly summary: string;
  readonly policy: LifecyclePolicy;
  /**
   * The event's time (ms), which orders it against the alert's other events: the sender's own time,
   * capped by eventTime (event-time.ts), else the receive time. @default now
   */
  readonly occurredAt?: number;
  /** When the bridge first received the event (ms). @default now; kept when a deferred event is run again. */
  readonly receivedAt?: number;
  /**
   * A replayed delivery's event (issue 16): no new occurrence of the alert. It is not counted, and the
   * repeat or informational comment it would be reported in is not sent (see asReplay). @default false
   */
  readonly replay?: boolean;
  /** Times the event was deferred already (PendingEvent.attempt, when run from the retry queue). @default 0 */
  readonly attempt?: number;
  /** A human's note the event carries (SourceEvent.note), mirrored under `on_note: comment`. */
  readonly note?: SourceNote | undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The short, human comment texts. */
export function commentText(reason: CommentReason, occurrences: number, work: Pick<AlertWork, 'request' | 'summary' | 'source'>, at: number): string {
  const latest = work.request?.data.attributes.title ?? work.summary;
  switch (reason) {
    case 'repeat':
      return `Fired again (${plural(Math.max(1, occurrences), 'more time')} since the last update). Latest: ${latest}`;
    case 'firing_again':
      return `Fired again after being resolved. Latest: ${latest}`;
    case 'reopened':
      return 'Fired again after being closed: reopening.';
    case 'resolved':
      return `Resolved at ${new Date(at).toISOString()} by ${work.source}.${work.request === undefined ? '' : ` Latest: ${latest}`}`;
    case 'informational':
      return `Update from ${work.source}: ${latest}`;
  }
}

/** Why a deferred event sits in the retry queue (its message's `reason`). */
export const DEFER_REASON = "the alert's case is still being created";

/**
 * Delay before a deferred event is run again: 5 s after the first deferral (a create in flight
 * finishes within the Datadog deadline), doubling after each one (5, 10 ... 320 s: about ten minutes
 * over MAX_ATTEMPTS, while a create that failed goes through its own retries), plus 0 or 1 s of jitter.
 */
export function deferDelaySeconds(attempt: number, random: () => number = Math.random): number {
  return Math.min(MAX_DELAY_SECONDS, 5 * 2 ** Math.max(0, attempt - 1)) + Math.floor(random() * 2);
}
