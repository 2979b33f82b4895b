/**
 * The functions as deployed, locally, with every AWS request they make counted (issue 15, item 4):
 * the ingest and retry bundles built with the stack's options, each in its own container process
 * (bench/lambda-host.ts); their AWS SDK clients pointed at the counter (bench/aws-counter.ts), which
 * forwards DynamoDB (the ledger and the delivery journal tables) to dynalite, SQS and S3 (the raw
 * archive bucket) to fauxqs and Secrets Manager to a stub; Datadog the local Datadog-compatible server.
 * The functions get the environment the stack gives them (lib/journal.ts: the journal table and its
 * retention on both, the archive bucket on the ingest), so what is counted is what a deployed bridge does. Lambda's SQS event source is played by a poller that receives one
 * message at a time through the counter, invokes the retry container and deletes what it finished
 * (what the event source mapping does, billed to the account as SQS requests).
 */
import { rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSBatchResponse } from 'aws-lambda';
import { startDatadogServer, type DatadogTestServer } from '../lambda/local/datadog-server.js';
import { startLocalSqs, localSqsClient, type LocalSqs } from '../lambda/local/fauxqs.js';
import { createLedgerTable, localDynamoClient } from '../lambda/local/ledger.js';
import { createArchiveBucket, createJournalTable, localS3Client } from '../lambda/local/journal.js';
import { ENV, RETENTION_DEFAULTS, type ArchiveMode } from '../lambda/shared/contract.js';
import { settleBatch, toSqsEvent } from '../lambda/local/retry-consumer.js';
import { signRequest } from '../lambda/local/sign.js';
import { INGEST_FUNCTION_TIMEOUT_SECONDS, RETRY_FUNCTION_TIMEOUT_SECONDS } from '../lambda/shared/budgets.js';
import type { SourceName } from '../lambda/sources/index.js';
import { FUNCTION_MEMORY_MB, LAMBDA_ENVIRONMENT } from '../lib/lambda-bundle.js';
import { startSecretsManagerStub, type SecretsManagerStub } from '../test/support/secrets-manager.js';
import { DD_KEYS, queueDepth, receive } from '../test/support/fauxqs.js';
import { TEST_SECRETS, testSecret } from '../test/support/local-bridge.js';
import { PROBE_HEADER, startAwsCounter, type AwsCall, type AwsCounter } from './aws-counter.js';
import { buildBundle } from './bundle.js';
import { startContainer, type Container } from './lambda-host.js';

const TABLE = 'case-bridge-ledger';
export const JOURNAL_TABLE_NAME = 'case-bridge-journal';
export const ARCHIVE_BUCKET = 'case-bridge-archive-123456789012';
const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:case-bridge-AbCdEf';
/** Function names as CDK generates them (stack, construct path, suffix): they appear in every log line. */
export const FUNCTION_NAMES = { ingest: 'CaseBridge-IngestApiIngest3F9A2C1B-kQ8vN2xR7tLm', retry: 'CaseBridge-RetryRetry5D1E7B90-Hc4pW9sJ2fYa' } as const;

/** One invocation of a function, with what it did. */
export interface InvocationRecord {
  readonly fn: 'ingest' | 'retry';
  /** The webhook kind it belongs to (the harness's label). */
  readonly kind: string;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly logEvents: readonly string[];
  /** The AWS requests made during it. */
  readonly calls: readonly AwsCall[];
  /** Datadog requests made during it. */
  readonly datadogCalls: number;
  /** Messages in the batch (retry). */
  readonly messages: number;
}

export interface IngestAnswer {
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
}

