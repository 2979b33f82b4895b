import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSample } from '../../lambda/local/samples.js';
import { signRequest } from '../../lambda/local/sign.js';
import { SOURCE_NAMES, type SourceName } from '../../lambda/sources/index.js';
import { lambdaBuildOptions } from '../../lib/lambda-bundle.js';
import { readRulesForBundle } from '../../lib/rules-asset.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { createArchiveBucket, createJournalTable, localS3Client } from '../../lambda/local/journal.js';
import { DD_KEYS } from '../support/fauxqs.js';
import { webhookEvent } from '../support/fakes.js';
import { testSecret, TEST_SECRETS } from '../support/local-bridge.js';
import { startSecretsManagerStub, type SecretsManagerStub } from '../support/secrets-manager.js';

// The ingest function as deployed: the bundle built with the stack's own options (rules inlined,
// fast expressions precompiled, JSONata a lazy chunk), loaded in a fresh Node process with the
// Lambda entry's environment, its AWS SDK calls answered by a Secrets Manager stub and dynalite,
// Datadog by the local test server. No SQS call happens on these paths (nothing is retried).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Inside the project, beside the other build output (the bundle imports nothing from node_modules).
const OUT = join(ROOT, 'node_modules/.cache/case-bridge-test', `ingest-${process.pid}`);
const TABLE = 'case-bridge-ledger';
const SECRET_ID = 'case-bridge/test';

let dd: DatadogTestServer;
let dynamo: LocalDynamo;
let secretsStub: SecretsManagerStub | undefined;
let secretsEndpoint: string;
let sqs: LocalSqs | undefined;
/** The modules esbuild put in index.mjs and the chunks it imports statically: what a cold start loads. */
let startInputs: string[] = [];
/** The modules of each chunk loaded only by a dynamic import(), by the chunk's file name. */
let lazyInputs = new Map<string, string[]>();

beforeAll(async () => {
  dd = await startDatadogServer();
  dynamo = await startDynalite();
  await dynamo.createLedgerTable(TABLE);
  // The watchdog (#13) puts the retry queue on the first create's path.
  sqs = await startLocalSqs();
  // Secrets Manager has no emulator: GetSecretValue (awsJson1_1) is all the ingest function calls.
  secretsStub = await startSecretsManagerStub(SECRET_ID, { ...TEST_SECRETS, ...DD_KEYS });
  secretsEndpoint = secretsStub.endpoint;

  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const rules = readRulesForBundle(join(ROOT, 'config/rules.yaml'));
  const built = await build({ ...lambdaBuildOptions(join(ROOT, 'lambda/ingest/index.ts'), OUT, { __CASE_BRIDGE_RULES__: rules.json, __CASE_BRIDGE_EXPRESSIONS__: rules.expressionsJson }), logLevel: 'silent', metafile: true });
  const outputs = built.metafile.outputs;
  const start = new Set<string>();
  const visit = (file: string): void => {
    if (start.has(file)) return;
    start.add(file);
    for (const i of outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && outputs[i.path] !== undefined) visit(i.path);
  };
  visit(Object.keys(outputs).find((file) => file.endsWith('/index.mjs')) ?? '');
  // The modules of which esbuild kept some code (an input it tree-shook away is listed with 0 bytes).
  const kept = (file: string): string[] => Object.entries(outputs[file]?.inputs ?? {}).flatMap(([input, { bytesInOutput }]) => (bytesInOutput > 0 ? [input] : []));
  startInputs = [...start].flatMap(kept);
  lazyInputs = new Map(Object.keys(outputs).flatMap((file) => (start.has(file) || file.endsWith('.map') ? [] : [[file.split('/').pop() ?? file, kept(file)]])));
}, 60_000);

afterAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  await dd?.close();
  await dynamo?.close();
  await sqs?.close();
  await secretsStub?.close();
});

/** A signed delivery as API Gateway hands it over (JSON as text). */
function event(source: SourceName, sample: string, options: { delivery?: string; secret?: string; edit?: (body: string) => string } = {}): APIGatewayProxyEventV2 {
  const sampled = readSample(source, sample);
  const s = options.edit === undefined ? sampled : { ...sampled, body: options.edit(sampled.body) };
  const headers = { ...s.headers, ...(options.delivery ? { 'x-github-delivery': options.delivery } : {}) };
  return webhookEvent(source, s.body, signRequest({ source, secret: options.secret ?? testSecret(source), body: Buffer.from(s.body, 'utf8'), headers }));
}

