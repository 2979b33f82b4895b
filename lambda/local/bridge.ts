import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createDatadogClient, type DatadogClient } from '../datadog/client.js';
import { MemoryLedger } from '../ledger/memory-ledger.js';
import type { Ledger } from '../ledger/types.js';
import { DynamoLedger } from '../ledger/dynamo-ledger.js';
import { DynamoRateBudgetStore } from '../ledger/dynamo-rate-budget.js';
import { MemoryRateBudgetStore } from '../ledger/rate-budget-store.js';
import { RateBudget, rateLimitObserver, type Pacer } from '../delivery/rate-budget.js';
import { localDynamoClient, startLocalLedger } from './ledger.js';
import type { LocalState } from './state.js';
import { resolveApiBaseUrl } from '../datadog/sites.js';
import { createIngestHandler, missingSecretKeys } from '../ingest/handler.js';
import { ROUTES } from '../ingest/routes.js';
import type { CompiledRules } from '../mapping/compile-rules.js';
import { loadRulesFile, PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import type { Env } from '../shared/env.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/log.js';
import type { BridgeMetrics } from '../shared/metrics.js';
import { MemoryActionQueue, type ActionQueue } from '../delivery/queue.js';
import { SqsActionQueue } from '../delivery/sqs-queue.js';
import { createRetryHandler } from '../retry/handler.js';
import { localSqsClient, startLocalSqs, type LocalSqs } from './fauxqs.js';
import { startRetryConsumer } from './retry-consumer.js';
import { createSecretsProvider, fileSecretLoader, type SecretsProvider } from '../shared/secrets.js';
import { describeLocalCase, LOCAL_CASES_ROUTE, startLocalCaseManagement, withLocalDatadogKeys, type DatadogTarget } from './case-management.js';
import type { DatadogTestServer } from './datadog-server.js';
import { MemoryArchive, MemoryJournal } from '../journal/memory.js';
import { DELIVERY_STATUSES, type Archive, type DeliveryFilter, type DeliveryJournal } from '../journal/types.js';
import { LOCAL_ARCHIVE_BUCKET, LOCAL_JOURNAL_TABLE, localArchive, localJournal, localS3Client } from './journal.js';
import type { ReplayReport, ReplayRequest } from '../ingest/replay.js';
import { createConsole } from './console.js';
import { MemoryDeadLetters, SqsDeadLetters, type DeadLetters } from './dead-letters.js';
import { listSamples } from './samples.js';
import { signAndSendSample } from './send-sample.js';

/** Local routes of the journal (issue 16; never deployed): `npm run deliveries` reads them. */
export const LOCAL_DELIVERIES_ROUTE = '/local/deliveries';

export const DEV_SECRETS_FILE = fileURLToPath(new URL('../../config/dev-secrets.json', import.meta.url));

/** Reading stops here; API Gateway's own payload limit is 10 MB. */
const HARD_READ_LIMIT = 16 * 1024 * 1024;

export interface LocalBridge {
  readonly url: string;
  readonly port: number;
  readonly queue: ActionQueue;
  readonly rules: CompiledRules;
  readonly usingDevSecrets: boolean;
  /** Configured sources whose key the secret lacks (read at start): `npm start` warns about each. */
  readonly missingSecrets: readonly { readonly source: string; readonly key: string }[];
  /** The embedded SQS emulator, when `embeddedSqs` is on (for `npm run redrive -- --copy ...`). */
  readonly sqs: { readonly endpoint: string; readonly retryQueueUrl: string; readonly dlqUrl: string } | undefined;
  /** The dedup ledger (shared by the ingest handler and the retry consumer). */
  readonly ledger: Ledger;
  /** The embedded DynamoDB emulator, when `embeddedLedger` is on (for `npm run cases -- ... --endpoint`). */
  readonly dynamo: { readonly endpoint: string; readonly tableName: string } | undefined;
  /** True when the ledger and queues live in `npm run state` (they outlive this process). */
  readonly persistent: boolean;
  /** Which Datadog the bridge sends to: the real one, the local Case Management, or none (dry run). */
  readonly datadogTarget: DatadogTarget;
  /** The local Case Management, when the bridge sends to it (`embeddedDatadog` without keys). */
  readonly caseManagement: DatadogTestServer | undefined;
  /** The delivery journal: in the ledger's DynamoDB emulator when there is one, else in memory (issue 16). */
  readonly journal: DeliveryJournal;
  /** The raw archive: in the queue emulator's S3 when there is one, else in memory (issue 16). */
  readonly archive: Archive;
  /** Archived deliveries through the current rules (`npm run replay`, the console, POST /local/replay). */
  replay(request: ReplayRequest): Promise<ReplayReport>;
  /** The dead-letter queue as the console lists it. */
  readonly deadLetters: DeadLetters | undefined;
  close(): Promise<void>;
}

export interface LocalBridgeOptions {
  readonly env: Env;
  readonly logger?: Logger;
  readonly queue?: ActionQueue;
  readonly secrets?: SecretsProvider;
  readonly datadog?: DatadogClient;
  /** The dedup ledger. @default a MemoryLedger, or the embedded emulator with `embeddedLedger` */
  readonly ledger?: Ledger;
  /**
   * Keep the ledger in an embedded DynamoDB-protocol emulator (dynalite on 127.0.0.1), as `npm start`
   * does. Ignored when `ledger` is given. @default false (MemoryLedger)
   */
  readonly embeddedLedger?: boolean;
  readonly now?: () => number;
  readonly random?: () => number;
  /** See MARKER_SEARCH_SETTLE_SECONDS (tests shorten it). @default 60 */
  readonly markerSearchSettleSeconds?: number;
  /** Metrics of the ingest handler and the retry consumer (e.g. MemoryMetrics in tests). @default none */
  readonly metrics?: BridgeMetrics;
  /**
   * Run the retry queue in an embedded SQS emulator (fauxqs on 127.0.0.1) with the same retry
   * consumer the Lambda runs, as `npm start` does. Ignored when `queue` is given.
   * @default false (in-memory queue)
   */
  readonly embeddedSqs?: boolean;
  /**
   * The ledger and queues of a running `npm run state` (CASE_BRIDGE_STATE): used instead of embedded
   * emulators, so that they outlive this process. Ignored for whichever of `ledger`/`queue` is given.
   */
  readonly state?: LocalState;
  /**
   * The shared rate budget of the ingest handler and the retry consumer (issue 15); `false` turns
   * pacing off. @default a RateBudget in the ledger's DynamoDB table when it has one, else in memory
   */
  readonly pace?: Pacer | false;
  /** Waits for a rate-budget slot (tests pass one driven by their fake clock). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Without Datadog keys in the secret (and CASE_BRIDGE_DRY_RUN not set), send the cases to a local
   * Case Management on 127.0.0.1 (lambda/local/datadog-server.ts), as `npm start` does, kept in the
   * state directory with `state`. Ignored when `datadog` is given. @default false (a dry run without keys)
   */
  readonly embeddedDatadog?: boolean;
  /** @default the ledger emulator's journal table, else in memory */
  readonly journal?: DeliveryJournal;
  /** @default the queue emulator's archive bucket, else in memory */
  readonly archive?: Archive;
}

/**
 * Builds what API Gateway (HTTP API, payload v2) would hand the ingest function: the webhook route with
 * its `source`, else `GET /health` or the `$default` route (lib/ingest-api.ts).
 */
export function toApiGatewayEvent(req: IncomingMessage, body: Buffer, source: string | undefined, clock: () => number = Date.now): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  // On the bridge's clock (a test's fake one too): the ingest counts the sender's deadline from timeEpoch.
  const now = new Date(clock());
  const routeKey = source !== undefined ? ROUTES.webhook : `${req.method ?? 'GET'} ${url.pathname}` === ROUTES.health ? ROUTES.health : '$default';
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(source !== undefined ? { pathParameters: { source } } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers['host'] ?? '127.0.0.1',
      domainPrefix: 'local',
      http: { method: req.method ?? 'POST', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...apiGatewayBody(headers['content-type'], body),
  };
}

/** Content types API Gateway (HTTP API) passes as text; it base64-encodes every other body. */
const TEXT_TYPE = /^\s*(?:text\/[^;]*|application\/(?:json|xml|javascript))\s*(?:;|$)/i;

/**
 * The body as API Gateway hands it over: text for JSON, XML, JavaScript and text/* (the form nearly
 * every webhook takes in production), base64 for anything else. Bytes that are not valid UTF-8 stay
 * base64 here so that the handler sees exactly what the sender signed.
 */
export function apiGatewayBody(contentType: string | undefined, body: Buffer): { body: string; isBase64Encoded: boolean } {
  if (contentType !== undefined && TEXT_TYPE.test(contentType) && isUtf8(body)) return { body: body.toString('utf8'), isBase64Encoded: false };
  return { body: body.toString('base64'), isBase64Encoded: true };
}

const ROUTE = /^\/webhooks\/([^/]+)\/?$/;

/** A path segment with its %XX escapes decoded, or undefined when they are not valid UTF-8 percent-encoding. */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage, keep: number): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > HARD_READ_LIMIT) {
        req.destroy();
        return;
      }
      if (size <= keep) {
        chunks.push(chunk);
        size += chunk.length;
      }
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), truncated: seen > size }));
    req.on('error', reject);
    req.on('close', () => resolve({ body: Buffer.concat(chunks), truncated: seen > size }));
  });
}

