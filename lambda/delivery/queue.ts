import type { CaseCreateRequest } from '../datadog/schema.js';
import type { LifecyclePolicy } from '../lifecycle/policy.js';
import type { Signal, SourceName } from '../sources/types.js';

/**
 * Everything needed to finish the work later, without the original webhook being sent again.
 */
export interface PendingCase {
  readonly kind: 'create_case';
  readonly source: SourceName;
  readonly deliveryId: string | undefined;
  readonly identity: string;
  readonly rule: string;
  readonly request: CaseCreateRequest;
  /** Attempts that failed for a reason other than a rate limit. */
  readonly attempt: number;
  /** When the webhook was first accepted (ISO 8601). */
  readonly firstSeen: string;
  /** The ledger's create intent (issue 4): a retried create goes ahead only while the entry is still `creating` with this id. */
  readonly intentId?: string | undefined;
  /** The dedup marker the request carries (already in its description). */
  readonly marker?: string | undefined;
  /** The last attempt's outcome is unknown (timeout, reset, 5xx): look the case up by marker before creating again. */
  readonly ambiguous?: boolean | undefined;
  /**
   * When the create whose outcome is unknown was sent (ISO 8601). Datadog's search lags its writes:
   * until MARKER_SEARCH_SETTLE_SECONDS after this, a lookup that finds nothing is not proof that no
   * case was made, so the create waits in the retry queue instead of being sent again.
   */
  readonly ambiguousAt?: string | undefined;
}

/** Fields every queued action has. */
interface PendingBase {
  readonly source: SourceName;
  readonly deliveryId: string | undefined;
  readonly identity: string;
  readonly rule: string;
  readonly attempt: number;
  readonly firstSeen: string;
}

/** A comment on an existing case (repeat, resolve, reopen), retried on 429/5xx like a create. */
export interface PendingComment extends PendingBase {
  readonly kind: 'comment';
  readonly caseId: string;
  readonly text: string;
  /** Firing occurrences the text reports (merged comments add theirs up). */
  readonly occurrences?: number | undefined;
}

/** A status change of an existing case (close / reopen). */
export interface PendingStatus extends PendingBase {
  readonly kind: 'set_status';
  readonly caseId: string;
  readonly status: string;
}

/**
 * An alert event the lifecycle could not apply yet: a resolve that arrived while the alert's case
 * was still being created (decision `defer`). The retry function runs the lifecycle for it again
 * once the delay is over; `attempt` counts the deferrals. It carries the resolved policy, so the
 * retry function needs no rules file.
 */
export interface PendingEvent extends PendingBase {
  readonly kind: 'lifecycle_event';
  readonly signal: Signal;
  /** When the bridge received the event (ISO 8601): the time a resolve comment reports. */
  readonly occurredAt: string;
  /** Names the event in comments when there is no request (e.g. `incident.resolved`). */
  readonly summary: string;
  /** The rule's create request, when a rule matched the event (its title is quoted in comments). */
  readonly request?: CaseCreateRequest | undefined;
  /** The lifecycle policy that applied at ingest (defaults, file, source and rule layers resolved). */
  readonly policy: LifecyclePolicy;
}

/** Anything the retry queue carries. */
export type PendingAction = PendingCase | PendingComment | PendingStatus | PendingEvent;

/**
 * Where work goes that could not finish now. The SQS retry queue and DLQ implement it in AWS;
 * tests and the local bridge use MemoryActionQueue until the SQS emulator is wired in.
 */
export interface ActionQueue {
  /** Try again after `delaySeconds`. Throws when the action could not be stored. */
  retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void>;
  /** Give up until an operator fixes the cause and redrives. Throws when it could not be stored. */
  deadLetter(action: PendingAction, options: { reason: string }): Promise<void>;
}

export class MemoryActionQueue implements ActionQueue {
  readonly retries: { action: PendingAction; delaySeconds: number; reason: string }[] = [];
  readonly deadLetters: { action: PendingAction; reason: string }[] = [];

  async retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void> {
    this.retries.push({ action, ...options });
  }

  async deadLetter(action: PendingAction, options: { reason: string }): Promise<void> {
    this.deadLetters.push({ action, ...options });
  }
}
