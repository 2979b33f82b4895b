import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSample } from '../../lambda/local/samples.js';
import { localDynamoClient } from '../../lambda/local/ledger.js';
import { ARCHIVE_BUCKET, JOURNAL_TABLE_NAME, startCostRig, type CostRig } from '../../bench/cost-rig.js';
import { readPrices, price, usageOf } from '../../bench/cost.js';
import { indexWriteUnits, itemSize, type IndexShape, type Item } from '../../bench/aws-counter.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { localS3Client } from '../../lambda/local/journal.js';
import { archiveKey } from '../../lambda/journal/types.js';
import { DynamoJournal } from '../../lambda/journal/dynamo-journal.js';
import { JOURNAL_SOURCES } from '../../lambda/journal/lambda-stores.js';
import { queueDepth } from '../support/fauxqs.js';

// npm run bench's cost counter (issue 15): the deployed ingest bundle in a fresh container process,
// with the journal table and the archive bucket (issue 16), its AWS calls through the counting
// endpoint. What the counter says one first-firing webhook cost must be what the emulators and the
// Datadog server themselves saw. No timing is asserted.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let rig: CostRig;

beforeAll(async () => {
  rig = await startCostRig({ outDir: join(ROOT, 'node_modules/.cache/case-bridge-test', `cost-${process.pid}`) });
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

describe('the cost counter', () => {
  it("counts for one first-firing webhook exactly the calls the emulators, the secret stub and the Datadog server saw, priced from the price table", { timeout: 60_000 }, async () => {
    const sample = readSample('github', 'issues.opened');
    const parsed = JSON.parse(sample.body) as { issue: Record<string, unknown> };
    const body = JSON.stringify({ ...parsed, issue: { ...parsed.issue, number: 987_654, title: 'Counted' } });
    const seenFrom = rig.dynamoSeen.length;
    const callsFrom = rig.counter.calls.length;
    const datadogFrom = rig.datadog.requests.length;
    const secretReads = rig.secrets.reads;

    const answer = await rig.invokeIngest('counted', rig.webhook('github', body, { ...sample.headers, 'x-github-delivery': randomUUID() }));

    expect(answer.statusCode).toBe(201);
    const calls = rig.counter.calls.slice(callsFrom);
    const usage = usageOf(rig, 'counted', 1);
    // DynamoDB: the same operations, in the same order, as dynalite received.
    const dynamo = calls.filter((c) => c.service === 'dynamodb');
    expect(dynamo.map((c) => c.operation)).toEqual(rig.dynamoSeen.slice(seenFrom));
    expect(usage.dynamoCalls).toBe(dynamo.length);
    expect(dynamo.filter((c) => c.operation === 'PutItem' || c.operation === 'UpdateItem').length).toBeGreaterThanOrEqual(2);
    expect(usage.dynamoWriteUnits).toBe(dynamo.reduce((a, c) => a + c.writeUnits, 0));
    expect(dynamo.every((c) => (c.operation === 'GetItem' ? c.readUnits >= 1 && c.writeUnits === 0 : c.writeUnits >= 1 && c.readUnits === 0))).toBe(true);
    // The write that recorded the case is billed on the larger of the item before and after it: at
    // least the units of the item the table now holds (its size as DynamoDB counts it, 1 KB each).
    const client = localDynamoClient(rig.dynamoEndpoint);
    const stored = await client.send(new GetItemCommand({ TableName: 'case-bridge-ledger', Key: { pk: { S: `alert#github#${String(answer.body['identity'])}` } }, ConsistentRead: true }));
    // The delivery's journal record: one conditional put, billed for the table and for the index
    // bySourceDay, which projects the whole item (the emulator reports only the table's part).
    const delivery = String(answer.body['delivery']);
    const record = await client.send(new GetItemCommand({ TableName: JOURNAL_TABLE_NAME, Key: { id: { S: delivery } }, ConsistentRead: true }));
    const journaled = await new DynamoJournal({ client, tableName: JOURNAL_TABLE_NAME, sources: JOURNAL_SOURCES }).get(delivery);
    client.destroy();
    expect(stored.Item).toBeDefined();
    const lastWrite = [...dynamo].reverse().find((c) => c.operation === 'UpdateItem');
    expect(lastWrite?.writeUnits).toBeGreaterThanOrEqual(Math.ceil(itemSize(stored.Item as unknown as Item) / 1024));
    expect(record.Item).toBeDefined();
    const recordUnits = Math.ceil(itemSize(record.Item as unknown as Item) / 1024);
    const journalPuts = dynamo.filter((c) => c.indexWriteUnits > 0);
    expect(journalPuts.map((c) => [c.operation, c.writeUnits, c.indexWriteUnits])).toEqual([['PutItem', 2 * recordUnits, recordUnits]]);
    // The outbox emptied by that write is not read again (issue 15): no alert read after it.
    const ops = dynamo.map((c) => c.operation);
    expect(ops.lastIndexOf('GetItem')).toBeLessThan(ops.lastIndexOf('UpdateItem'));
    // SQS: every counted send is a message the emulator holds (the watchdog, delayed).
    const sends = calls.filter((c) => c.service === 'sqs' && c.operation === 'SendMessage').length;
    expect(sends).toBeGreaterThanOrEqual(1);
    expect((await queueDepth(rig.sqs.client, rig.sqs.retryQueueUrl)).total).toBe(sends);
    expect(usage.sqsRequests).toBe(sends);
    // Secrets Manager: the container's first webhook read the secret, once.
    expect(calls.filter((c) => c.service === 'secretsmanager').length).toBe(rig.secrets.reads - secretReads);
    expect(rig.secrets.reads - secretReads).toBe(1);
    // S3: one PutObject per delivery, the object the emulator holds under the record's archive key.
    const s3 = localS3Client(rig.sqs.endpoint);
    const key = archiveKey('github', journaled?.receivedAt ?? 0, delivery);
    expect(journaled?.archiveKey).toBe(key);
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: ARCHIVE_BUCKET, Prefix: key }));
    s3.destroy();
    expect(objects.Contents?.map((o) => o.Key)).toEqual([key]);
    expect(calls.filter((c) => c.service === 's3').map((c) => c.operation)).toEqual([`PUT /${ARCHIVE_BUCKET}`]);
    expect(usage.s3Put).toBe(1);
    // Datadog: one create.
    expect(usage.datadogCalls).toBe(rig.datadog.requests.length - datadogFrom);
    expect(rig.datadog.requests.slice(datadogFrom).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v2/cases']);
    // Nothing the counter could not forward; one API request and one invocation; the log bytes are the lines written.
    expect(calls.filter((c) => c.status === 501)).toEqual([]);
    expect([usage.apiRequests, usage.lambdaRequests]).toEqual([1, 1]);
    const written = rig.invocations.filter((i) => i.kind === 'counted').flatMap((i) => i.logEvents);
    expect(written.some((l) => l.includes('"message":"delivery"'))).toBe(true);
    expect(usage.functionLogBytes).toBe(written.reduce((a, l) => a + Buffer.byteLength(l.replace(/\n$/, '')), 0));
    // Priced: each line is its quantity times the table's price.
    const prices = readPrices();
    const priced = price(usage, prices);
    const line = (item: string) => priced.lines.find((l) => l.item.startsWith(item))!.usdPerMillion;
    expect(line('DynamoDB write')).toBeCloseTo(usage.dynamoWriteUnits * 0.625, 9);
    expect(line('API Gateway')).toBeCloseTo(1, 9);
    expect(line('S3 PUT')).toBeCloseTo(5, 9);
    expect(priced.total).toBeCloseTo(priced.lines.reduce((a, l) => a + l.usdPerMillion, 0), 9);
  });
});

