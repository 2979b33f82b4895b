import { describe, expect, it } from 'vitest';
import { MemoryArchive, MemoryJournal } from '../../lambda/journal/memory.js';
import { archivableHeaders, archiveKey, daysBetween, fitRecord, JOURNAL_RECORD_MAX_BYTES, MAX_FOLLOW_UPS, newDeliveryId, parseArchiveKey, readDeliveryRecord, timeOfDeliveryId, type DeliveryRecord } from '../../lambda/journal/types.js';
import { shortTrace, withFollowUp } from '../../lambda/journal/trace.js';

const T = Date.parse('2026-12-04T22:50:00.000Z');

function record(over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    v: 1,
    id: newDeliveryId(T),
    source: 'alertmanager',
    receivedAt: T,
    answer: { status: 201, code: 'created' },
    status: 'created',
    verified: true,
    eventType: 'firing',
    identities: ['r/g'],
    events: [{ type: 'firing', identity: 'r/g', signal: 'firing', rule: 'alert group firing', outcome: 'created', caseId: 'c1', caseKey: 'DDFC-1', actions: [{ kind: 'create', outcome: 'done', caseId: 'c1', caseKey: 'DDFC-1', at: T }] }],
    timings: { totalMs: 12 },
    updatedAt: T,
    ...over,
  };
}

describe('delivery ids', () => {
  it('name their receive time and sort by it', () => {
    const a = newDeliveryId(T);
    const b = newDeliveryId(T + 1);
    expect(timeOfDeliveryId(a)).toBe(T);
    expect(a < b).toBe(true);
    expect(newDeliveryId(T)).not.toBe(a);
    expect(timeOfDeliveryId('X-GitHub-Delivery-uuid')).toBeUndefined();
  });
});

describe('archive keys', () => {
  it('are source/day/id and parse back', () => {
    const key = archiveKey('github', T, 'd123');
    expect(key).toBe('github/2026-12-04/d123');
    expect(parseArchiveKey(key)).toEqual({ source: 'github', day: '2026-12-04', id: 'd123' });
    expect(parseArchiveKey('../etc/passwd')).toBeUndefined();
    expect(daysBetween(T - 2 * 86_400_000, T)).toEqual(['2026-12-02', '2026-12-03', '2026-12-04']);
  });
});

describe('archivableHeaders', () => {
  it('drops credentials and keeps signatures', () => {
    const kept = archivableHeaders(
      {
        Authorization: 'Bearer s3cret',
        'Proxy-Authorization': 'Basic eA==',
        Cookie: 'a=b',
        'X-Api-Key': 'k',
        'X-Opsgenie-Token': 't',
        'X-Amz-Security-Token': 't',
        'x-my-secret': 's',
        'X-Custom-Auth': 'c',
        'X-Hub-Signature-256': 'sha256=ab',
        'webhook-signature': 'v1,xx',
        'Content-Type': 'application/json',
        'X-Shared': 'not a credential',
      },
      ['x-shared'],
    );
    expect(kept).toEqual({ 'x-hub-signature-256': 'sha256=ab', 'webhook-signature': 'v1,xx', 'content-type': 'application/json' });
  });

  it('drops the same credentials however many header names it has seen before (its names are kept per name, bounded)', () => {
    const headers = { 'X-Api-Key': 'k', 'x-my-token': 't', 'content-type': 'application/json', 'x-github-event': 'issues' };
    const expected = { 'content-type': 'application/json', 'x-github-event': 'issues' };
    expect(archivableHeaders(headers)).toEqual(expected);
    // A sender's own names, more than are kept: the credential names are still told apart afterwards.
    for (let i = 0; i < 600; i++) expect(archivableHeaders({ [`x-sender-${i}`]: 'v', [`x-sender-${i}-session`]: 's' })).toEqual({ [`x-sender-${i}`]: 'v' });
    expect(archivableHeaders(headers)).toEqual(expected);
    expect(archivableHeaders(headers, ['X-GitHub-Event'])).toEqual({ 'content-type': 'application/json' });
  });
});

