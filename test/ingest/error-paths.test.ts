import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { createIngestHandler, SECRET_NOT_CONFIGURED, type IngestDeps } from '../../lambda/ingest/handler.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { readSample } from '../../lambda/local/samples.js';
import { signRequest } from '../../lambda/local/sign.js';
import { compileRules } from '../../lambda/mapping/compile-rules.js';
import { loadRulesFile, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { LedgerError } from '../../lambda/shared/errors.js';
import { createLogger, silentLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { createSecretsProvider, secretsManagerLoader } from '../../lambda/shared/secrets.js';
import { SqsActionQueue } from '../../lambda/delivery/sqs-queue.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { localDynamoClient, startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { DD_KEYS } from '../support/fauxqs.js';
import { fakeDatadog } from '../support/fakes.js';
import { closedPortUrl, localAwsClient } from '../support/unreachable.js';

// Every way the ingest handler can fail, driven through real protocols where there is one (Secrets
// Manager's JSON protocol from a stub, DynamoDB from dynalite, SQS and Datadog over sockets, closed
// ports for "unreachable"). The rule the table checks: a cause the sender can fix by sending again
// later is a 5xx (503 with the documented {error, message}), a bad request is a 4xx, and a
// misconfiguration is a 500 (senders that retry get through once it is fixed). Never a 4xx for a
// transient cause: Alertmanager, Grafana and Sentry give up on a 4xx (docs/senders.md).

const SECRET_ID = 'case-bridge/error-paths';
const GITHUB_SECRET = 'error-paths-github-secret';
const SECRETS = { GITHUB_WEBHOOK_SECRET: GITHUB_SECRET, ...DD_KEYS };
const TABLE = 'error-paths-ledger';
const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const presets = loadRulesFile(PRESET_RULES_FILE);

type SecretsReply = { status: number; body: unknown } | 'hang-up';
let secretsReply: (reads: number) => SecretsReply = () => ({ status: 200, body: { Name: SECRET_ID, SecretString: JSON.stringify(SECRETS) } });
let secretsStub: Server;
let secretsEndpoint: string;
let dd: DatadogTestServer;
let dynamo: LocalDynamo;
/** Nothing listens here: connections are refused. */
let closedPort: string;

beforeAll(async () => {
  let reads = 0;
  // Secrets Manager has no emulator: GetSecretValue (awsJson1_1) is all the bridge calls.
  secretsStub = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = secretsReply(reads++);
      if (reply === 'hang-up') {
        res.socket?.destroy();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => secretsStub.listen(0, '127.0.0.1', resolve));
  secretsEndpoint = `http://127.0.0.1:${(secretsStub.address() as AddressInfo).port}`;
  dd = await startDatadogServer();
  dynamo = await startDynalite();
  await dynamo.createLedgerTable(TABLE);
  closedPort = await closedPortUrl();
}, 30_000);

afterAll(async () => {
  await dd?.close();
  await dynamo?.close();
  await new Promise<void>((resolve) => (secretsStub ? secretsStub.close(() => resolve()) : resolve()));
});

const awsClient = localAwsClient;
const awsError = (status: number, type: string) => ({ status, body: { __type: type, message: `${type} (test)` } });
const secretString = (value: string) => ({ status: 200, body: { Name: SECRET_ID, SecretString: value } });

/** The deployed wiring (Secrets Manager, DynamoDB, Datadog over HTTP), each piece replaceable per case. */
function handlerWith(overrides: Partial<IngestDeps> = {}) {
  const deps: IngestDeps = {
    rules: presets,
    secrets: createSecretsProvider({ load: secretsManagerLoader(SECRET_ID, awsClient(secretsEndpoint)), origin: `secret ${SECRET_ID}` }),
    datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 2_000 }),
    queue: new MemoryActionQueue(),
    ledger: new DynamoLedger({ client: localDynamoClient(dynamo.endpoint), tableName: TABLE }),
    logger: silentLogger,
    maxBodyBytes: 64 * 1024,
    random: () => 0.5,
    ...overrides,
  };
  return createIngestHandler(deps) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
}

let issueNumber = 1000;