describe("the counter's index write units (DynamoDB's rules for global secondary indexes)", () => {
  const all: IndexShape = { keys: ['sourceDay', 'receivedAt'], projection: 'ALL', include: [] };
  const keysOnly: IndexShape = { ...all, projection: 'KEYS_ONLY' };
  const item = (day: string, doc: string): Item => ({ id: { S: 'd1' }, sourceDay: { S: `github#${day}` }, receivedAt: { N: '1796428437807' }, doc: { S: doc } });
  const big = 'x'.repeat(1500);

  it('bills an entry entering or leaving the index, by its projected size', () => {
    expect(indexWriteUnits(['id'], [all], undefined, item('2026-12-04', 'small'))).toBe(1);
    expect(indexWriteUnits(['id'], [all], undefined, item('2026-12-04', big))).toBe(2);
    expect(indexWriteUnits(['id'], [keysOnly], undefined, item('2026-12-04', big))).toBe(1);
    expect(indexWriteUnits(['id'], [all], item('2026-12-04', big), undefined)).toBe(2);
  });

  it('bills a delete and a put when an index key changes, one write when only a projected value does, nothing when the index is untouched', () => {
    expect(indexWriteUnits(['id'], [all], item('2026-12-04', 'a'), item('2026-12-05', 'a'))).toBe(2);
    expect(indexWriteUnits(['id'], [all], item('2026-12-04', 'a'), item('2026-12-04', big))).toBe(2);
    expect(indexWriteUnits(['id'], [keysOnly], item('2026-12-04', 'a'), item('2026-12-04', big))).toBe(0);
    expect(indexWriteUnits(['id'], [all], { id: { S: 'd1' } }, { id: { S: 'd1' }, doc: { S: big } })).toBe(0);
  });
});
