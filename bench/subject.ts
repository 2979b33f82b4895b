/**
 * What the bench times, side by side: the ingest handler as deployed (Datadog, the ledger and the journal and archive stores stubbed in
 * process) and the floor, the least work any bridge does for the same webhook.
 */
import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { CreatedCase, DatadogClient } from '../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../lambda/datadog/schema.js';
import { createIngestHandler } from '../lambda/ingest/handler.js';
import type { CompiledRules } from '../lambda/mapping/compile-rules.js';
import { loadRulesFile } from '../lambda/mapping/load-rules-file.js';
import type { Logger } from '../lambda/shared/log.js';
import { EmfMetrics } from '../lambda/shared/metrics.js';
import { createLambdaLogger } from '../lambda/shared/lambda-logger.js';
import { DynamoJournal } from '../lambda/journal/dynamo-journal.js';
import { JOURNAL_SOURCES } from '../lambda/journal/lambda-stores.js';
import { S3Archive } from '../lambda/journal/s3-archive.js';
import { MemoryActionQueue } from '../lambda/delivery/queue.js';
import type { SecretsProvider } from '../lambda/shared/secrets.js';
import { RULES_FILE } from './options.js';
import { bodyText, OWNER, REPO, SECRET, SECRETS } from './payloads.js';
import { FirstFiringLedger } from './stub-ledger.js';

// ---------------------------------------------------------------------------------------------
// The handler, Datadog stubbed in process

export type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export let created = 0;
/** The last request the handler sent: its case body is what the floor stringifies. */
let lastRequest: CaseCreateRequest | undefined;
/** Returns the last request the handler sent and forgets it. */
export function takeLastRequest(): CaseCreateRequest | undefined {
  const request = lastRequest;
  lastRequest = undefined;
  return request;
}
export const fakeDatadog: DatadogClient = {
  // What the real client does before the network: serialize the request. Then a created case.
  async createCase(request: CaseCreateRequest): Promise<CreatedCase> {
    sink ^= JSON.stringify(request).length;
    created += 1;
    lastRequest = request;
    return { id: '4f7d3c1e-2b9a-4c55-8d1e-0a1b2c3d4e5f', key: `DDFC-${created}`, statusName: 'Open' };
  },
  // A first firing only creates: the other calls are not on the path the bench measures.
  addComment: () => offPath('addComment'),
  setStatus: () => offPath('setStatus'),
  getCase: () => offPath('getCase'),
  findCaseByMarker: () => offPath('findCaseByMarker'),
  listComments: () => offPath('listComments'),
  linkSuccessor: () => offPath('linkSuccessor'),
  isSuccessorLinked: () => offPath('isSuccessorLinked'),
};

function offPath(call: string): never {
  throw new Error(`bench Datadog: ${call} is not on the first-firing path the bench measures`);
}

let loadedRules: CompiledRules | undefined;
export const rules = (): CompiledRules => (loadedRules ??= loadRulesFile(RULES_FILE));

export const benchLedger = new FirstFiringLedger();

/** Where the bench's log lines and EMF documents go: written (formatted, as to stdout), then dropped. */
const nowhere = new Writable({
  write(chunk: Buffer | string, _encoding, done) {
    sink ^= chunk.length;
    done();
  },
});

/**
 * The AWS clients' `send`, the network edge: the journal's PutItem and the archive's PutObject are
 * built by the SDK as deployed (the command objects), then answered at once as the services answer
 * a write that succeeds. `sends` counts them, so that the bench can check every webhook made both.
 */
export const awsSends = { journal: 0, archive: 0 };
const stubClient = (count: keyof typeof awsSends) => ({
  send: async (command: { input: unknown }) => {
    awsSends[count] += 1;
    sink ^= typeof command.input === 'object' ? 1 : 0;
    return {};
  },
});

/**
 * A DynamoDB and an S3 client as deployed, down to their HTTP handler, which answers in process
 * (200, an empty JSON object; S3 an ETag): what the SDK itself spends on one call (the command's
 * middleware, serializing, SigV4 signing, reading the answer), which the stubbed `send` above and
 * the ledger's stubbed calls leave out of the handler's figure. For --stages.
 */
export async function sdkEdgeClients(): Promise<{ dynamo: DynamoDBClient; s3: S3Client; dynamoSdk: typeof import('@aws-sdk/client-dynamodb'); s3Sdk: typeof import('@aws-sdk/client-s3') }> {
  const [dynamoSdk, s3Sdk] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/client-s3')]);
  const answering = (body: string, headers: Record<string, string>) => ({
    handle: async () => ({ response: { statusCode: 200, reason: 'OK', headers, body: Buffer.from(body) } }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  });
  const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'bench-secret-access-key', sessionToken: 'bench-session-token' };
  const common = { region: 'us-east-1', credentials, maxAttempts: 1 };
  return {
    dynamoSdk,
    s3Sdk,
    dynamo: new dynamoSdk.DynamoDBClient({ ...common, requestHandler: answering('{}', { 'content-type': 'application/x-amz-json-1.0' }) }),
    s3: new s3Sdk.S3Client({ ...common, requestHandler: answering('', { etag: '"bench"' }) }),
  };
}

