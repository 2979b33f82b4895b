import { createDatadogClient } from '../datadog/client.js';
import { resolveApiBaseUrl } from '../datadog/sites.js';
import { compileRulesFile } from '../mapping/compile-rules.js';
import { usePrecompiledExpressions, type PrecompiledExpressions } from '../mapping/expression.js';
import type { RulesFile } from '../mapping/rules-schema.js';
import { parseLambdaEnv } from '../shared/env.js';
import { EmfMetrics } from '../shared/metrics.js';
import { createLambdaLogger } from '../shared/lambda-logger.js';
import { lambdaSqsSend, SqsActionQueue } from '../delivery/sqs-queue.js';
import { createSecretsProvider, lambdaSecretLoader } from '../shared/secrets.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createIngestHandler } from './handler.js';
import { isReplayEvent, parseReplayRequest, REPLAY_EVENT_KEY, type ReplayReport } from './replay.js';
import { isAlarmStateChangeEvent, type JsonObject } from '../sources/types.js';
import { lambdaDynamo, lambdaLedger } from '../ledger/lambda-ledger.js';
import { lambdaRateBudget, rateLimitObserver } from '../delivery/rate-budget.js';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { lambdaArchive, lambdaJournal } from '../journal/lambda-stores.js';

// The rules file, validated and turned into JSON at synth, is inlined by esbuild (`define`), with the
// parsed form of its fast expressions (JSONata itself is then loaded only for the others).
declare const __CASE_BRIDGE_RULES__: RulesFile;
declare const __CASE_BRIDGE_EXPRESSIONS__: PrecompiledExpressions;

const env = parseLambdaEnv();
// JSON log lines (redacted; lambda-logger.ts) and EMF metrics, flushed after every invocation.
const logger = createLambdaLogger({ level: env.LOG_LEVEL });
const metrics = new EmfMetrics();
// The shared rate budget (issue 15): one item in the ledger table, its client made on first use.
const pace = lambdaRateBudget(env.CASE_BRIDGE_LEDGER_TABLE, logger);
// Validated at synth (lib/rules-asset.ts); each source's settings, policy and rules are built on its first webhook.
usePrecompiledExpressions(__CASE_BRIDGE_EXPRESSIONS__);
const rules = compileRulesFile(__CASE_BRIDGE_RULES__, { origin: 'bundled rules', lazy: true, validated: true });

// Retryable failures go to the SQS retry queue (delayed), permanent ones to the DLQ with a reason.
const queue = new SqsActionQueue({ client: async () => new (await import('../shared/sdk-sqs.js')).SQSClient({ ...AWS_CLIENT_BOUNDS }), sendMessage: lambdaSqsSend(), retryQueueUrl: env.CASE_BRIDGE_RETRY_QUEUE_URL, dlqUrl: env.CASE_BRIDGE_DLQ_URL });

const ingest = createIngestHandler({
  rules,
  secrets: createSecretsProvider({
    load: lambdaSecretLoader(env.CASE_BRIDGE_SECRET_ID),
    origin: `secret ${env.CASE_BRIDGE_SECRET_ID}`,
    onError: (error) => logger.error('secret reload failed; keeping the cached value', { error }),
  }),
  datadog: createDatadogClient({ baseUrl: resolveApiBaseUrl({ site: env.DD_SITE, apiUrl: env.DD_API_URL }), timeoutMs: env.DD_TIMEOUT_MS, onRateLimit: rateLimitObserver(pace) }),
  queue,
  ledger: lambdaLedger(env.CASE_BRIDGE_LEDGER_TABLE),
  pace,
  logger,
  maxBodyBytes: env.CASE_BRIDGE_MAX_BODY_BYTES,
  dryRun: env.CASE_BRIDGE_DRY_RUN,
  metrics,
  // The delivery journal and raw archive (issue 16), when the stack gives them.
  journal: lambdaJournal(env.CASE_BRIDGE_JOURNAL_TABLE, env.CASE_BRIDGE_JOURNAL_RETENTION_DAYS, lambdaDynamo()),
  archive: lambdaArchive(env.CASE_BRIDGE_ARCHIVE_BUCKET),
  archiveRejected: env.CASE_BRIDGE_ARCHIVE_REJECTED,
  archiveMode: env.CASE_BRIDGE_ARCHIVE,
});

/**
 * Three entries: API Gateway's webhooks (invoked synchronously: every outcome is an answer); the
 * CloudWatch alarm state changes an EventBridge rule delivers in the stack's own account
 * (lib/alarm-events.ts; IAM, no signature; invoked asynchronously): source `cloudwatch`, which
 * throws when the event could not be written ahead, so that Lambda retries it and then keeps it in
 * the stack's on-failure queue;
 * and `npm run replay -- --stack` (issue 16): `{ "caseBridgeReplay": <request> }` by lambda invoke
 * (IAM only: API Gateway hands the function only its own event shape), answered with the report.
 */
export async function handler(event: APIGatewayProxyEventV2 | JsonObject, context: Context): Promise<APIGatewayProxyStructuredResultV2 | ReplayReport> {
  logger.addContext(context);
  try {
    if (isReplayEvent(event)) return await ingest.replay(parseReplayRequest(event[REPLAY_EVENT_KEY]), context);
    if (isAlarmStateChangeEvent(event)) return await ingest.handleTrusted('cloudwatch', event as JsonObject, context.awsRequestId);
    return await ingest(event as APIGatewayProxyEventV2, context);
  } finally {
    metrics.flush();
  }
}
