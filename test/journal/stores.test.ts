import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { localArchive, localJournal, localS3Client } from '../../lambda/local/journal.js';
import type { DynamoJournal } from '../../lambda/journal/dynamo-journal.js';
import type { S3Archive } from '../../lambda/journal/s3-archive.js';
import { ArchiveError, newDeliveryId, type DeliveryRecord } from '../../lambda/journal/types.js';
import { mergeIngestRecord, withFollowUp } from '../../lambda/journal/trace.js';
import { itemSize, type Item } from '../../bench/aws-counter.js';

// The deployed stores against real protocol emulators: DynamoDB (dynalite) and S3 (fauxqs).

const NOW = Date.now();

function record(receivedAt: number, over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    v: 1,
    id: newDeliveryId(receivedAt),
    source: 'alertmanager',
    receivedAt,
    answer: { status: 202, code: 'queued' },
    status: 'queued',
    verified: true,
    identities: ['r/g'],
    events: [{ type: 'firing', identity: 'r/g', signal: 'firing', rule: 'r', outcome: 'queued', actions: [{ kind: 'create', outcome: 'queued', retryInSeconds: 5, at: receivedAt }] }],
    timings: { totalMs: 3 },
    updatedAt: receivedAt,
    ...over,
  };
}

let dynamo: LocalDynamo;
let sqs: LocalSqs;
let journal: DynamoJournal;
let archive: S3Archive;

beforeAll(async () => {
  dynamo = await startDynalite();
  sqs = await startLocalSqs();
  journal = await localJournal(dynamo.client, 'journal-test');
  archive = await localArchive(localS3Client(sqs.endpoint), 'archive-test');
});

afterAll(async () => {
  await sqs?.close();
  await dynamo?.close();
});

