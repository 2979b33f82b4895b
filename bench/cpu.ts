/** Per-webhook CPU: the handler against the floor for one payload size, and with --stages each step alone. */
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import middy from '@middy/core';
import type { CaseCreateRequest } from '../lambda/datadog/schema.js';
import { deliverCase } from '../lambda/delivery/deliver.js';
import { utf8Bytes } from '../lambda/ingest/handler.js';
import { parseJsonObject, parseJsonObjectText } from '../lambda/ingest/parse-body.js';
import { mapEventToCase } from '../lambda/mapping/map-event.js';
import { silentLogger } from '../lambda/shared/log.js';
import { MemoryActionQueue } from '../lambda/delivery/queue.js';
import { measureInterleaved, measureOne, type Timing, type Work } from './harness.js';
import { BASE64, MEASURE_MS, QUICK, WARMUP_CALLS, WARMUP_MS } from './options.js';
import { apiGatewayEvent, payloadOfSize, SECRET, SECRETS, type Size } from './payloads.js';
import { createIngestHandler } from '../lambda/ingest/handler.js';
import { newDeliveryId } from '../lambda/journal/types.js';
import { FirstFiringLedger } from './stub-ledger.js';
import { CONTEXT, deployedParts, sdkEdgeClients, fakeDatadog, floor, floorParts, rules, takeLastRequest, TOOLCHAIN_CASE, type Handler } from './subject.js';
import type { DeliveryRecord } from '../lambda/journal/types.js';

export interface SizeResult {
  readonly size: string;
  readonly bytes: number;
  /** UTF-8 bytes of the case body the handler sends (JSON). */
  readonly caseBytes: number;
  readonly handler: Timing;
  readonly floor: Timing;
  readonly floorParts: { parseUs: number; hmacUs: number; stringifyUs: number };
  readonly ratio: number;
  /** The floor with TOOLCHAIN.md's fixed 1 KB case instead of this payload's, and the ratio to it. */
  readonly toolchainFloor: Timing;
  readonly toolchainRatio: number;
}

export async function measureSize(handler: Handler, size: Size): Promise<SizeResult> {
  const text = payloadOfSize(size.bytes, size.shape);
  const raw = Buffer.from(text, 'utf8');
  const event = apiGatewayEvent(raw);

  takeLastRequest();
  const first = await handler(event, CONTEXT);
  const lastRequest = takeLastRequest();
  if (first.statusCode !== 201 || lastRequest === undefined) {
    throw new Error(`the handler answered ${first.statusCode} instead of 201 for the ${size.name} payload: ${first.body ?? ''}`);
  }
  // The case body as plain data (flat strings), as a bridge that wrote it directly would hold it.
  const caseJson = JSON.stringify(lastRequest);
  const caseBody = JSON.parse(caseJson) as CaseCreateRequest;
  const callHandler = () => handler(event, CONTEXT);
  const callFloor = () => floor(text, raw, caseBody);
  const callToolchainFloor = () => floor(text, raw, TOOLCHAIN_CASE);
  // At least WARMUP_CALLS calls and WARMUP_MS: the JIT has optimized the hot path before measuring.
  const warmEnd = performance.now() + WARMUP_MS;
  for (let i = 0; i < WARMUP_CALLS || performance.now() < warmEnd; i++) {
    await callHandler();
    callFloor();
    callToolchainFloor();
  }
  const [h, f, t] = await measureInterleaved(
    [
      { work: callHandler, async: true },
      { work: callFloor, async: false },
      { work: callToolchainFloor, async: false },
    ],
    MEASURE_MS,
  );
  const partMs = QUICK ? 100 : 250;
  const parts = {
    parseUs: (await measureOne(() => floorParts.parse(text), partMs)).p50Us,
    hmacUs: (await measureOne(() => floorParts.hmac(raw), partMs)).p50Us,
    stringifyUs: (await measureOne(() => floorParts.stringify(caseBody), partMs)).p50Us,
  };
  return {
    size: size.name,
    bytes: size.bytes,
    caseBytes: Buffer.byteLength(caseJson),
    handler: h!,
    floor: f!,
    floorParts: parts,
    ratio: h!.p50Us / f!.p50Us,
    toolchainFloor: t!,
    toolchainRatio: h!.p50Us / t!.p50Us,
  };
}

// ---------------------------------------------------------------------------------------------
// --stages: each step of the handler path timed on its own (the exported pieces handler.ts calls)

export interface StageResult {
  readonly size: string;
  readonly stages: { name: string; p50Us: number }[];
}