/** The deployed parts benchHandler wired last, which --stages times on their own. */
export interface DeployedParts {
  readonly journal: DynamoJournal;
  readonly archive: S3Archive;
  readonly logger: Logger;
  readonly metrics: EmfMetrics;
}
let parts: DeployedParts | undefined;
export function deployedParts(): DeployedParts {
  if (parts === undefined) throw new Error('benchHandler() makes the deployed parts; call it first');
  return parts;
}

/**
 * The ingest handler as lambda/ingest/index.ts wires it in the stack (issue 16: the delivery journal
 * and the raw archive keeping every delivery, the default; JSON log lines at LOG_LEVEL
 * info and EMF metrics flushed after every invocation), with Datadog, the ledger, the journal table
 * and the archive bucket stubbed in process at their calls, and the log and EMF lines formatted and
 * then dropped instead of written to stdout.
 */
export function benchHandler(): Handler {
  const secrets: SecretsProvider = { get: async () => SECRETS, refresh: async () => SECRETS };
  const datadog = fakeDatadog;
  // The log and EMF lines are written as the stack writes them (one line each, on a stream), to nowhere.
  const logger = createLambdaLogger({ level: 'info', write: (line) => void nowhere.write(`${line}\n`), env: {} });
  const metrics = new EmfMetrics((line) => void nowhere.write(`${line}\n`));
  const journal = new DynamoJournal({ client: stubClient('journal') as unknown as DynamoDBClient, tableName: 'case-bridge-journal', sources: JOURNAL_SOURCES });
  const archive = new S3Archive({ client: stubClient('archive') as unknown as S3Client, bucket: 'case-bridge-archive', sources: JOURNAL_SOURCES });
  parts = { journal, archive, logger, metrics };
  const handler = createIngestHandler({
    rules: rules(),
    secrets,
    datadog,
    queue: new MemoryActionQueue(),
    // The ledger in the path (issue 4), its calls stubbed: every webhook is a first firing.
    ledger: benchLedger,
    logger,
    metrics,
    maxBodyBytes: 1024 * 1024,
    journal,
    archive,
  });
  // lambda/ingest/index.ts's entry around every webhook: the invocation's context, then the metrics flushed.
  return async (event, context) => {
    // API Gateway's receive time of each request (the sender's deadline counts from it): the bench
    // sends one event again and again, for longer than a sender waits.
    if (event.requestContext !== undefined) event.requestContext.timeEpoch = Date.now();
    logger.addContext(context);
    try {
      return (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
    } finally {
      metrics.flush();
    }
  };
}

/** Keeps results alive so the measured work cannot be optimized away. */
export let sink = 0;

export const CONTEXT = {
  functionName: 'case-bridge-ingest',
  awsRequestId: 'bench',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

// ---------------------------------------------------------------------------------------------
// The floor (issue 2, TOOLCHAIN.md): JSON.parse of the body + HMAC-SHA256 of its bytes (hex) +
// JSON.stringify of the case body: the least work any bridge does for the webhook (read it, check
// it, write the case it makes). The case body is the one the handler sends for this payload (the
// preset copies the issue body into the description: 0.8 KB for the 2 KB payload, 7 KB for 20 KB,
// 20 KB for 200 KB). TOOLCHAIN.md's table stringifies a fixed 1 KB case, its mapping's size; that
// floor is measured too and its ratio printed beside, for comparison.

/** TOOLCHAIN.md's 1 KB case. */
export const TOOLCHAIN_CASE: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: {
      title: `[GitHub] ${OWNER}/${REPO}#1874: Checkout returns 500 when a gift card covers part of the order`,
      type_id: '00000000-0000-0000-0000-000000000001',
      description: `${bodyText(640)}\n\nSource: https://github.com/${OWNER}/${REPO}/issues/1874`,
      priority: 'P4',
    },
    relationships: { project: { data: { id: '00000000-0000-0000-0000-000000000000', type: 'project' } } },
  },
};

export const floorParts = {
  parse: (text: string) => {
    sink ^= Object.keys(JSON.parse(text) as object).length;
  },
  hmac: (raw: Buffer) => {
    sink ^= createHmac('sha256', SECRET).update(raw).digest('hex').length;
  },
  stringify: (caseBody: CaseCreateRequest) => {
    sink ^= JSON.stringify(caseBody).length;
  },
};

export function floor(text: string, raw: Buffer, caseBody: CaseCreateRequest): void {
  floorParts.parse(text);
  floorParts.hmac(raw);
  floorParts.stringify(caseBody);
}