describe('DynamoJournal', () => {
  it('writes, reads back and lists by source, time, identity and status, newest first', async () => {
    const a = record(NOW - 3 * 86_400_000);
    const b = record(NOW - 60_000, { source: 'github', identities: ['repo/1:issue/7'], status: 'dead_lettered' });
    const c = record(NOW - 1000);
    for (const r of [a, b, c]) await journal.update(r.id, () => r, { expectNew: true });
    expect(await journal.get(b.id)).toEqual(b);
    expect((await journal.list({ since: NOW - 4 * 86_400_000 })).map((r) => r.id)).toEqual([c.id, b.id, a.id]);
    expect((await journal.list({ since: NOW - 3_600_000 })).map((r) => r.id)).toEqual([c.id, b.id]);
    expect((await journal.list({ since: NOW - 3_600_000, source: 'github' })).map((r) => r.id)).toEqual([b.id]);
    expect((await journal.list({ since: NOW - 4 * 86_400_000, status: 'failed' })).map((r) => r.id)).toEqual([b.id]);
    expect((await journal.list({ since: NOW - 4 * 86_400_000, identity: 'r/g', limit: 1 })).map((r) => r.id)).toEqual([c.id]);
  });

  it('stores a record over one write unit deflated, about half its JSON, one within it as JSON, and reads and updates both', async () => {
    const long = record(NOW - 2000, { events: [0, 1, 2, 3].map((i) => ({ type: 'resolved', identity: 'r/g', signal: 'resolved', rule: 'r', outcome: 'updated', caseId: `case-${i}`, caseKey: `DDFC-${i}`, actions: [{ kind: 'comment', outcome: 'done', at: NOW }, { kind: 'status', outcome: 'done', at: NOW }] })) });
    expect(JSON.stringify(long).length).toBeGreaterThan(1024);
    await journal.update(long.id, () => long, { expectNew: true });
    const stored = await dynamo.client.send(new GetItemCommand({ TableName: 'journal-test', Key: { id: { S: long.id } } }));
    expect(stored.Item?.['doc']).toBeUndefined();
    expect(stored.Item?.['docz']?.B?.length).toBeLessThan(JSON.stringify(long).length / 2);
    expect(await journal.get(long.id)).toEqual(long);
    // A first firing's record: its item fits one write unit as JSON, which deflating would not make fewer.
    const short = record(NOW - 1800);
    await journal.update(short.id, () => short, { expectNew: true });
    const plain = await dynamo.client.send(new GetItemCommand({ TableName: 'journal-test', Key: { id: { S: short.id } } }));
    expect(plain.Item?.['docz']).toBeUndefined();
    expect(plain.Item?.['doc']?.S).toBe(JSON.stringify(short));
    expect(itemSize(plain.Item as unknown as Item)).toBeLessThanOrEqual(1024);
    expect(await journal.get(short.id)).toEqual(short);
    // Grown past one unit by its follow-ups, the same record is stored deflated.
    const later = { kind: 'comment' as const, outcome: 'done' as const, detail: 'x'.repeat(200), at: NOW };
    for (let i = 0; i < 3; i++) await journal.update(short.id, (cur) => withFollowUp(cur, short.id, short.source, later, short.receivedAt));
    const grown = await dynamo.client.send(new GetItemCommand({ TableName: 'journal-test', Key: { id: { S: short.id } } }));
    expect(grown.Item?.['doc']).toBeUndefined();
    expect(grown.Item?.['docz']?.B).toBeDefined();
    expect((await journal.get(short.id))?.followUps).toHaveLength(3);
    // A record as the journal stored it before: the JSON in `doc`.
    const old = record(NOW - 1500);
    await dynamo.client.send(new PutItemCommand({ TableName: 'journal-test', Item: { id: { S: old.id }, sourceDay: { S: `alertmanager#${new Date(old.receivedAt).toISOString().slice(0, 10)}` }, receivedAt: { N: String(old.receivedAt) }, rev: { N: '1' }, doc: { S: JSON.stringify(old) }, expiresAt: { N: String(Math.floor(NOW / 1000) + 86_400) } } }));
    expect(await journal.get(old.id)).toEqual(old);
    expect((await journal.list({ since: old.receivedAt, until: old.receivedAt + 1 })).map((r) => r.id)).toEqual([old.id]);
    const done = { kind: 'create' as const, outcome: 'done' as const, caseId: 'c8', caseKey: 'DDFC-8', at: NOW };
    await journal.update(old.id, (cur) => withFollowUp(cur, old.id, old.source, done, old.receivedAt));
    expect((await journal.get(old.id))?.followUps).toEqual([{ ...done, later: true }]);
    expect((await journal.get(old.id))?.events).toEqual(old.events);
  });

  it('keeps a follow-up written before the ingest record and one written after', async () => {
    const fresh = record(NOW - 500);
    const done = { kind: 'create' as const, outcome: 'done' as const, caseId: 'c9', caseKey: 'DDFC-9', at: NOW };
    // The retry function finished the create before the ingest's write landed.
    await journal.update(fresh.id, (cur) => withFollowUp(cur, fresh.id, fresh.source, done, fresh.receivedAt));
    const merged = await journal.update(fresh.id, (cur) => mergeIngestRecord(cur, fresh), { expectNew: true });
    expect(merged?.status).toBe('created');
    expect((await journal.get(fresh.id))?.followUps).toEqual([{ ...done, later: true }]);
    expect((await journal.get(fresh.id))?.events).toEqual(fresh.events);
  });

  it('a delivery of a thousand alerts still fits one item (DynamoDB takes 400 KB): the rest is counted', async () => {
    const at = NOW - 300;
    const identity = (i: number): string => `{}/{severity="critical"}:{alertname="NodeDown", cluster="eu-west-1-production"}/${i.toString(16).padStart(16, '0')}`;
    const events = Array.from({ length: 1000 }, (_, i) => ({
      type: 'alert.firing',
      identity: identity(i),
      signal: 'firing',
      rule: 'alert firing',
      outcome: 'queued',
      reason: 'create_queued',
      actions: [{ id: `cbu${i.toString(16).padStart(20, '0')}`, kind: 'create' as const, outcome: 'queued' as const, retryInSeconds: 5, reason: 'Datadog answered 429', at }],
    }));
    const big = record(at, { identities: events.map((e) => e.identity), events });
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(400 * 1024);
    const stored = await journal.update(big.id, () => big, { expectNew: true });
    expect(stored).toBeDefined();
    const back = (await journal.get(big.id))!;
    expect(back.events.length + (back.omitted?.events ?? 0)).toBe(1000);
    expect(back.identities.length + (back.omitted?.identities ?? 0)).toBe(1000);
    expect(back.events[0]).toEqual(events[0]);
    // The retry function finishes a create: a follow-up of the same record, which still fits.
    const done = { id: events[0]!.actions[0]!.id, kind: 'create' as const, outcome: 'done' as const, caseId: 'c0', caseKey: 'DDFC-0', at: NOW };
    await journal.update(big.id, (cur) => withFollowUp(cur, big.id, big.source, done, big.receivedAt));
    const last = (await journal.get(big.id))!;
    expect(last.status).toBe('created');
    expect(last.followUps).toEqual([{ ...done, later: true }]);
  });

  it('does not return an expired record', async () => {
    const old = record(NOW - 20 * 86_400_000);
    await journal.update(old.id, () => old, { expectNew: true });
    expect(await journal.get(old.id)).toBeUndefined();
  });
});

