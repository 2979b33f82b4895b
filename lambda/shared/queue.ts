import type { CaseCreateRequest } from '../datadog/schema.js';
import type { SourceName } from '../sources/types.js';

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
}

/**
 * Where work goes that could not finish now. The SQS retry queue and DLQ implement it in AWS;
 * tests and the local bridge use MemoryActionQueue until the SQS emulator is wired in.
 */
export interface ActionQueue {
  /** Try again after `delaySeconds`. Throws when the action could not be stored. */
  retry(action: PendingCase, options: { delaySeconds: number; reason: string }): Promise<void>;
  /** Give up until an operator fixes the cause and redrives. Throws when it could not be stored. */
  deadLetter(action: PendingCase, options: { reason: string }): Promise<void>;
}

export class MemoryActionQueue implements ActionQueue {
  readonly retries: { action: PendingCase; delaySeconds: number; reason: string }[] = [];
  readonly deadLetters: { action: PendingCase; reason: string }[] = [];

  async retry(action: PendingCase, options: { delaySeconds: number; reason: string }): Promise<void> {
    this.retries.push({ action, ...options });
  }

  async deadLetter(action: PendingCase, options: { reason: string }): Promise<void> {
    this.deadLetters.push({ action, ...options });
  }
}
