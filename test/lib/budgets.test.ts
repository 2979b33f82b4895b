import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { budgetsOf, ingestBudgetChecks, retryBudgetChecks } from '../../lib/budgets.js';
import { IngestApi, type IngestApiProps } from '../../lib/ingest-api.js';
import { RetryQueue, type RetryQueueProps } from '../../lib/retry-queue.js';
import { BUDGETS, CLAIM_MS, deriveBudgets, RECORD_WORST_CASE_MS, WATCHDOG_DELAY_SECONDS, type Budgets } from '../../lambda/shared/budgets.js';
import { ConfigError } from '../../lambda/shared/errors.js';
import { constructStack } from './support.js';

function retry(props: Partial<RetryQueueProps>): () => void {
  return () => {
    const { stack, secret } = constructStack();
    new RetryQueue(stack, 'Retry', { secret, ...props });
  };
}

function ingest(props: Partial<IngestApiProps>): () => void {
  return () => {
    const { stack, secret } = constructStack();
    new IngestApi(stack, 'IngestApi', { secret, rulesJson: '{}', ...props });
  };
}

const failures = (checks: readonly (readonly [boolean, string])[]) => checks.filter(([ok]) => !ok).map(([, message]) => message);

describe('the delivery budgets (one set of numbers)', () => {
  it('derives the claim, the watchdog delay and a record\'s worst case from the Datadog deadline and the AWS bound', () => {
    expect(CLAIM_MS).toBe(2 * 5_000 + 2 * 4_000 + 2_000);
    expect(WATCHDOG_DELAY_SECONDS).toBe(21);
    expect(RECORD_WORST_CASE_MS).toBe(5 * 4_000 + (2 + 1) * 5_000);
    expect(BUDGETS.visibilityTimeoutMs).toBe(361_000);
    expect(BUDGETS.recordStartMs).toBe(41_000);
    expect(BUDGETS.claimStepMs).toBe(2 * 5_000 + 4_000);
    expect(BUDGETS.ingestFirstCallMs).toBe(9_000);
  });

  it('the default configuration passes every check', () => {
    expect(failures([...retryBudgetChecks(BUDGETS), ...ingestBudgetChecks(BUDGETS)])).toEqual([]);
    expect(retry({})).not.toThrow();
    expect(ingest({})).not.toThrow();
  });

  it('a longer Datadog deadline lengthens the claim and everything built on it', () => {
    const b: Budgets = deriveBudgets({ datadogTimeoutMs: 8_000 });

    expect(b.claimMs).toBe(2 * 8_000 + 2 * 4_000 + 2_000);
    expect(b.watchdogDelaySeconds).toBe(27);
    expect(b.recordWorstCaseMs).toBe(5 * 4_000 + 3 * 8_000);
    expect(b.claimStepMs).toBe(2 * 8_000 + 4_000);
  });
});

describe('synth-time budget checks, each broken by an override', () => {
  it('visibility >= 6 x retry timeout + batching window', () => {
    expect(retry({ visibilityTimeout: Duration.seconds(300) })).toThrow(ConfigError);
    expect(retry({ visibilityTimeout: Duration.seconds(300) })).toThrow('visibilityTimeout (300 s) must be at least six times retryTimeout plus maxBatchingWindow (361 s)');
    expect(retry({ visibilityTimeout: Duration.seconds(361) })).not.toThrow();
  });

  it('the retry timeout fits one record\'s worst case, one more AWS call and a margin', () => {
    expect(retry({ retryTimeout: Duration.seconds(40) })).toThrow(
      "retryTimeout (40 s) must fit one record's worst case, one more AWS call and a margin (41 s), or a batch may make no progress",
    );
    expect(retry({ retryTimeout: Duration.seconds(41) })).not.toThrow();
  });

  it('a renewed claim holds the longest Datadog step (a two-page guard read) and the write after it', () => {
    expect(failures(retryBudgetChecks({ ...BUDGETS, claimMs: 17_000 }))).toEqual([
      "the claim length (17 s), less the AWS call that renews it (4 s), must hold the longest Datadog step and the write after it (14 s: a guard's 2-page timeline read or one call, and one AWS call)",
    ]);
    expect(failures(retryBudgetChecks({ ...BUDGETS, claimMs: 18_000 }))).toEqual([]);
  });

  it('the ingest timeout fits its reads, one Datadog call and the answer margin', () => {
    expect(ingest({ timeout: Duration.seconds(8) })).toThrow(ConfigError);
    expect(ingest({ timeout: Duration.seconds(8) })).toThrow('ingestTimeout (8 s) must fit three AWS requests, one Datadog call and the answer margin (9 s)');
  });

  it('the ingest timeout is longer than one Datadog call and one AWS call at their bounds', () => {
    expect(ingest({ timeout: Duration.seconds(9) })).toThrow('ingestTimeout (9 s) must be longer than one Datadog call and one AWS call at their bounds (9 s)');
    expect(ingest({ timeout: Duration.seconds(10) })).not.toThrow();
  });

  it('visibility >= the claim length', () => {
    // 6R + W is then 19 s, so only the claim check fails.
    expect(retry({ retryTimeout: Duration.seconds(3), maxBatchingWindow: Duration.seconds(1), visibilityTimeout: Duration.seconds(19) })).toThrow(
      'visibilityTimeout (19 s) must be at least the claim length (20 s), so a redelivered record finds its claim void',
    );
  });

  // The claim length and the settle time follow from constants no prop reaches (DD_TIMEOUT_MS is at most 5 s),
  // so these two are broken through the inputs of the budgets themselves.
  it('the watchdog delay fits SQS\'s longest delay (900 s)', () => {
    expect(failures(retryBudgetChecks(deriveBudgets({ datadogTimeoutMs: 446_000 })))).toContain(
      "the watchdog delay (903 s, from the claim length 902 s) must be at most SQS's 900 s",
    );
    expect(deriveBudgets({ datadogTimeoutMs: 445_000 }).watchdogDelaySeconds).toBe(901);
    expect(failures(retryBudgetChecks(deriveBudgets({ datadogTimeoutMs: 444_000 }))).filter((m) => m.startsWith('the watchdog delay'))).toEqual([]);
  });

  it('the search settle time is at least the Datadog deadline', () => {
    expect(failures(retryBudgetChecks(deriveBudgets({ searchSettleMs: 4_000 })))).toEqual(['the search settle time (4 s) must be at least the Datadog deadline (5 s)']);
  });

  it('budgetsOf reads the construct props over the defaults', () => {
    const b = budgetsOf({ retryTimeout: Duration.seconds(90), maxBatchingWindow: Duration.seconds(2) });

    expect(b.retryTimeoutMs).toBe(90_000);
    expect(b.visibilityTimeoutMs).toBe(542_000);
    expect(b.ingestTimeoutMs).toBe(BUDGETS.ingestTimeoutMs);
  });
});
