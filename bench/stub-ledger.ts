import { newIntent } from '../lambda/ledger/intent-id.js';
import type { AlertKey, BeginCreateInput, BeginCreateResult, DeliveryClaim, FiringCount, Ledger, LedgerEntry } from '../lambda/ledger/types.js';

/**
 * The ledger calls stubbed in process (issue 4: "with the ledger in the path, ledger calls stubbed
 * in process"): every call answers as the DynamoDB table does for an alert and a delivery id it has
 * never seen (conditional writes succeed, reads find nothing), with the entries DynamoLedger returns
 * (the intent built by the shared newIntent). It keeps nothing between webhooks, so each one takes
 * the whole first-firing path: delivery id remembered, alert read, intent claimed, case created,
 * intent completed. `calls` lets the bench check that every webhook made exactly those calls.
 *
 * (A MemoryLedger emptied after each call, used before, also timed its own Map churn: about 8 us a
 * webhook that neither the DynamoDB ledger nor the bridge spends.)
 */
export class FirstFiringLedger implements Ledger {
  readonly calls = { rememberDelivery: 0, get: 0, beginCreate: 0, completeCreate: 0 };
  private intent: LedgerEntry | undefined;

  async rememberDelivery(): Promise<boolean> {
    this.calls.rememberDelivery += 1;
    return true;
  }

  async claimDelivery(): Promise<DeliveryClaim> {
    this.calls.rememberDelivery += 1;
    return 'claimed';
  }

  async finishDelivery(): Promise<void> {}

  /** The first firing's two writes (intent with its outbox, then the case recorded). */
  async swap(_before: LedgerEntry | undefined, after: LedgerEntry): Promise<boolean> {
    if (this.intent === undefined) {
      this.calls.beginCreate += 1;
      this.intent = after;
    } else {
      this.calls.completeCreate += 1;
      this.intent = undefined;
    }
    return true;
  }

  async get(): Promise<LedgerEntry | undefined> {
    this.calls.get += 1;
    return this.intent;
  }

  async beginCreate(input: BeginCreateInput): Promise<BeginCreateResult> {
    this.calls.beginCreate += 1;
    this.intent = newIntent(input);
    return { won: true, entry: this.intent };
  }

  async completeCreate(_key: AlertKey, intentId: string, created: { caseId: string; caseKey: string | undefined }, now: number): Promise<LedgerEntry | undefined> {
    this.calls.completeCreate += 1;
    const intent = this.intent;
    if (intent === undefined || intent.intentId !== intentId) throw new Error('bench ledger: completeCreate without its beginCreate');
    return { ...intent, state: 'open', caseId: created.caseId, caseKey: created.caseKey, openedAt: now };
  }

  // Not on the first-firing path: reaching one of these means the bench no longer measures it.
  takeOverCreate(): Promise<BeginCreateResult> {
    return offPath('takeOverCreate');
  }
  abandonCreate(): Promise<boolean> {
    return offPath('abandonCreate');
  }
  markCreateAmbiguous(): Promise<boolean> {
    return offPath('markCreateAmbiguous');
  }
  recordOccurrence(): Promise<LedgerEntry | undefined> {
    return offPath('recordOccurrence');
  }
  markCommented(): Promise<boolean> {
    return offPath('markCommented');
  }
  markResolved(): Promise<boolean> {
    return offPath('markResolved');
  }
  markClosed(): Promise<boolean> {
    return offPath('markClosed');
  }
  markReopened(): Promise<boolean> {
    return offPath('markReopened');
  }
  forgetDelivery(): Promise<void> {
    return offPath('forgetDelivery');
  }
  countFiring(): Promise<FiringCount> {
    return offPath('countFiring');
  }
  resetFirings(): Promise<FiringCount | undefined> {
    return offPath('resetFirings');
  }
}

function offPath(call: string): never {
  throw new Error(`bench ledger: ${call} is not on the first-firing path the bench measures`);
}