interface Answer {
  readonly statusCode: number;
  readonly body: { status?: string; error?: string; case?: { id: string; key: string } };
}

/**
 * Loads the bundle in a fresh process (a cold container) and invokes it once per event, in order
 * (`together`: all at once, as concurrent requests of one Node process).
 * Asynchronous: the stubs it talks to run in this process.
 */
async function invoke(events: readonly (APIGatewayProxyEventV2 | Record<string, unknown>)[], extraEnv: Record<string, string> = {}, bundleDir = OUT, together = false): Promise<Answer[]> {
  const input = join(OUT, `events-${randomUUID()}.json`);
  const output = `${input}.out`;
  writeFileSync(input, JSON.stringify(events));
  const script = `
    import { readFileSync, writeFileSync } from 'node:fs';
    const { handler } = await import(${JSON.stringify(pathToFileURL(join(bundleDir, 'index.mjs')).href)});
    const context = { functionName: 'ingest', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest', memoryLimitInMB: '256', awsRequestId: 'req', getRemainingTimeInMillis: () => 10000 };
    // A replay event is answered with its report, not an HTTP answer.
    const answer = (r) => (r.statusCode === undefined ? { statusCode: 0, body: r } : { statusCode: r.statusCode, body: JSON.parse(r.body ?? '{}') });
    const events = JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'));
    const out = [];
    if (${JSON.stringify(together)}) out.push(...(await Promise.all(events.map((e) => handler(e, context)))).map(answer));
    else for (const e of events) out.push(answer(await handler(e, context)));
    writeFileSync(${JSON.stringify(output)}, JSON.stringify(out));`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env['PATH'] ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      CASE_BRIDGE_SECRET_ID: SECRET_ID,
      CASE_BRIDGE_LEDGER_TABLE: TABLE,
      AWS_ENDPOINT_URL_SQS: sqs?.endpoint ?? '',
      // The Lambda's SQS client sends to the queue URL's host: name the emulator's address in it.
      CASE_BRIDGE_RETRY_QUEUE_URL: (sqs?.retryQueueUrl ?? '').replace(/^http:\/\/[^/]+/, sqs?.endpoint ?? ''),
      CASE_BRIDGE_DLQ_URL: (sqs?.dlqUrl ?? '').replace(/^http:\/\/[^/]+/, sqs?.endpoint ?? ''),
      DD_API_URL: dd.url,
      ...extraEnv,
    },
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(readFileSync(output, 'utf8')) as Answer[];
}

