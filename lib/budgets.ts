import { Duration } from 'aws-cdk-lib';
import { deriveBudgets, SQS_MAX_DELAY_SECONDS, type Budgets } from '../lambda/shared/budgets.js';
import type { PropCheck } from './validate-props.js';

/** The construct props the time budgets depend on (each falls back to lambda/shared/budgets.ts). */
export interface BudgetProps {
  /** The ingest function's timeout (I). */
  readonly ingestTimeout?: Duration;
  /** The retry function's timeout (R). */
  readonly retryTimeout?: Duration;
  /** The retry poller's batching window (W). */
  readonly maxBatchingWindow?: Duration;
  /** The retry queue's visibility timeout (V). */
  readonly visibilityTimeout?: Duration;
}

/** The budgets of a configuration: the props over the defaults of lambda/shared/budgets.ts. */
export function budgetsOf(props: BudgetProps): Budgets {
  const ms = (d: Duration | undefined) => (d === undefined ? undefined : d.toMilliseconds());
  const overrides = {
    ingestTimeoutMs: ms(props.ingestTimeout),
    retryTimeoutMs: ms(props.retryTimeout),
    batchingWindowMs: ms(props.maxBatchingWindow),
    visibilityTimeoutMs: ms(props.visibilityTimeout),
  };
  return deriveBudgets(Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)));
}

const s = (ms: number) => `${ms / 1000} s`;

/** The inequalities the retry path relies on (README, "Time budgets"); each message names the numbers. */
export function retryBudgetChecks(b: Budgets): PropCheck[] {
  const minVisibility = 6 * b.retryTimeoutMs + b.batchingWindowMs;
  return [
    [b.visibilityTimeoutMs >= minVisibility, `visibilityTimeout (${s(b.visibilityTimeoutMs)}) must be at least six times retryTimeout plus maxBatchingWindow (${s(minVisibility)})`],
    [
      b.retryTimeoutMs >= b.recordStartMs,
      `retryTimeout (${s(b.retryTimeoutMs)}) must fit one record's worst case, one more AWS call and a margin (${s(b.recordStartMs)}), or a batch may make no progress`,
    ],
    [b.watchdogDelaySeconds <= SQS_MAX_DELAY_SECONDS, `the watchdog delay (${b.watchdogDelaySeconds} s, from the claim length ${s(b.claimMs)}) must be at most SQS's ${SQS_MAX_DELAY_SECONDS} s`],
    [b.visibilityTimeoutMs >= b.claimMs, `visibilityTimeout (${s(b.visibilityTimeoutMs)}) must be at least the claim length (${s(b.claimMs)}), so a redelivered record finds its claim void`],
    [
      b.claimMs - b.awsCallWorstCaseMs >= b.claimStepMs,
      `the claim length (${s(b.claimMs)}), less the AWS call that renews it (${s(b.awsCallWorstCaseMs)}), must hold the longest Datadog step and the write after it (${s(b.claimStepMs)}: a guard's ${b.guardReadMs / b.datadogTimeoutMs}-page timeline read or one call, and one AWS call)`,
    ],
    [b.searchSettleMs >= b.datadogTimeoutMs, `the search settle time (${s(b.searchSettleMs)}) must be at least the Datadog deadline (${s(b.datadogTimeoutMs)})`],
  ];
}

/** The inequalities the ingest path relies on. */
export function ingestBudgetChecks(b: Budgets): PropCheck[] {
  return [
    [
      b.ingestTimeoutMs >= b.ingestFirstCallMs,
      `ingestTimeout (${s(b.ingestTimeoutMs)}) must fit three AWS requests, one Datadog call and the answer margin (${s(b.ingestFirstCallMs)})`,
    ],
    [
      b.datadogTimeoutMs + b.awsCallWorstCaseMs < b.ingestTimeoutMs,
      `ingestTimeout (${s(b.ingestTimeoutMs)}) must be longer than one Datadog call and one AWS call at their bounds (${s(b.datadogTimeoutMs + b.awsCallWorstCaseMs)})`,
    ],
  ];
}