/** A GitHub issues.opened delivery as API Gateway hands it over, signed unless told otherwise. */
function githubEvent(options: { body?: string; secret?: string; source?: string; headers?: Record<string, string | undefined> } = {}): APIGatewayProxyEventV2 {
  const sample = readSample('github', 'issues.opened');
  // A new issue each time: every case is a first firing, not a repeat the ledger deduplicates.
  const issue = JSON.parse(sample.body) as { issue: { number: number } };
  issue.issue.number = ++issueNumber;
  const body = options.body ?? JSON.stringify(issue);
  const signed = signRequest({ source: 'github', secret: options.secret ?? GITHUB_SECRET, body: Buffer.from(body, 'utf8'), headers: { ...sample.headers, 'x-github-delivery': randomUUID() } });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toLowerCase(), v])), ...options.headers })) if (v !== undefined) headers[k] = v;
  const source = options.source ?? 'github';
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}',
    rawPath: `/webhooks/${source}`,
    rawQueryString: '',
    headers,
    pathParameters: { source },
    requestContext: { requestId: randomUUID() } as APIGatewayProxyEventV2['requestContext'],
    body,
    isBase64Encoded: false,
  };
}

/**
 * transient: fixed by sending again later (503). config: an operator must fix the deployment; 500, so
 * that senders which retry get through once it is fixed. permanent: the request itself is wrong (4xx).
 * bug: an error nobody foresaw; 500, so that it is retried and logged. accepted: the bridge took the
 * webhook and owns it now (queued or dead-lettered, never dropped).
 */
type Kind = 'transient' | 'config' | 'bug' | 'permanent' | 'accepted';

interface ErrorPath {
  readonly cause: string;
  readonly kind: Kind;
  readonly status: number;
  /** `error` of a refusal, `status` of an accepted answer. */
  readonly code: string;
  readonly run: () => Promise<APIGatewayProxyStructuredResultV2>;
}

const normalSecret = () => ({ status: 200, body: { Name: SECRET_ID, SecretString: JSON.stringify(SECRETS) } });