export interface CostRig {
  readonly counter: AwsCounter;
  readonly datadog: DatadogTestServer;
  readonly sqs: LocalSqs;
  readonly secrets: SecretsManagerStub;
  /** The emulator's own endpoint (not counted). */
  readonly dynamoEndpoint: string;
  /** The operations dynalite received from the functions (`X-Amz-Target` suffix), in order: what the counter's figures are checked against. */
  readonly dynamoSeen: string[];
  readonly invocations: InvocationRecord[];
  /** SQS requests of the event source (receives that got a message, deletes), by kind. */
  readonly poller: AwsCall[];
  /** Empty receives: the event source's polling, a fixed cost. */
  readonly emptyPolls: AwsCall[];
  readonly ingest: Container;
  readonly retry: Container;
  /** The built bundles' entry files and the environment each container starts with. */
  readonly bundles: { readonly ingest: string; readonly retry: string };
  readonly env: { readonly ingest: Readonly<Record<string, string>>; readonly retry: Readonly<Record<string, string>> };
  /** A signed API Gateway event (payload v2) for `source`, as API Gateway hands it over. */
  webhook(source: SourceName, body: string, headers?: Record<string, string>): APIGatewayProxyEventV2;
  invokeIngest(kind: string, event: APIGatewayProxyEventV2): Promise<IngestAnswer>;
  /**
   * Runs the event source until the retry queue is empty (delayed messages included) or `maxMs`
   * passes; each message's work is counted to the kind `kindOf` gives its body.
   */
  drain(kindOf: (body: string) => string, maxMs: number): Promise<void>;
  close(): Promise<void>;
}

