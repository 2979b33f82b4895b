/**
 * The time budgets of the functions and of each call they make, in one place. The stack takes the
 * function timeouts from here (lib/), the clients their deadlines; test/shared/budgets.test.ts checks
 * that the sums below hold.
 *
 * The ingest function (10 s) makes its ledger calls, at most one Datadog call at a time (5 s deadline,
 * DD_TIMEOUT_MS) and, when Datadog fails, one SendMessage. A ledger or queue that stops answering must
 * fail its call, not hold the function to its timeout: the webhook is then answered 5xx and the sender
 * retries. The worst a webhook waits on a dead ledger is one Datadog call that took its whole deadline
 * followed by one ledger call that took its whole bound (the first failed ledger call ends the webhook):
 *
 *   DATADOG_TIMEOUT_MS + AWS_CALL_WORST_CASE_MS = 5 000 + 4 000 = 9 000 ms  <  10 000 ms
 *
 * DynamoDB and SQS answer in milliseconds inside a region, so a second-long deadline is far from
 * their normal latency and a single retry still covers a dropped connection or a throttle.
 */

/** The ingest function's timeout (API Gateway itself gives up after 30 s). */
export const INGEST_FUNCTION_TIMEOUT_SECONDS = 10;
/** The retry function's timeout; the retry queue's visibility timeout is six times it (lib/retry-queue.ts). */
export const RETRY_FUNCTION_TIMEOUT_SECONDS = 60;
/** Default deadline of one Datadog call (DD_TIMEOUT_MS). */
export const DATADOG_TIMEOUT_MS = 5_000;

/** Opening a TCP (and TLS) connection to DynamoDB, SQS or Secrets Manager. */
export const AWS_CONNECTION_TIMEOUT_MS = 500;
/** From the request written to the whole answer read. */
export const AWS_REQUEST_TIMEOUT_MS = 1_000;
/** The first try and one retry (the SDK's standard retry strategy, and the signed requests of lambda/shared/aws-request.ts). */
export const AWS_MAX_ATTEMPTS = 2;
/**
 * The SDK's longest wait before that retry: full jitter on twice the base delay, whose base is
 * 100 ms, or 500 ms after a throttling error.
 */
export const AWS_RETRY_BACKOFF_MAX_MS = 2 * 500;
/** The longest one ledger or queue call can take before it fails. */
export const AWS_CALL_WORST_CASE_MS = AWS_MAX_ATTEMPTS * (AWS_CONNECTION_TIMEOUT_MS + AWS_REQUEST_TIMEOUT_MS) + (AWS_MAX_ATTEMPTS - 1) * AWS_RETRY_BACKOFF_MAX_MS;

/**
 * The part of every AWS SDK v3 client configuration that bounds a call: spread it into the DynamoDB,
 * SQS and Secrets Manager clients. `throwOnRequestTimeout` makes the request deadline an error (by
 * default it only warns); `socketTimeout` is the same deadline for an idle socket, which older SDK
 * versions (the one a Lambda runtime ships) treat as their request timeout.
 */
export const AWS_CLIENT_BOUNDS = Object.freeze({
  maxAttempts: AWS_MAX_ATTEMPTS,
  requestHandler: Object.freeze({
    connectionTimeout: AWS_CONNECTION_TIMEOUT_MS,
    requestTimeout: AWS_REQUEST_TIMEOUT_MS,
    socketTimeout: AWS_REQUEST_TIMEOUT_MS,
    throwOnRequestTimeout: true,
  }),
});