export async function measureStages(size: Size, handlerP50Us: number): Promise<StageResult> {
  const text = payloadOfSize(size.bytes, size.shape);
  const raw = Buffer.from(text, 'utf8');
  const event = apiGatewayEvent(raw);
  const compiled = rules().sources.get('github');
  if (compiled === undefined) throw new Error('config/rules.yaml has no github source');
  const headers = event.headers as Record<string, string>;
  const body = parseJsonObject(raw);
  const [ev] = compiled.source.parse(body, headers);
  if (ev === undefined) throw new Error('github parse gave no event');
  const mapped = await mapEventToCase(compiled, ev);
  if (mapped.outcome !== 'case') throw new Error(`mapping gave ${mapped.outcome}`);
  const keys = { get: async () => ({ apiKey: 'a', appKey: 'b' }), refresh: async () => ({ apiKey: 'a', appKey: 'b' }) };
  const action = { kind: 'create_case' as const, source: ev.source, deliveryId: ev.deliveryId, identity: ev.identity, rule: mapped.rule, request: mapped.request, attempt: 0, firstSeen: Date.now() };
  // The deployed parts (subject.ts), each doing what it does for one first firing.
  const { journal, archive, logger, metrics } = deployedParts();
  const receivedAt = Date.now();
  const id = newDeliveryId(receivedAt);
  const archivedBody = Buffer.from(raw);
  let record: DeliveryRecord | undefined;
  // A first firing's record, as the handler writes it (its last write: captured through a journal that only records).
  await createIngestHandler({ rules: rules(), secrets: { get: async () => SECRETS, refresh: async () => SECRETS }, datadog: fakeDatadog, queue: new MemoryActionQueue(), ledger: new FirstFiringLedger(), logger: silentLogger, maxBodyBytes: 1024 * 1024, journal: { update: async (_id, change) => (record = change(undefined)), get: async () => undefined, list: async () => [] } })(event, CONTEXT);
  if (record === undefined) throw new Error('the handler wrote no journal record');
  const firstFiring = record;
  const oneWebhooksMetrics = () => {
    metrics.count('WebhooksReceived', 'github');
    metrics.count('WebhooksVerified', 'github');
    metrics.count('CasesCreated', 'github');
    metrics.latency('github', 0.25);
    metrics.outcome('Deliveries', 'github', 'created');
    metrics.flush();
  };
  const { dynamo, s3, dynamoSdk, s3Sdk } = await sdkEdgeClients();
  // A first firing's record fits one write unit as JSON: the journal stores it so (`doc`), not deflated.
  const doc = JSON.stringify(firstFiring);
  const putRecord = () => dynamo.send(new dynamoSdk.PutItemCommand({ TableName: 'case-bridge-journal', Item: { id: { S: id }, sourceDay: { S: `github#${new Date(receivedAt).toISOString().slice(0, 10)}` }, receivedAt: { N: String(receivedAt) }, rev: { N: '1' }, doc: { S: doc }, expiresAt: { N: String(Math.floor(receivedAt / 1000) + 14 * 86_400) } }, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': 'id' } }));
  const putObject = () => s3.send(new s3Sdk.PutObjectCommand({ Bucket: 'case-bridge-archive', Key: `github/${id}`, Body: archivedBody, ContentType: 'application/octet-stream', Metadata: { source: 'github', id, 'received-at': String(receivedAt), headers: encodeURIComponent(JSON.stringify(headers)) } }));
  const bare = middy(async () => ({ statusCode: 200 }));
  const bareNoContext = middy(async () => ({ statusCode: 200 }));
  const ms = QUICK ? 100 : 300;
  const stages: [string, Work, boolean][] = [
    BASE64 ? ['Buffer.from(body, base64)', () => Buffer.from(event.body ?? '', 'base64'), false] : ['utf8Bytes(body) (for the HMAC)', () => utf8Bytes(event.body ?? ''), false],
    ['github verify (HMAC + compare)', () => compiled.source.verify(raw, headers, [SECRET], 0), false],
    BASE64 ? ['parseJsonObject (utf8 + JSON.parse + shape)', () => parseJsonObject(raw), false] : ['parseJsonObjectText (JSON.parse + shape)', () => parseJsonObjectText(text, raw), false],
    ['  of which JSON.parse(text)', () => JSON.parse(text), false],
    ['github parse (zod body schema, identity)', () => compiled.source.parse(body, headers), false],
    ['mapEventToCase (templates + case schema)', () => mapEventToCase(compiled, ev), true],
    ['deliverCase (stub Datadog: stringify)', () => deliverCase(action, { datadog: fakeDatadog, keys, queue: new MemoryActionQueue(), logger: silentLogger }), true],
    // A copy each time: the journal writes a record's JSON out once (recordJson).
    ['journal put (record JSON, PutItem; no deflate: 1 unit)', () => journal.update(id, () => ({ ...firstFiring }), { expectNew: true }), true],
    ['archive put (headers, PutObject)', () => archive.put({ source: 'github', id, receivedAt, body: archivedBody, headers }), true],
    ['log line (the delivery line, lambda-logger)', () => logger.info('delivery', { source: 'github', delivery: id, deliveryId: firstFiring.senderDeliveryId, status: 'created', answer: 201, trace: 'verified; rule "github issues"; created DDFC-1', ms: 12 }), false],
    ['EMF metrics: a first firing\'s 5, flushed', oneWebhooksMetrics, false],
    // Not in the handler's figure (its AWS calls are stubbed above the SDK's send): what one call costs in the SDK.
    ['  not in it: DynamoDB PutItem, SDK to HTTP', putRecord, true],
    ['  not in it: S3 PutObject, SDK to HTTP', putObject, true],
    ['middy, empty handler, Lambda context', () => bare({}, CONTEXT), true],
    ['middy, empty handler, no getRemainingTime', () => bareNoContext({}, {} as Context), true],
  ];
  const out: { name: string; p50Us: number }[] = [];
  for (const [name, work, isAsync] of stages) {
    for (let i = 0; i < 200; i++) await work();
    out.push({ name, p50Us: (await measureOne(work, ms, isAsync)).p50Us });
  }
  const counted = out.filter((s) => !s.name.startsWith(' ') && !s.name.includes('no getRemainingTime')).reduce((a, s) => a + s.p50Us, 0);
  out.push({ name: 'rest (handler p50 - stages above)', p50Us: handlerP50Us - counted });
  return { size: size.name, stages: out };
}