/** `archive`: the stack's `-c archive` (lib/journal.ts): which deliveries the ingest archives. @default 'all' */
export async function startCostRig(options: { outDir?: string; archive?: ArchiveMode } = {}): Promise<CostRig> {
  const [ingestBundle, retryBundle] = await Promise.all([buildBundle('ingest', options.outDir), buildBundle('retry', options.outDir)]);
  const datadog = await startDatadogServer();
  const { default: dynalite } = (await import('dynalite')) as { default: (o: Record<string, number>) => import('node:http').Server };
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoSeen: string[] = [];
  dynamoServer.prependListener('request', (req: import('node:http').IncomingMessage) => {
    // The counter's own reads (the items around a write to an indexed table) are not the functions' calls.
    if (req.headers[PROBE_HEADER] === undefined) dynamoSeen.push(String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '');
  });
  await new Promise<void>((resolve) => dynamoServer.listen(0, '127.0.0.1', resolve));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamoServer.address() as import('node:net').AddressInfo).port}`;
  const setupClient = localDynamoClient(dynamoEndpoint);
  await createLedgerTable(setupClient, TABLE);
  await createJournalTable(setupClient, JOURNAL_TABLE_NAME);
  setupClient.destroy();
  const sqs = await startLocalSqs();
  const setupS3 = localS3Client(sqs.endpoint);
  await createArchiveBucket(setupS3, ARCHIVE_BUCKET);
  setupS3.destroy();
  const secrets = await startSecretsManagerStub(SECRET_ID, { ...TEST_SECRETS, ...DD_KEYS });
  // fauxqs serves S3 on the same port as SQS.
  const counter = await startAwsCounter({ dynamodb: dynamoEndpoint, sqs: sqs.endpoint, s3: sqs.endpoint, secretsmanager: secrets.endpoint });
  // The SQS client sends to the queue URL's host: name the counter there.
  const viaCounter = (url: string): string => url.replace(/^http:\/\/[^/]+/, counter.endpoint);
  const env: Record<string, string> = {
    ...LAMBDA_ENVIRONMENT,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL: counter.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CASE_BRIDGE_SECRET_ID: SECRET_ID,
    CASE_BRIDGE_LEDGER_TABLE: TABLE,
    // What lib/journal.ts sets (the archive bucket only on the ingest, below).
    [ENV.journalTable]: JOURNAL_TABLE_NAME,
    [ENV.journalRetentionDays]: String(RETENTION_DEFAULTS.journalDays),
    CASE_BRIDGE_RETRY_QUEUE_URL: viaCounter(sqs.retryQueueUrl),
    CASE_BRIDGE_DLQ_URL: viaCounter(sqs.dlqUrl),
    DD_API_URL: datadog.url,
    DD_SITE: 'datadoghq.com',
  };
  const archive = options.archive ?? 'all';
  const ingestEnv = { ...env, [ENV.archiveBucket]: ARCHIVE_BUCKET, ...(archive !== 'all' ? { [ENV.archiveMode]: archive } : {}) };
  const [ingest, retry] = await Promise.all([
    startContainer({ bundle: ingestBundle.file, env: ingestEnv, functionName: FUNCTION_NAMES.ingest, memoryMb: FUNCTION_MEMORY_MB, timeoutMs: INGEST_FUNCTION_TIMEOUT_SECONDS * 1000 }),
    startContainer({ bundle: retryBundle.file, env, functionName: FUNCTION_NAMES.retry, memoryMb: FUNCTION_MEMORY_MB, timeoutMs: RETRY_FUNCTION_TIMEOUT_SECONDS * 1000 }),
  ]);
  const pollClient: SQSClient = localSqsClient(counter.endpoint);
  const retryQueueUrl = viaCounter(sqs.retryQueueUrl);
  const invocations: InvocationRecord[] = [];
  const poller: AwsCall[] = [];
  const emptyPolls: AwsCall[] = [];

  async function run<R>(fn: 'ingest' | 'retry', kind: string, event: unknown, messages: number): Promise<R> {
    const from = counter.calls.length;
    const dd = datadog.requests.length;
    counter.attribute(`${fn}:${kind}`);
    try {
      const inv = await (fn === 'ingest' ? ingest : retry).invoke<R>(event);
      invocations.push({ fn, kind, cpuMs: inv.cpuMs, wallMs: inv.wallMs, logEvents: inv.logEvents, calls: counter.calls.slice(from), datadogCalls: datadog.requests.length - dd, messages });
      return inv.result;
    } finally {
      counter.attribute('unattributed');
    }
  }

  return {
    counter,
    datadog,
    sqs,
    secrets,
    dynamoEndpoint,
    dynamoSeen,
    invocations,
    poller,
    emptyPolls,
    ingest,
    retry,
    bundles: { ingest: ingestBundle.file, retry: retryBundle.file },
    env: { ingest: ingestEnv, retry: env },
    webhook(source, body, headers = {}) {
      const signed = signRequest({ source, secret: testSecret(source), body: Buffer.from(body, 'utf8'), headers: { 'content-type': 'application/json', ...headers } });
      const now = new Date();
      return {
        version: '2.0',
        routeKey: 'POST /webhooks/{source}',
        rawPath: `/webhooks/${source}`,
        rawQueryString: '',
        headers: { host: 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', ...Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toLowerCase(), v])) },
        pathParameters: { source },
        requestContext: {
          accountId: '123456789012',
          apiId: 'a1b2c3d4e5',
          domainName: 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com',
          domainPrefix: 'a1b2c3d4e5',
          http: { method: 'POST', path: `/webhooks/${source}`, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'Alertmanager/0.28.1' },
          requestId: `${randomUUID().slice(0, 8)}=`,
          routeKey: 'POST /webhooks/{source}',
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
        body,
        isBase64Encoded: false,
      };
    },
    async invokeIngest(kind, event) {
      const result = await run<{ statusCode?: number; body?: string }>('ingest', kind, event, 0);
      return { statusCode: result.statusCode ?? 200, body: JSON.parse(result.body ?? '{}') as Record<string, unknown> };
    },
    async drain(kindOf, maxMs) {
      const end = Date.now() + maxMs;
      while (Date.now() < end) {
        const depth = await queueDepth(sqs.client, sqs.retryQueueUrl);
        if (depth.total === 0) return;
        const from = counter.calls.length;
        counter.attribute('poll');
        const messages = await receive(pollClient, retryQueueUrl, { max: 1, waitTimeSeconds: 1 });
        const polled = counter.calls.slice(from);
        if (messages.length === 0) {
          emptyPolls.push(...polled);
          continue;
        }
        const kind = kindOf(messages[0]?.Body ?? '');
        poller.push(...polled.map((c) => ({ ...c, by: `poll:${kind}` })));
        const result = await run<SQSBatchResponse>('retry', kind, toSqsEvent(messages, sqs.retryQueueArn), messages.length);
        const before = counter.calls.length;
        counter.attribute(`poll:${kind}`);
        await settleBatch({ client: pollClient, queueUrl: retryQueueUrl }, messages, result);
        poller.push(...counter.calls.slice(before));
        counter.attribute('unattributed');
      }
    },
    async close() {
      pollClient.destroy();
      await Promise.all([ingest.close(), retry.close()]);
      await counter.close();
      await secrets.close();
      await sqs.close();
      await datadog.close();
      await new Promise<void>((resolve) => {
        dynamoServer.close(() => resolve());
        dynamoServer.closeAllConnections();
      });
      if (options.outDir !== undefined) rmSync(options.outDir, { recursive: true, force: true });
    },
  };
}