// ---- The delivery budgets (issue 13): claims, the watchdog, the retry function's records ----------------
//
// One set of numbers; every other budget is derived from them by deriveBudgets, and the stack checks the
// inequalities between them at synth (lib/budgets.ts):
//
//   C   claim length          = 2D + 2A + Mc              = 2·5 000 + 2·4 000 + 2 000 = 20 000 ms
//   Wd  watchdog delay        = ceil(C / 1 s) + 1 s       = 21 s (SQS delays at most 900 s)
//   Rrec one record, worst    = 5A + (P + 1)D              = 35 000 ms (get + claim + guard read + renewal
//                                                                        + effect + renewal + completion)
//   V   visibility timeout    = 6R + W                    = 361 s (AWS guidance for SQS event sources)
//
// with D the Datadog deadline, A one AWS call's worst case, Mc the claim margin, R the retry function's
// timeout, W its batching window and P the pages of a guard's timeline read (GUARD_READ_PAGES).
//
// A claim covers one Datadog call and the ledger write after it, not a whole action: before each call
// (a guard's read, then the effect) the worker makes sure the claim still holds that call and one write
// (callMs + A), and renews it by a conditional swap when it does not. A renewed claim (written within A)
// must hold the longest call and the write after it: C - A >= max(P·D, D) + A (checked at synth).

/** Mi: what the ingest keeps back for logs, the metrics flush and the answer. */
export const ANSWER_MARGIN_MS = 1_000;
/** Mc: clock skew between hosts and scheduling delays, added to every claim. */
export const CLAIM_MARGIN_MS = 2_000;
/** W: how long the retry function's poller waits to fill a batch. */
export const RETRY_BATCHING_WINDOW_SECONDS = 1;
/** S: how long after a create Datadog's search may still miss the case (the marker lookup waits this long). */
export const MARKER_SEARCH_SETTLE_MS = 60_000;
/** P: the pages a guarded comment reads of the case's timeline before posting (each one Datadog call). */
export const GUARD_READ_PAGES = 2;
/** What the retry function keeps after one record's worst case and one more AWS call before it starts a record. */
export const RETRY_START_MARGIN_MS = 2_000;
/** SQS limits: the longest message delay and the longest visibility timeout. */
export const SQS_MAX_DELAY_SECONDS = 900;
export const SQS_MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** The numbers every budget is derived from (ms). */
export interface BudgetInputs {
  /** I. */
  readonly ingestTimeoutMs: number;
  /** R. */
  readonly retryTimeoutMs: number;
  /** W. */
  readonly batchingWindowMs: number;
  /** V. @default 6R + W */
  readonly visibilityTimeoutMs?: number;
  /** D. */
  readonly datadogTimeoutMs: number;
  /** A. */
  readonly awsCallWorstCaseMs: number;
  /** One AWS request's timeout (T_req). */
  readonly awsRequestTimeoutMs: number;
  /** Mi. */
  readonly answerMarginMs: number;
  /** Mc. */
  readonly claimMarginMs: number;
  /** S. */
  readonly searchSettleMs: number;
}

export interface Budgets extends Required<BudgetInputs> {
  /** C = 2D + 2A + Mc: how long a claim on an alert's pending work holds before anyone may take over. */
  readonly claimMs: number;
  /** Wd = ceil(C / 1 s) + 1: the delay of the watchdog message armed before a transition (seconds). */
  readonly watchdogDelaySeconds: number;
  /** P·D: a guard's timeline read. */
  readonly guardReadMs: number;
  /** max(P·D, D) + A: what a claim must still hold before a Datadog call (the call and the write after it). */
  readonly claimStepMs: number;
  /** Rrec = 5A + (P + 1)D: the worst case of one retry record. */
  readonly recordWorstCaseMs: number;
  /** Rrec + A + margin: the time left the retry function needs to start one more record. */
  readonly recordStartMs: number;
  /** 3·T_req + D + Mi: the ingest's read, watchdog send and transition write, then a whole Datadog call and the answer. */
  readonly ingestFirstCallMs: number;
}

