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
/** The first try and one retry (the SDK's standard retry strategy). */
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

/** Room kept at the end of an invocation for the answer, the log and the metrics flush. */
export const ANSWER_MARGIN_MS = 1_000;
/** Clock skew between hosts and scheduling, added to a claim. */
export const CLAIM_MARGIN_MS = 2_000;
/**
 * How long a worker holds an alert's outbox (issue 13): the claim write, a guard read and the effect
 * (two Datadog calls), and the completion write, plus the margin. After it anyone may take over, so a
 * crashed worker's work waits 20 s, not an hour.
 */
export const CLAIM_MS = 2 * DATADOG_TIMEOUT_MS + 2 * AWS_CALL_WORST_CASE_MS + CLAIM_MARGIN_MS;
/** The watchdog's delay: it comes once the claim of the worker that armed it is void. */
export const WATCHDOG_DELAY_SECONDS = Math.ceil(CLAIM_MS / 1000) + 1;