describe('MemoryJournal', () => {
  it('updates, gets and lists with filters, newest first', async () => {
    const journal = new MemoryJournal(() => T + 10_000);
    const a = record();
    const b = record({ id: newDeliveryId(T + 5), receivedAt: T + 5, source: 'github', status: 'dead_lettered', identities: ['repo/1:issue/7'] });
    await journal.update(a.id, () => a);
    await journal.update(b.id, () => b);
    expect(await journal.get(a.id)).toEqual(a);
    expect((await journal.list({ since: T })).map((r) => r.id)).toEqual([b.id, a.id]);
    expect((await journal.list({ since: T, source: 'alertmanager' })).map((r) => r.id)).toEqual([a.id]);
    expect((await journal.list({ since: T, status: 'failed' })).map((r) => r.id)).toEqual([b.id]);
    expect((await journal.list({ since: T, identity: 'r/g' })).map((r) => r.id)).toEqual([a.id]);
    expect(await journal.list({ since: T + 6 })).toEqual([]);
    const changed = await journal.update(a.id, (current) => (current === undefined ? undefined : { ...current, status: 'updated' }));
    expect(changed?.status).toBe('updated');
    expect(await journal.update('nope', () => undefined)).toBeUndefined();
    expect(readDeliveryRecord(JSON.parse(JSON.stringify(a)))).toEqual(a);
    expect(readDeliveryRecord({ ...a, v: 2 })).toBeUndefined();
  });
});

describe('MemoryArchive', () => {
  it('keeps the exact bytes and no credential header', async () => {
    const archive = new MemoryArchive(() => T + 1);
    const body = Buffer.from('{"a":"\u00e9"}\n', 'utf8');
    const { key } = await archive.put({ source: 'github', id: 'd1', receivedAt: T, body, headers: { authorization: 'Bearer x', 'x-hub-signature-256': 'sha256=1' } });
    const got = await archive.get(key);
    expect(Buffer.from(got!.body).equals(body)).toBe(true);
    expect(got!.headers).toEqual({ 'x-hub-signature-256': 'sha256=1' });
    expect(await archive.list({ since: T - 1, source: 'github' })).toEqual([{ key, source: 'github', id: 'd1', receivedAt: T, size: body.length }]);
  });
});

describe('records that would outgrow one DynamoDB item', () => {
  it('keep the first MAX_FOLLOW_UPS follow-ups and count the rest, which still move the status', () => {
    let r: DeliveryRecord | undefined = record({ status: 'queued', answer: { status: 202, code: 'queued' } });
    const id = r.id;
    for (let i = 0; i < MAX_FOLLOW_UPS + 7; i += 1) r = withFollowUp(r, id, 'alertmanager', { kind: 'create', outcome: 'done', caseId: `c${i}`, at: T + i }, T);
    expect(r!.followUps).toHaveLength(MAX_FOLLOW_UPS);
    expect(r!.omitted).toEqual({ followUps: 7 });
    expect(r!.status).toBe('created');
    expect(shortTrace(r!)).toContain('7 more later actions not journaled');
  });

  it('fitRecord leaves a small record alone and cuts a large one from its end, counting what it left out', () => {
    const small = record();
    expect(fitRecord(small)).toBe(small);
    const events = Array.from({ length: 5000 }, (_, i) => ({ ...small.events[0]!, identity: `r/g/${i}` }));
    const fitted = fitRecord(record({ events, identities: events.map((e) => e.identity) }));
    expect(Buffer.byteLength(JSON.stringify(fitted))).toBeLessThanOrEqual(JOURNAL_RECORD_MAX_BYTES);
    expect(fitted.events[0]).toEqual(events[0]);
    expect(fitted.events.length + fitted.omitted!.events!).toBe(5000);
    expect(fitted.identities).toHaveLength(5000);
    expect(readDeliveryRecord(JSON.parse(JSON.stringify(fitted)))).toEqual(fitted);
    expect(shortTrace(fitted)).toContain(`${fitted.omitted!.events} more events not journaled`);
  });
});
