import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDatadogClient } from '../datadog/client.js';
import { resolveApiBaseUrl } from '../datadog/sites.js';
import { parseLambdaEnv } from '../shared/env.js';
import { EmfMetrics } from '../shared/metrics.js';
import { createLambdaLogger } from '../shared/lambda-logger.js';
import { createSecretsProvider, lambdaSecretLoader } from '../shared/secrets.js';
import { SqsActionQueue } from '../delivery/sqs-queue.js';
import { createRetryHandler } from './handler.js';
import { lambdaDynamo, lambdaLedger } from '../ledger/lambda-ledger.js';
import { lambdaRateBudget, rateLimitObserver } from '../delivery/rate-budget.js';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { lambdaJournal } from '../journal/lambda-stores.js';

// The Lambda entry of the retry queue's consumer (SqsEventSource with reportBatchItemFailures).
// Everything below runs once per container.

const env = parseLambdaEnv();
// JSON log lines (redacted; lambda-logger.ts) and EMF metrics, flushed after every batch.
const logger = createLambdaLogger({ level: env.LOG_LEVEL, fields: { function: 'retry' } });
const metrics = new EmfMetrics();
// The shared rate budget (issue 15): one item in the ledger table, its client made on first use.
const pace = lambdaRateBudget(env.CASE_BRIDGE_LEDGER_TABLE, logger);

const retry = createRetryHandler({
  datadog: createDatadogClient({ baseUrl: resolveApiBaseUrl({ site: env.DD_SITE, apiUrl: env.DD_API_URL }), timeoutMs: env.DD_TIMEOUT_MS, onRateLimit: rateLimitObserver(pace) }),
  secrets: createSecretsProvider({
    load: lambdaSecretLoader(env.CASE_BRIDGE_SECRET_ID),
    origin: `secret ${env.CASE_BRIDGE_SECRET_ID}`,
    onError: (error) => logger.error('secret reload failed; keeping the cached value', { error }),
  }),
  queue: new SqsActionQueue({ client: new SQSClient({ ...AWS_CLIENT_BOUNDS }), retryQueueUrl: env.CASE_BRIDGE_RETRY_QUEUE_URL, dlqUrl: env.CASE_BRIDGE_DLQ_URL }),
  logger,
  ledger: lambdaLedger(env.CASE_BRIDGE_LEDGER_TABLE),
  pace,
  metrics,
  journal: lambdaJournal(env.CASE_BRIDGE_JOURNAL_TABLE, env.CASE_BRIDGE_JOURNAL_RETENTION_DAYS, lambdaDynamo()),
});

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    return await retry(event, () => context.getRemainingTimeInMillis());
  } finally {
    metrics.flush();
  }
}