const PATHS: readonly ErrorPath[] = [
  // The request is wrong: sending it again cannot help.
  { cause: 'no such source in the rules', kind: 'permanent', status: 404, code: 'unknown_source', run: () => handlerWith()(githubEvent({ source: 'jira' }), context) },
  { cause: 'body over the size limit', kind: 'permanent', status: 413, code: 'body_too_large', run: () => handlerWith({ maxBodyBytes: 100 })(githubEvent(), context) },
  { cause: 'not a JSON content type', kind: 'permanent', status: 415, code: 'unsupported_content_type', run: () => handlerWith()(githubEvent({ headers: { 'content-type': 'text/plain' } }), context) },
  { cause: 'signature made with another secret', kind: 'permanent', status: 401, code: 'invalid_signature', run: () => handlerWith()(githubEvent({ secret: 'not-the-secret' }), context) },
  { cause: 'signed body that is not JSON', kind: 'permanent', status: 400, code: 'malformed_payload', run: () => handlerWith()(githubEvent({ body: '{"action": "opened",' }), context) },
  { cause: 'a header the source needs is missing (X-GitHub-Event)', kind: 'permanent', status: 400, code: 'malformed_payload', run: () => handlerWith()(githubEvent({ headers: { 'x-github-event': undefined } }), context) },

  // Transient: the sender's next attempt goes through once the dependency is back.
  {
    cause: 'Secrets Manager unreachable (nothing cached yet)',
    kind: 'transient',
    status: 503,
    code: 'secret_unavailable',
    run: () => handlerWith({ secrets: createSecretsProvider({ load: secretsManagerLoader(SECRET_ID, awsClient(closedPort)), origin: 'secret' }) })(githubEvent(), context),
  },
  { cause: 'Secrets Manager answers InternalServiceError', kind: 'transient', status: 503, code: 'secret_unavailable', run: withSecretsReply(() => awsError(500, 'InternalServiceError')) },
  { cause: 'Secrets Manager throttles GetSecretValue', kind: 'transient', status: 503, code: 'secret_unavailable', run: withSecretsReply(() => awsError(400, 'ThrottlingException')) },
  { cause: 'Secrets Manager drops the connection', kind: 'transient', status: 503, code: 'secret_unavailable', run: withSecretsReply(() => 'hang-up') },
  {
    cause: 'dedup ledger (DynamoDB) unreachable',
    kind: 'transient',
    status: 503,
    code: 'ledger_unavailable',
    run: () => handlerWith({ ledger: new DynamoLedger({ client: localDynamoClient(closedPort), tableName: TABLE }) })(githubEvent(), context),
  },
  {
    cause: 'dedup ledger table missing or not readable',
    kind: 'transient',
    status: 503,
    code: 'ledger_unavailable',
    run: () => handlerWith({ ledger: new DynamoLedger({ client: localDynamoClient(dynamo.endpoint), tableName: 'no-such-table' }) })(githubEvent(), context),
  },
  {
    // The watchdog is armed before anything is written or sent (#13): no queue, no work, 503.
    cause: 'retry queue (SQS) unreachable: the watchdog cannot be armed',
    kind: 'transient',
    status: 503,
    code: 'queue_unavailable',
    run: () => {
      const queue = new SqsActionQueue({ client: new SQSClient(awsClient(closedPort)), retryQueueUrl: `${closedPort}/000000000000/retry`, dlqUrl: `${closedPort}/000000000000/dlq` });
      return handlerWith({ queue })(githubEvent(), context);
    },
  },

  // Misconfigured: 500 until an operator fixes it; senders that retry get through afterwards.
  { cause: 'the secret does not exist (ResourceNotFoundException)', kind: 'config', status: 500, code: 'not_configured', run: withSecretsReply(() => awsError(400, 'ResourceNotFoundException')) },
  { cause: 'the function may not read the secret (AccessDeniedException)', kind: 'config', status: 500, code: 'not_configured', run: withSecretsReply(() => awsError(400, 'AccessDeniedException')) },
  { cause: 'the secret is not filled yet (the generated placeholder, not JSON)', kind: 'config', status: 500, code: 'not_configured', run: withSecretsReply(() => secretString('p4ssw0rd-generated-by-cloudformation')) },
  { cause: "the secret has no value for the source's key", kind: 'config', status: 500, code: 'not_configured', run: withSecretsReply(() => secretString(JSON.stringify(DD_KEYS))) },
  {
    cause: 'a rule fails at run time',
    kind: 'config',
    status: 500,
    code: 'not_configured',
    run: () => {
      const rules = compileRules({
        version: 1,
        defaults: { project: '11111111-1111-1111-1111-111111111111', type_id: '00000000-0000-0000-0000-000000000001' },
        sources: { github: { rules: [{ name: 'broken', case: { title: '{{ $error("boom") }}' } }] } },
      });
      return handlerWith({ rules })(githubEvent(), context);
    },
  },
  {
    cause: 'a bug: the Datadog client throws something unexpected',
    kind: 'bug',
    status: 500,
    code: 'internal_error',
    run: () => handlerWith({ datadog: fakeDatadog({ createCase: () => Promise.reject(new TypeError('cannot read properties of undefined')) }) })(githubEvent(), context),
  },

  // Accepted: the bridge owns the webhook from here (retry queue or DLQ, with an alarm), so 2xx.
  { cause: 'Datadog unreachable', kind: 'accepted', status: 202, code: 'queued', run: () => handlerWith({ datadog: createDatadogClient({ baseUrl: closedPort, timeoutMs: 2_000 }) })(githubEvent(), context) },
  { cause: 'Datadog answers 503', kind: 'accepted', status: 202, code: 'queued', run: withDatadogAnswer(503) },
  { cause: 'Datadog refuses the case (400)', kind: 'accepted', status: 202, code: 'dead_lettered', run: withDatadogAnswer(400) },
  {
    cause: "Datadog answers 401 and the keys' re-read fails (Secrets Manager gone after the first read)",
    kind: 'accepted',
    status: 202,
    code: 'dead_lettered',
    run: withSecretsReply((reads) => (reads === 0 ? secretString(JSON.stringify({ ...SECRETS, DD_API_KEY: 'revoked-key' })) : awsError(500, 'InternalServiceError'))),
  },
];

/** Runs the deployed wiring with Datadog answering the create `status`. */
function withDatadogAnswer(status: number): () => Promise<APIGatewayProxyStructuredResultV2> {
  return () => {
    dd.failNext(1, { status });
    return handlerWith()(githubEvent(), context);
  };
}

/** Runs the deployed wiring with Secrets Manager answering `reply` (its argument: earlier reads in this case). */
function withSecretsReply(reply: (reads: number) => SecretsReply): () => Promise<APIGatewayProxyStructuredResultV2> {
  return async () => {
    let base: number | undefined;
    secretsReply = (reads) => reply(reads - (base ??= reads));
    try {
      return await handlerWith()(githubEvent(), context);
    } finally {
      secretsReply = normalSecret;
    }
  };
}

const EXPECTED_CLASS: Record<Kind, (status: number) => boolean> = {
  transient: (s) => s === 503,
  config: (s) => s === 500,
  bug: (s) => s === 500,
  permanent: (s) => s >= 400 && s < 500,
  accepted: (s) => s >= 200 && s < 300,
};