describe('the built ingest bundle, cold, against real protocols', () => {
  it('answers GET /health with the version inlined at build and the bundled sources, and $default with 404 not_found, reading no secret and calling no Datadog', { timeout: 60_000 }, async () => {
    const route = (routeKey: string, method: string, rawPath: string): APIGatewayProxyEventV2 => ({
      version: '2.0',
      routeKey,
      rawPath,
      rawQueryString: '',
      headers: {},
      requestContext: { requestId: randomUUID(), http: { method, path: rawPath } } as APIGatewayProxyEventV2['requestContext'],
      isBase64Encoded: false,
    });
    const reads = secretsStub?.reads;
    const calls = dd.requests.length;
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

    const [health, missing] = await invoke([route('GET /health', 'GET', '/health'), route('$default', 'GET', '/admin')]);

    expect(health).toEqual({ statusCode: 200, body: { status: 'ok', version, sources: [...SOURCE_NAMES] } });
    expect(missing).toEqual({ statusCode: 404, body: { error: 'not_found', message: 'no route GET /admin: the bridge serves POST /webhooks/{source} and GET /health' } });
    expect(secretsStub?.reads).toBe(reads);
    expect(dd.requests.length).toBe(calls);
  });

  it('leaves JSONata and the JSON fault locator of a broken secret (momoa) out of the chunks a cold start loads', () => {
    expect(startInputs.some((i) => i.endsWith('lambda/ingest/index.ts'))).toBe(true);
    expect(startInputs.filter((i) => /node_modules\/(?:jsonata|@humanwhocodes\/momoa)\//.test(i))).toEqual([]);
  });

  it("leaves the rules file's schema out of the bundle: its rules were validated at synth", () => {
    // The schema's own text (a field's description): in no file of the bundle, lazy chunks included.
    const files = [join(OUT, 'index.mjs'), ...readdirSync(join(OUT, 'chunks')).filter((f) => f.endsWith('.mjs')).map((f) => join(OUT, 'chunks', f))];
    expect(files.filter((file) => readFileSync(file, 'utf8').includes('Only the sources listed here are served'))).toEqual([]);
  });

  it("loads each source's code only when its first webhook comes: none is in the chunks a cold start loads", () => {
    // The registry (names and defaults), the shared types and constants and the helpers every source uses are all of lambda/sources/ a cold start loads.
    expect(startInputs.filter((i) => i.includes('lambda/sources/')).sort()).toEqual(['lambda/sources/crypto.ts', 'lambda/sources/fields.ts', 'lambda/sources/index.ts', 'lambda/sources/types.ts']);
    // Each in a chunk loaded by its source's first webhook (Alertmanager's, which Grafana shares, in one of both).
    const lazy = [...lazyInputs.values()].flat();
    expect(SOURCE_NAMES.filter((source) => !lazy.includes(`lambda/sources/${source}.ts`))).toEqual([]);
  });


  it('creates cases (GitHub on fast expressions, Alertmanager through the JSONata chunk), dedups a redelivery in DynamoDB, refuses a bad signature', { timeout: 60_000 }, async () => {
    const delivery = randomUUID();
    const answers = await invoke([
      event('github', 'issues.opened', { delivery }),
      event('alertmanager', 'firing.two-alerts'),
      event('github', 'issues.opened', { delivery }),
      event('github', 'issues.opened', { delivery: randomUUID(), secret: 'not-the-secret' }),
    ]);

    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 200, 401]);
    expect(answers[2]?.body.status).toBe('duplicate');
    expect(answers[3]?.body.error).toBe('invalid_signature');
    expect(dd.cases).toHaveLength(2);
    // "(2 alerts)" comes from `$count(alerts)`, which only JSONata's evaluator (the lazy chunk) runs.
    expect(dd.cases.map((c) => (c.request as { data: { attributes: { title: string } } }).data.attributes.title)).toEqual([
      '[GitHub] acme/widgets#42: Checkout times out for EU customers',
      '[Alertmanager] DiskFillingUp (2 alerts)',
    ]);
    // The secret is read once per container, however many webhooks it serves.
    expect(secretsStub?.reads).toBe(1);
  });

  it('takes a CloudWatch alarm state change from EventBridge (no HTTP) as source cloudwatch, and a webhook after it in the same container', { timeout: 60_000 }, async () => {
    const alarm = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/cloudwatch/alarm.eventbridge.json'), 'utf8')) as Record<string, unknown>;
    const before = dd.cases.length;
    const answers = await invoke([alarm, alarm, event('github', 'issues.opened', { delivery: randomUUID() })]);

    // The GitHub issue may already have its case from the test above: created or deduplicated, both accepted.
    expect(answers.map((a) => a.statusCode)).toEqual([201, 200, expect.any(Number)]);
    expect(answers[2]!.statusCode).toBeLessThan(300);
    expect((answers[0]?.body as { identity?: string }).identity).toBe('111122223333/eu-west-1/arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-api-5xx');
    expect(answers[1]?.body.status).toBe('duplicate');
    expect((dd.cases[before]?.request as { data: { attributes: { title: string } } }).data.attributes.title).toBe('[CloudWatch] checkout-api-5xx (111122223333, eu-west-1)');
  });

  it('fails the invocation of an alarm event it could not write ahead (its ledger table missing), so that Lambda retries it and then keeps it in the on-failure queue', { timeout: 60_000 }, async () => {
    const alarm = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/cloudwatch/alarm.eventbridge.json'), 'utf8')) as Record<string, unknown>;
    const before = dd.cases.length;
    await expect(invoke([{ ...alarm, id: randomUUID() }], { CASE_BRIDGE_LEDGER_TABLE: 'no-such-table' })).rejects.toMatchObject({ stderr: expect.stringContaining('the dedup ledger failed (PutItem)') });
    expect(dd.cases.length).toBe(before);
  });

  it('replays a journaled delivery from its archived bytes when invoked with the replay event (npm run replay -- --stack)', { timeout: 60_000 }, async () => {
    await createJournalTable(dynamo.client, 'case-bridge-journal', { ifMissing: true });
    const s3 = localS3Client(sqs?.endpoint ?? '');
    await createArchiveBucket(s3, 'case-bridge-archive');
    s3.destroy();
    const env = { CASE_BRIDGE_JOURNAL_TABLE: 'case-bridge-journal', CASE_BRIDGE_ARCHIVE_BUCKET: 'case-bridge-archive', AWS_ENDPOINT_URL_S3: sqs?.endpoint ?? '' };
    // The issue may have its case from the tests above: created or deduplicated, archived either way.
    const [sent] = await invoke([event('github', 'issues.opened', { delivery: randomUUID() })], env);
    const delivery = (sent?.body as { delivery?: string }).delivery ?? '';
    const cases = dd.cases.length;

    const [preview, applied] = await invoke([{ caseBridgeReplay: { ids: [delivery], apply: false } }, { caseBridgeReplay: { ids: [delivery], apply: true } }], env);

    expect(preview?.body).toMatchObject({ apply: false, items: [{ original: delivery, result: 'preview', events: [{ decision: 'repeat_coalesced', actions: [] }] }] });
    expect(applied?.body).toMatchObject({ apply: true, items: [{ original: delivery, result: 'replayed', status: 'deduplicated', replay: expect.stringMatching(/^d[0-9a-z]{19}$/) as unknown }] });
    expect(dd.cases.length).toBe(cases);
  });

  it("verifies each of a cold container's first webhooks of a source, sent at once while its chunk loads, on its own bytes", { timeout: 60_000 }, async () => {
    const before = dd.cases.length;
    // An issue of its own: the other tests sent the sample's (a GitHub delivery is keyed by its signed body, the case by the issue).
    const issue = 100_000 + Math.floor(Math.random() * 900_000);
    const edit = (body: string): string => body.replaceAll('"number":42', `"number":${issue}`);
    const tampered = event('github', 'issues.opened', { delivery: randomUUID(), edit });
    tampered.body = (tampered.body ?? '').replace('Checkout times out', 'Checkout timed out');
    expect(tampered.body).toContain('Checkout timed out');
    const answers = await invoke([event('github', 'issues.opened', { delivery: randomUUID(), secret: 'not-the-secret', edit }), event('github', 'issues.opened', { delivery: randomUUID(), edit }), tampered], {}, OUT, true);
    expect(answers.map((a) => a.statusCode)).toEqual([401, 201, 401]);
    expect(answers[0]?.body.error).toBe('invalid_signature');
    expect(answers[2]?.body.error).toBe('invalid_signature');
    expect(dd.cases.length - before).toBe(1);
  });

  it("answers 503 source_unavailable, never 2xx, when a source's chunk cannot be loaded, and serves the other sources", { timeout: 60_000 }, async () => {
    const broken = `${OUT}-broken`;
    rmSync(broken, { recursive: true, force: true });
    cpSync(OUT, broken, { recursive: true });
    for (const file of readdirSync(join(broken, 'chunks'))) if (file.startsWith('github-')) rmSync(join(broken, 'chunks', file));
    const before = dd.cases.length;
    try {
      const [first, again, other] = await invoke([event('github', 'issues.opened', { delivery: randomUUID() }), event('github', 'issues.opened', { delivery: randomUUID() }), event('alertmanager', 'firing')], {}, broken);

      expect(first).toEqual({ statusCode: 503, body: { error: 'source_unavailable', message: 'the bridge could not load the code of this source; send it again' } });
      // Not kept as failed: the next webhook of the source tries the load again (and here fails again).
      expect(again?.statusCode).toBe(503);
      expect(other?.statusCode).toBeLessThan(300);
      expect(dd.cases.length - before).toBeLessThanOrEqual(1);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