/** The queues of `npm run state` through a client of this process: closing it leaves them running. */
function stateQueues(state: LocalState): Pick<LocalSqs, 'endpoint' | 'retryQueueUrl' | 'retryQueueArn' | 'dlqUrl' | 'client' | 'close'> {
  const client = localSqsClient(state.sqsEndpoint);
  return { endpoint: state.sqsEndpoint, retryQueueUrl: state.retryQueueUrl, retryQueueArn: state.retryQueueArn, dlqUrl: state.dlqUrl, client, close: async () => client.destroy() };
}

/** Starts the bridge behind a Node HTTP server on 127.0.0.1, routed like API Gateway. */
export async function startLocalBridge(options: LocalBridgeOptions): Promise<LocalBridge> {
  const { env } = options;
  const logger = options.logger ?? createLogger({ level: env.LOG_LEVEL });
  const rules = loadRulesFile(env.CASE_BRIDGE_RULES ?? PRESET_RULES_FILE);
  const usingDevSecrets = options.secrets === undefined && env.CASE_BRIDGE_SECRETS_FILE === undefined;
  const secretsFile = env.CASE_BRIDGE_SECRETS_FILE ?? DEV_SECRETS_FILE;
  const fileSecrets = options.secrets ?? createSecretsProvider({ load: fileSecretLoader(secretsFile), origin: secretsFile, onError: (error) => logger.error('secret reload failed; keeping the cached value', { error }) });
  // Fail at start, not at the first webhook, when the secrets file is broken; name the missing keys.
  const bag = await fileSecrets.get();
  const missingSecrets = missingSecretKeys(rules, bag);
  const apiUrl = resolveApiBaseUrl({ site: env.DD_SITE, apiUrl: env.DD_API_URL });
  let caseManagement: Awaited<ReturnType<typeof startLocalCaseManagement>> | undefined;
  let datadogTarget: DatadogTarget;
  if (env.CASE_BRIDGE_DRY_RUN) datadogTarget = { kind: 'dry_run', reason: 'CASE_BRIDGE_DRY_RUN is set' };
  else if (options.datadog !== undefined || (bag['DD_API_KEY'] && bag['DD_APP_KEY'])) datadogTarget = { kind: 'datadog', url: apiUrl };
  else if (options.embeddedDatadog === true) {
    caseManagement = await startLocalCaseManagement(options.state?.dir);
    datadogTarget = { kind: 'local', url: caseManagement.url, file: caseManagement.file };
  } else datadogTarget = { kind: 'dry_run', reason: 'the secret has no DD_API_KEY and DD_APP_KEY' };
  const secrets = caseManagement !== undefined ? withLocalDatadogKeys(fileSecrets) : fileSecrets;
  let ledger: Ledger = options.ledger ?? new MemoryLedger();
  let dynamoInfo: LocalBridge['dynamo'];
  let stopLedger = async (): Promise<void> => undefined;
  if (options.ledger === undefined && options.state !== undefined) {
    const client = localDynamoClient(options.state.ledgerEndpoint);
    ledger = new DynamoLedger({ client, tableName: options.state.tableName });
    // Fail at start, not at the first webhook, when `npm run state` is not running.
    await ledger.get('generic', 'start-up check').catch((cause: unknown) => {
      client.destroy();
      throw new ConfigError(`CASE_BRIDGE_STATE names a ledger at ${options.state?.ledgerEndpoint} that does not answer: is npm run state running?`, { cause });
    });
    dynamoInfo = { endpoint: options.state.ledgerEndpoint, tableName: options.state.tableName };
    stopLedger = async () => client.destroy();
  } else if (options.ledger === undefined && options.embeddedLedger === true) {
    const local = await startLocalLedger();
    ledger = local.ledger;
    dynamoInfo = { endpoint: local.endpoint, tableName: local.tableName };
    stopLedger = () => local.close();
  }
  let pace: Pacer | undefined;
  if (options.pace !== undefined) {
    pace = options.pace === false ? undefined : options.pace;
  } else if (dynamoInfo !== undefined) {
    const budgetClient = localDynamoClient(dynamoInfo.endpoint);
    pace = new RateBudget({ store: new DynamoRateBudgetStore({ client: budgetClient, tableName: dynamoInfo.tableName }), logger });
    const stop = stopLedger;
    stopLedger = async () => {
      budgetClient.destroy();
      await stop();
    };
  } else {
    pace = new RateBudget({ store: new MemoryRateBudgetStore(), logger });
  }
  const paced = { ...(pace ? { pace } : {}), ...(options.sleep ? { sleep: options.sleep } : {}) };
  const datadog =
    options.datadog ??
    createDatadogClient({ baseUrl: caseManagement?.url ?? apiUrl, timeoutMs: env.DD_TIMEOUT_MS, ...(pace ? { onRateLimit: rateLimitObserver(pace, options.now) } : {}) });
  // The journal beside the ledger (dynalite), the archive beside the queues (fauxqs's S3), as in AWS.
  let journal: DeliveryJournal = options.journal ?? new MemoryJournal(options.now);
  let stopJournal = async (): Promise<void> => undefined;
  if (options.journal === undefined && dynamoInfo !== undefined) {
    const journalClient = localDynamoClient(dynamoInfo.endpoint);
    journal = await localJournal(journalClient, options.state?.journalTable ?? LOCAL_JOURNAL_TABLE, env.CASE_BRIDGE_JOURNAL_RETENTION_DAYS);
    stopJournal = async () => journalClient.destroy();
  }
  let archive: Archive = options.archive ?? new MemoryArchive(options.now);
  let queue: ActionQueue = options.queue ?? new MemoryActionQueue();
  let stopRetry = async (): Promise<void> => undefined;
  let sqsInfo: LocalBridge['sqs'];
  const sqs =
    options.queue !== undefined
      ? undefined
      : options.state !== undefined
        ? stateQueues(options.state)
        : options.embeddedSqs === true
          ? await startLocalSqs()
          : undefined;
  if (sqs !== undefined && options.archive === undefined) {
    const s3 = localS3Client(sqs.endpoint);
    archive = await localArchive(s3, options.state?.archiveBucket ?? LOCAL_ARCHIVE_BUCKET);
    const stop = stopJournal;
    stopJournal = async () => {
      s3.destroy();
      await stop();
    };
  }
  if (sqs !== undefined) {
    const sqsQueue = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
    const consumer = startRetryConsumer({
      client: sqs.client,
      queueUrl: sqs.retryQueueUrl,
      queueArn: sqs.retryQueueArn,
      handler: createRetryHandler({ journal, datadog, secrets, queue: sqsQueue, ledger, ...(options.now ? { now: options.now } : {}), logger: logger.child({ function: 'retry' }), ...(options.random ? { random: options.random } : {}), ...(options.metrics ? { metrics: options.metrics } : {}), ...(options.markerSearchSettleSeconds !== undefined ? { markerSearchSettleSeconds: options.markerSearchSettleSeconds } : {}), ...paced }),
      logger,
      // Two pollers, as the deployed event source mapping's MaximumConcurrency (lib/retry-queue.ts):
      // a record waiting for its rate-budget slot does not hold back the records that come after it.
      concurrency: 2,
    });
    queue = sqsQueue;
    sqsInfo = { endpoint: sqs.endpoint, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl };
    stopRetry = async () => {
      await consumer.stop();
      await sqs.close();
    };
  }
  const handler = createIngestHandler({
    journal,
    archive,
    archiveRejected: env.CASE_BRIDGE_ARCHIVE_REJECTED,
    archiveMode: env.CASE_BRIDGE_ARCHIVE,
    rules,
    secrets,
    datadog,
    queue,
    ledger,
    logger,
    maxBodyBytes: env.CASE_BRIDGE_MAX_BODY_BYTES,
    dryRun: env.CASE_BRIDGE_DRY_RUN,
    ...(options.now ? { now: options.now } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.markerSearchSettleSeconds !== undefined ? { markerSearchSettleSeconds: options.markerSearchSettleSeconds } : {}),
    ...paced,
  });

  const now = options.now ?? Date.now;
  const replay = (request: ReplayRequest) => handler.replay(request);
  const deadLetters: DeadLetters | undefined = sqs !== undefined ? new SqsDeadLetters(sqs.client, sqs.dlqUrl) : queue instanceof MemoryActionQueue ? new MemoryDeadLetters(queue) : undefined;
  let selfUrl = '';
  const localConsole = createConsole({
    journal,
    datadogTarget,
    cases: () => (caseManagement === undefined ? [] : caseManagement.cases.map((c) => describeLocalCase(c, caseManagement))),
    deadLetters,
    replay,
    send: async (source, sample) => signAndSendSample({ source, event: sample, baseUrl: selfUrl, rules, bag: await fileSecrets.get(), origin: env.CASE_BRIDGE_RULES ?? PRESET_RULES_FILE, secretOrigin: secretsFile }),
    samples: [...rules.sources.keys()].map((source) => ({ source, samples: listSamples(source) })).filter((s) => s.samples.length > 0),
    now,
  });

  // Requests still running when close() is called: their work reads and writes the ledger, the
  // journal and the queues, so close() waits for them before it stops those.
  const inFlight = new Set<Promise<void>>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const work = (async () => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      const match = ROUTE.exec(path);
      if (!match || req.method !== 'POST') {
        // The console (GET /, its panels and traces, and its JSON posts): local only, never deployed.
        if (await localConsole.handle(req, res, path)) return;
        req.resume();
        if (req.method === 'GET' && (path === LOCAL_DELIVERIES_ROUTE || path.startsWith(`${LOCAL_DELIVERIES_ROUTE}/`))) {
          const answer = await deliveriesAnswer(journal, new URL(req.url ?? '/', 'http://127.0.0.1'), options.now ?? Date.now);
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
          return;
        }
        if (caseManagement !== undefined && req.method === 'GET' && path === LOCAL_CASES_ROUTE) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ datadog: caseManagement.url, cases: caseManagement.cases.map((c) => describeLocalCase(c, caseManagement)) }));
          return;
        }
        // GET /health, or the 404 of any other route: answered by the handler, as in AWS.
        const result = await handler(toApiGatewayEvent(req, Buffer.alloc(0), undefined, options.now), {} as Context);
        res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>).end(result.body ?? '');
        return;
      }
      const source = decodePathSegment(match[1] ?? '');
      if (source === undefined) {
        // Like any other name that is no source: no source's name has a malformed escape.
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unknown_source', message: 'the source in the path is not valid percent-encoding' }));
        return;
      }
      const { body, truncated } = await readBody(req, env.CASE_BRIDGE_MAX_BODY_BYTES);
      const event = toApiGatewayEvent(req, truncated ? Buffer.alloc(env.CASE_BRIDGE_MAX_BODY_BYTES + 1) : body, source, options.now);
      const result = await handler(event, {} as Context);
      if (res.destroyed) return;
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>).end(result.body ?? '');
    })().catch((error: unknown) => {
      logger.error('local server failure', { error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal_error' }));
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  selfUrl = `http://127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    queue,
    rules,
    usingDevSecrets,
    missingSecrets,
    sqs: sqsInfo,
    ledger,
    dynamo: dynamoInfo,
    persistent: options.state !== undefined && options.ledger === undefined && options.queue === undefined,
    datadogTarget,
    caseManagement,
    journal,
    archive,
    replay,
    deadLetters,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await Promise.allSettled([...inFlight]);
      await stopRetry();
      await stopJournal();
      await stopLedger();
      await caseManagement?.close();
    },
  };
}

/**
 * `GET /local/deliveries?source=&since=<ms>&until=<ms>&identity=&status=&limit=`: the journal's records,
 * newest first (since: the last day by default); `GET /local/deliveries/<id>`: one record, or 404.
 */
async function deliveriesAnswer(journal: DeliveryJournal, url: URL, now: () => number): Promise<{ status: number; body: unknown }> {
  const id = url.pathname.slice(LOCAL_DELIVERIES_ROUTE.length + 1);
  if (id !== '') {
    const record = await journal.get(decodeURIComponent(id));
    return record === undefined ? { status: 404, body: { error: 'not_found', message: `no delivery ${id} in the journal` } } : { status: 200, body: record };
  }
  const q = url.searchParams;
  const num = (name: string): number | undefined => (q.get(name) === null || !Number.isFinite(Number(q.get(name))) ? undefined : Number(q.get(name)));
  const status = q.get('status') ?? undefined;
  if (status !== undefined && status !== 'failed' && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
    return { status: 400, body: { error: 'bad_request', message: `status must be failed or one of ${DELIVERY_STATUSES.join(', ')}` } };
  }
  const filter: DeliveryFilter = {
    since: num('since') ?? now() - 86_400_000,
    until: num('until'),
    source: q.get('source') ?? undefined,
    identity: q.get('identity') ?? undefined,
    senderDeliveryId: q.get('senderDeliveryId') ?? undefined,
    status: status as DeliveryFilter['status'],
    limit: num('limit'),
  };
  return { status: 200, body: { deliveries: await journal.list(filter) } };
}