export const BUDGET_INPUTS: Required<BudgetInputs> = Object.freeze({
  ingestTimeoutMs: INGEST_FUNCTION_TIMEOUT_SECONDS * 1000,
  retryTimeoutMs: RETRY_FUNCTION_TIMEOUT_SECONDS * 1000,
  batchingWindowMs: RETRY_BATCHING_WINDOW_SECONDS * 1000,
  visibilityTimeoutMs: (6 * RETRY_FUNCTION_TIMEOUT_SECONDS + RETRY_BATCHING_WINDOW_SECONDS) * 1000,
  datadogTimeoutMs: DATADOG_TIMEOUT_MS,
  awsCallWorstCaseMs: AWS_CALL_WORST_CASE_MS,
  awsRequestTimeoutMs: AWS_REQUEST_TIMEOUT_MS,
  answerMarginMs: ANSWER_MARGIN_MS,
  claimMarginMs: CLAIM_MARGIN_MS,
  searchSettleMs: MARKER_SEARCH_SETTLE_MS,
});

/** C for a Datadog deadline D: claim write, lookup or guard read, the effect, the completion write, and the margin. */
export function claimMs(datadogTimeoutMs: number = DATADOG_TIMEOUT_MS, awsCallWorstCaseMs: number = AWS_CALL_WORST_CASE_MS): number {
  return 2 * datadogTimeoutMs + 2 * awsCallWorstCaseMs + CLAIM_MARGIN_MS;
}

/** Every budget from the inputs (the defaults, with any of them overridden). */
export function deriveBudgets(overrides: Partial<BudgetInputs> = {}): Budgets {
  const base = { ...BUDGET_INPUTS, ...overrides };
  const inputs: Required<BudgetInputs> = { ...base, visibilityTimeoutMs: overrides.visibilityTimeoutMs ?? 6 * base.retryTimeoutMs + base.batchingWindowMs };
  const claim = 2 * inputs.datadogTimeoutMs + 2 * inputs.awsCallWorstCaseMs + inputs.claimMarginMs;
  const guardReadMs = GUARD_READ_PAGES * inputs.datadogTimeoutMs;
  // get + claim + guard read + renewal + effect + renewal + completion.
  const recordWorstCaseMs = 5 * inputs.awsCallWorstCaseMs + guardReadMs + inputs.datadogTimeoutMs;
  return Object.freeze({
    ...inputs,
    claimMs: claim,
    guardReadMs,
    claimStepMs: Math.max(guardReadMs, inputs.datadogTimeoutMs) + inputs.awsCallWorstCaseMs,
    watchdogDelaySeconds: Math.ceil(claim / 1000) + 1,
    recordWorstCaseMs,
    recordStartMs: recordWorstCaseMs + inputs.awsCallWorstCaseMs + RETRY_START_MARGIN_MS,
    ingestFirstCallMs: 3 * inputs.awsRequestTimeoutMs + inputs.datadogTimeoutMs + inputs.answerMarginMs,
  });
}

/** The budgets of the default configuration. */
export const BUDGETS: Budgets = deriveBudgets();
/** C of the default configuration (20 s). */
export const CLAIM_MS = BUDGETS.claimMs;
/** Wd of the default configuration (21 s). */
export const WATCHDOG_DELAY_SECONDS = BUDGETS.watchdogDelaySeconds;
/** Rrec of the default configuration (35 s). */
export const RECORD_WORST_CASE_MS = BUDGETS.recordWorstCaseMs;
/** Rrec + A + margin of the default configuration (41 s): the time left a retry batch needs to start one more record. */
export const RECORD_START_MS = BUDGETS.recordStartMs;

/** The time left to an invocation: `remaining()` ms, from Lambda's context or a fixed end. */
export interface Deadline {
  /** ms left now (may be negative once past). */
  remaining(): number;
}

/** A Deadline from Lambda's `context.getRemainingTimeInMillis`. */
export function lambdaDeadline(context: { getRemainingTimeInMillis(): number }): Deadline {
  return { remaining: () => context.getRemainingTimeInMillis() };
}

/** A Deadline that ends at `endsAt` (ms) on the clock `now` (local runs, tests). */
export function deadlineAt(endsAt: number, now: () => number = Date.now): Deadline {
  return { remaining: () => endsAt - now() };
}