describe('a ledger failure after the delivery id was remembered', () => {
  it('answers 503, forgets the delivery id, and handles the sender\'s retry of the same delivery', async () => {
    const real = new DynamoLedger({ client: localDynamoClient(dynamo.endpoint), tableName: TABLE });
    let failReads = 1;
    // The real ledger, whose alert read fails once (DynamoDB throttling, say) after the delivery id is stored.
    const ledger = Object.assign(Object.create(real) as DynamoLedger, {
      get: (source: string, identity: string) => (failReads-- > 0 ? Promise.reject(new LedgerError('the dedup ledger failed (GetItem): throttled')) : real.get(source, identity)),
    });
    const handler = handlerWith({ ledger });
    const event = githubEvent();

    const first = await handler(event, context);
    const retry = await handler(event, context);

    expect([first.statusCode, JSON.parse(first.body ?? '{}').error]).toEqual([503, 'ledger_unavailable']);
    expect([retry.statusCode, JSON.parse(retry.body ?? '{}').status]).toEqual([201, 'created']);
  });
});

describe('a secret the function cannot use', () => {
  // What Secrets Manager says when the role may not read the secret: the role ARN and the account id.
  const ACCOUNT = '123456789012';
  const ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:case-bridge-AbCdEf`;
  const DENIED = `User: arn:aws:sts::${ACCOUNT}:assumed-role/case-bridge-IngestRole-1A2B3C/case-bridge-Ingest is not authorized to perform: secretsmanager:GetSecretValue on resource: ${ARN} because no identity-based policy allows the secretsmanager:GetSecretValue action`;
  const replies: Record<string, () => SecretsReply> = {
    AccessDeniedException: () => ({ status: 400, body: { __type: 'AccessDeniedException', message: DENIED } }),
    ResourceNotFoundException: () => ({ status: 400, body: { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret ${ARN}.` } }),
    DecryptionFailure: () => ({ status: 400, body: { __type: 'DecryptionFailure', message: `Access to KMS is not allowed (key arn:aws:kms:eu-west-1:${ACCOUNT}:key/0000)` } }),
    'binary secret': () => ({ status: 200, body: { ARN, Name: 'case-bridge', SecretBinary: 'AAEC' } }),
    'placeholder (not JSON)': () => secretString('p4ssw0rd-generated-by-cloudformation'),
  };

  it.each(Object.keys(replies))('%s: the unauthenticated answer is generic, the log has the details', async (name) => {
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => logs.push(line) });
    secretsReply = replies[name]!;
    try {
      const secrets = createSecretsProvider({ load: secretsManagerLoader(ARN, awsClient(secretsEndpoint)), origin: `secret ${ARN}` });
      // Signed with a wrong secret: the answer is sent before the signature is checked.
      const answer = await handlerWith({ secrets, logger })(githubEvent({ secret: 'anyone' }), context);

      expect(answer.statusCode).toBe(500);
      expect(JSON.parse(answer.body ?? '{}')).toEqual({ error: 'not_configured', message: SECRET_NOT_CONFIGURED });
      expect(answer.body).not.toContain(ACCOUNT);
      expect(logs.join('\n')).toContain(ARN);
    } finally {
      secretsReply = normalSecret;
    }
  });

  it('names the missing key of a source (no account detail in it)', async () => {
    secretsReply = () => secretString(JSON.stringify(DD_KEYS));
    try {
      const answer = await handlerWith()(githubEvent(), context);
      expect(JSON.parse(answer.body ?? '{}')).toEqual({ error: 'not_configured', message: 'the bridge secret has no value for GITHUB_WEBHOOK_SECRET (needed by source github)' });
    } finally {
      secretsReply = normalSecret;
    }
  });
});

describe('every error path of the ingest handler', () => {
  it('the table covers each kind, and no transient cause is a 4xx', () => {
    for (const kind of ['transient', 'config', 'bug', 'permanent', 'accepted'] as const) expect(PATHS.some((p) => p.kind === kind)).toBe(true);
    for (const p of PATHS) expect(EXPECTED_CLASS[p.kind](p.status), `${p.cause}: ${p.status} does not fit ${p.kind}`).toBe(true);
  });

  it.each(PATHS.map((p) => [p.cause, p] as const))('%s', async (_cause, path) => {
    const answer = await path.run();
    const body = JSON.parse(answer.body ?? '{}') as { error?: string; message?: string; status?: string };

    expect({ status: answer.statusCode, code: body.error ?? body.status }).toEqual({ status: path.status, code: path.code });
    if ((answer.statusCode ?? 0) >= 400) {
      // The documented error shape, and nothing about our secrets in it.
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body.message).not.toContain(GITHUB_SECRET);
    }
  }, 20_000);
});