describe('S3Archive', () => {
  it('holds the exact bytes and no credential header', async () => {
    const body = Buffer.concat([Buffer.from('{"text":"caf\u00e9 \u2603"}', 'utf8'), Buffer.from([0x0a, 0x20])]);
    const id = newDeliveryId(NOW);
    const { key } = await archive.put({ source: 'opsgenie', id, receivedAt: NOW, body, headers: { authorization: 'GenieKey 123', cookie: 'c=1', 'x-api-key': 'k', 'content-type': 'application/json', 'x-request-id': 'r1' } });
    expect(key).toBe(`opsgenie/${new Date(NOW).toISOString().slice(0, 10)}/${id}`);
    const got = await archive.get(key);
    expect(Buffer.from(got!.body).equals(body)).toBe(true);
    expect(got!.headers).toEqual({ 'content-type': 'application/json', 'x-request-id': 'r1' });
    expect(got!.receivedAt).toBe(NOW);
    expect(await archive.list({ since: NOW - 1000, source: 'opsgenie' })).toEqual([{ key, source: 'opsgenie', id, receivedAt: NOW, size: body.length }]);
    expect(await archive.get('opsgenie/2020-01-01/nope')).toBeUndefined();
  });

  it('checks what it reads back: an object whose headers are not a map of strings is refused with ArchiveError, not passed on', async () => {
    const s3 = localS3Client(sqs.endpoint);
    const id = newDeliveryId(NOW);
    const key = `sentry/${new Date(NOW).toISOString().slice(0, 10)}/${id}`;
    await s3.send(new PutObjectCommand({ Bucket: 'archive-test', Key: key, Body: '{}', Metadata: { headers: encodeURIComponent(JSON.stringify({ 'content-type': ['application/json'], 'x-n': 1 })), 'received-at': 'soon' } }));
    await expect(archive.get(key)).rejects.toThrow(ArchiveError);
    await s3.send(new PutObjectCommand({ Bucket: 'archive-test', Key: key, Body: '{}', Metadata: { headers: 'sidecar', 'received-at': 'soon' } }));
    await s3.send(new PutObjectCommand({ Bucket: 'archive-test', Key: `${key}.headers.json`, Body: '{"content-type":"application/json"' }));
    await expect(archive.get(key)).rejects.toThrow(ArchiveError);
    await s3.send(new PutObjectCommand({ Bucket: 'archive-test', Key: `${key}.headers.json`, Body: '{"content-type":"application/json"}' }));
    const got = await archive.get(key);
    expect(got?.headers).toEqual({ 'content-type': 'application/json' });
    // A receive time that is not a number: the one the delivery id names.
    expect(got?.receivedAt).toBe(NOW);
  });

  it('keeps headers too long for the object metadata beside the object', async () => {
    const id = newDeliveryId(NOW + 1);
    const headers = { 'x-long': 'v'.repeat(3000), 'x-hub-signature-256': 'sha256=00' };
    const { key } = await archive.put({ source: 'github', id, receivedAt: NOW + 1, body: Buffer.from('{}'), headers });
    expect((await archive.get(key))!.headers).toEqual(headers);
    expect((await archive.list({ since: NOW, source: 'github' })).map((i) => i.key)).toEqual([key]);
  });
});
