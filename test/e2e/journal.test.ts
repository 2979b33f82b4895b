import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../lambda/local/sign.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import type { SourceName } from '../../lambda/sources/index.js';
import { ArchiveError, JournalError, type DeliveryRecord } from '../../lambda/journal/types.js';
import { MemoryMetrics } from '../../lambda/shared/metrics.js';
import { JOURNAL_WAIT_MS } from '../../lambda/ingest/record.js';
import { startTestBridge, TEST_SECRETS, testSecret, type TestBridge } from '../support/local-bridge.js';
import { waitFor } from '../support/fauxqs.js';

// Issue 16: every outcome leaves a journal record with its trace, through the real local bridge with
// the journal in its DynamoDB emulator (dynalite), the archive in its S3 emulator (fauxqs) and the
// retry consumer on its SQS emulator, which updates the record when it finishes queued work.

const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;
const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
const headersOf = (path: string): Record<string, string> => JSON.parse(fixture(path)) as Record<string, string>;

interface Answer {
  status?: string;
  error?: string;
  delivery?: string;
  trace?: string;
}

let dd: DatadogTestServer;
let bridge: TestBridge;
const metrics = new MemoryMetrics();

/** The presets with one `ignore` rule in front of GitHub's. */
function rulesWithIgnore(): string {
  const file = parse(readFileSync('config/rules.yaml', 'utf8')) as { sources: { github: { rules: unknown[] } } };
  file.sources.github.rules.unshift({ name: 'ignore labels', events: ['issues.labeled'], action: 'ignore' });
  const path = join(mkdtempSync(join(tmpdir(), 'case-bridge-rules-')), 'rules.yaml');
  writeFileSync(path, stringify(file));
  return path;
}

beforeAll(async () => {
  dd = await startDatadogServer();
  bridge = await startTestBridge({
    secrets: { ...TEST_SECRETS, ...DD_KEYS },
    env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000', CASE_BRIDGE_RULES: rulesWithIgnore() },
    overrides: { embeddedLedger: true, embeddedSqs: true, random: () => 0, metrics, pace: false },
  });
});

afterAll(async () => {
  await bridge?.close();
  await dd?.close();
});

async function send(source: SourceName, body: string, headers: Record<string, string> = {}, secret = testSecret(source)): Promise<{ status: number; answer: Answer; header: string | null; sent: Record<string, string> }> {
  const signed = signRequest({ source, secret, body, headers: { 'Content-Type': 'application/json', ...headers } });
  const res = await fetch(`${bridge.url}/webhooks/${source}`, { method: 'POST', body, headers: signed });
  return { status: res.status, answer: (await res.json()) as Answer, header: res.headers.get('x-case-bridge-delivery'), sent: signed };
}

async function record(id: string | null | undefined): Promise<DeliveryRecord> {
  expect(id).toMatch(/^d[0-9a-z]{19}$/);
  const res = await fetch(`${bridge.url}/local/deliveries/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as DeliveryRecord;
}

/** An Alertmanager group of its own (its groupKey is the identity). */
function alertGroup(name: string, status: 'firing' | 'resolved' = 'firing'): string {
  const body = JSON.parse(fixture(`alertmanager/${status}.json`)) as Record<string, unknown>;
  return JSON.stringify({ ...body, groupKey: `{}:{alertname="${name}"}`, commonLabels: { ...(body['commonLabels'] as object), alertname: name } });
}

describe('the delivery journal: one record per delivery, with its trace', () => {
  it('created: the record names the rule, the case and the archived bytes; the answer and the log line carry the same trace', async () => {
    const body = alertGroup('JournalCreated');
    const { status, answer, header, sent } = await send('alertmanager', body);
    expect(status).toBe(201);
    expect(answer.delivery).toBe(header);
    const r = await record(answer.delivery);
    expect(r).toMatchObject({ source: 'alertmanager', status: 'created', verified: true, answer: { status: 201, code: 'created' }, eventType: 'alert.firing' });
    expect(r.events).toEqual([expect.objectContaining({ rule: 'alert group firing', outcome: 'created', reason: 'new_alert', caseKey: dd.cases.at(-1)?.key, signal: 'firing' })]);
    expect(r.events[0]?.actions).toEqual([expect.objectContaining({ kind: 'create', outcome: 'done', caseKey: dd.cases.at(-1)?.key })]);
    expect(answer.trace).toBe(`verified; rule "alert group firing"; created ${dd.cases.at(-1)?.key} (new_alert)`);
    expect(bridge.logs.some((l) => l.includes(`"delivery":"${answer.delivery}"`) && l.includes(JSON.stringify(answer.trace)))).toBe(true);

    // The archive holds the exact bytes; the bearer token is not stored.
    expect(r.archiveKey).toBe(`alertmanager/${new Date(r.receivedAt).toISOString().slice(0, 10)}/${r.id}`);
    const archived = await bridge.archive.get(r.archiveKey!);
    expect(Buffer.from(archived!.body).equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(sent['Authorization'] ?? sent['authorization']).toMatch(/^Bearer /);
    expect(archived!.headers['authorization']).toBeUndefined();
    expect(archived!.headers['content-type']).toBe('application/json');
    expect(JSON.stringify(archived!.headers)).not.toContain(TEST_SECRETS['ALERTMANAGER_BEARER_TOKEN']!);
  });

  it('deduplicated, then updated (resolved and closed, with its comment and status change)', async () => {
    await send('alertmanager', alertGroup('JournalLifecycle'));
    const repeat = await send('alertmanager', alertGroup('JournalLifecycle'));
    expect(repeat.answer.status).toBe('deduplicated');
    expect((await record(repeat.answer.delivery)).events[0]).toMatchObject({ outcome: 'deduplicated', reason: 'repeat_coalesced' });

    const resolved = await send('alertmanager', alertGroup('JournalLifecycle', 'resolved'));
    expect(resolved.answer.status).toBe('updated');
    const r = await record(resolved.answer.delivery);
    expect(r.status).toBe('updated');
    expect(r.events[0]).toMatchObject({ outcome: 'updated', reason: 'resolved_closed', signal: 'resolved' });
    expect(r.events[0]?.actions.map((a) => [a.purpose, a.outcome])).toEqual([
      ['comment', 'done'],
      ['close', 'done'],
    ]);
    expect(resolved.answer.trace).toContain('comment done, close done (CLOSED)');
  });

  it('duplicate: a redelivered delivery id is a record of its own', async () => {
    const body = fixture('github/issues.opened.json').replace('"number": 7', '"number": 1607');
    const headers = { ...headersOf('github/issues.opened.headers.json'), 'X-GitHub-Delivery': 'journal-dup' };
    const first = await send('github', body, headers);
    const again = await send('github', body, headers);
    expect(again.status).toBe(200);
    const r = await record(again.answer.delivery);
    expect(r).toMatchObject({ status: 'duplicate', senderDeliveryId: 'journal-dup', answer: { status: 200, code: 'duplicate' } });
    expect(r.id).not.toBe(first.answer.delivery);
  });

  it('no match and ignored: the reason no rule made a case', async () => {
    const resolved = await send('pagerduty', fixture('pagerduty/incident.resolved.json'), headersOf('pagerduty/incident.resolved.headers.json'));
    expect(resolved.answer.status).toBe('no_match');
    const r = await record(resolved.answer.delivery);
    expect(r).toMatchObject({ status: 'no_match', eventType: 'incident.resolved' });
    expect(r.events[0]?.noRule).toMatch(/rule/);

    const labeled = await send('github', fixture('github/issues.labeled.json'), headersOf('github/issues.labeled.headers.json'));
    expect(labeled.answer.status).toBe('ignored');
    expect(await record(labeled.answer.delivery)).toMatchObject({ status: 'ignored', events: [expect.objectContaining({ rule: 'ignore labels', outcome: 'ignored' })] });
  });

  it('queued, then created by the retry function, which adds its follow-up to the record', async () => {
    // A 429 (a 503 may have made the case: its create would wait a minute for the marker search to settle).
    dd.failNext(1, { status: 429, headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-period': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' } });
    const queued = await send('alertmanager', alertGroup('JournalQueued'));
    expect(queued.answer.status).toBe('queued');
    const first = await record(queued.answer.delivery);
    expect(first.status).toBe('queued');
    expect(first.events[0]?.actions).toEqual([expect.objectContaining({ kind: 'create', outcome: 'queued', retryInSeconds: 1 })]);
    const settled = await waitFor(async () => (await record(queued.answer.delivery)).status === 'created', 20_000);
    expect(settled).toBe(true);
    const done = await record(queued.answer.delivery);
    expect(done.followUps).toEqual([expect.objectContaining({ kind: 'create', outcome: 'done', later: true, caseKey: dd.cases.at(-1)?.key })]);
    expect(done.events).toEqual(first.events);
  });

  it('dead-lettered: Datadog refused the case, with its reason; `--status failed` finds it', async () => {
    dd.failNext(1, { status: 400, body: { errors: ['Bad Request: project not found'] } });
    const refused = await send('alertmanager', alertGroup('JournalDeadLettered'));
    expect(refused.answer.status).toBe('dead_lettered');
    const r = await record(refused.answer.delivery);
    expect(r.status).toBe('dead_lettered');
    expect(r.events[0]?.actions).toEqual([expect.objectContaining({ kind: 'create', outcome: 'dead_lettered', reason: expect.stringContaining('400') })]);
    const failed = (await (await fetch(`${bridge.url}/local/deliveries?status=failed`)).json()) as { deliveries: DeliveryRecord[] };
    expect(failed.deliveries.map((d) => d.id)).toContain(r.id);
  });

  it('rejected: counted and journaled with why, not archived (CASE_BRIDGE_ARCHIVE_REJECTED is off)', async () => {
    const { status, answer, header } = await send('alertmanager', alertGroup('JournalRejected'), {}, 'not-the-token');
    expect(status).toBe(401);
    expect(Object.keys(answer).sort()).toEqual(['error', 'message']);
    const r = await record(header);
    expect(r).toMatchObject({ status: 'rejected', verified: false, why: 'credential does not match', answer: { status: 401, code: 'invalid_signature' } });
    expect(r.archiveKey).toBeUndefined();
    expect(metrics.get('Deliveries', { source: 'alertmanager', outcome: 'rejected' })).toBeGreaterThanOrEqual(1);
  });

  it('lists by source, identity and time, newest first', async () => {
    const list = async (query: string) => ((await (await fetch(`${bridge.url}/local/deliveries?${query}`)).json()) as { deliveries: DeliveryRecord[] }).deliveries;
    const github = await list('source=github');
    expect(github.length).toBeGreaterThanOrEqual(3);
    expect(github.every((d) => d.source === 'github')).toBe(true);
    expect(github.map((d) => d.receivedAt)).toEqual([...github.map((d) => d.receivedAt)].sort((a, b) => b - a));
    const identity = (await record((await list('source=alertmanager&status=dead_lettered'))[0]?.id)).identities[0]!;
    expect((await list(`identity=${encodeURIComponent(identity)}`)).map((d) => d.status)).toEqual(['dead_lettered']);
    expect(await list(`since=${Date.now() + 60_000}`)).toEqual([]);
  });
});

describe('the journal and the archive never decide a delivery', () => {
  it('a journal and an archive that fail: the case is still created and answered 201; both failures are counted and logged', async () => {
    const failing = new MemoryMetrics();
    const server = await startDatadogServer();
    const broken = await startTestBridge({
      secrets: { ...TEST_SECRETS, ...DD_KEYS },
      env: { DD_API_URL: server.url },
      overrides: {
        metrics: failing,
        journal: { update: async () => Promise.reject(new JournalError('journal table gone')), get: async () => undefined, list: async () => [] },
        archive: { put: async () => Promise.reject(new ArchiveError('bucket gone')), get: async () => undefined, list: async () => [] },
      },
    });
    try {
      const body = alertGroup('JournalBroken');
      const signed = signRequest({ source: 'alertmanager', secret: testSecret('alertmanager'), body, headers: { 'Content-Type': 'application/json' } });
      const res = await fetch(`${broken.url}/webhooks/alertmanager`, { method: 'POST', body, headers: signed });
      expect(res.status).toBe(201);
      expect(server.cases).toHaveLength(1);
      expect(failing.get('JournalFailed', { source: 'alertmanager', outcome: 'created' })).toBe(1);
      expect(failing.get('ArchiveFailed', { source: 'alertmanager', outcome: 'accepted' })).toBe(1);
      expect(broken.logs.some((l) => l.includes('journal record not written; the delivery itself is handled'))).toBe(true);
      expect(broken.logs.some((l) => l.includes('delivery not archived; the delivery itself is handled'))).toBe(true);
    } finally {
      await broken.close();
      await server.close();
    }
  });

  it('a store that hangs does not hold the answer: it waits JOURNAL_WAIT_MS, then answers and says so', async () => {
    const slow = new MemoryMetrics();
    const hanging = new Promise<never>(() => undefined);
    const bridgeWithSlowArchive = await startTestBridge({ overrides: { metrics: slow, archive: { put: async () => hanging, get: async () => undefined, list: async () => [] } } });
    try {
      const body = alertGroup('JournalSlowArchive');
      const signed = signRequest({ source: 'alertmanager', secret: testSecret('alertmanager'), body, headers: { 'Content-Type': 'application/json' } });
      const started = Date.now();
      const res = await fetch(`${bridgeWithSlowArchive.url}/webhooks/alertmanager`, { method: 'POST', body, headers: signed });
      expect(res.status).toBe(202);
      expect(Date.now() - started).toBeLessThan(JOURNAL_WAIT_MS + 2_000);
      const r = (await bridgeWithSlowArchive.journal.get(res.headers.get('x-case-bridge-delivery')!))!;
      expect(r.archiveError).toMatch(/^the put had not finished when the webhook was answered/);
      expect(slow.get('ArchiveFailed', { source: 'alertmanager', outcome: 'late' })).toBe(1);
    } finally {
      await bridgeWithSlowArchive.close();
    }
  });

  it('CASE_BRIDGE_ARCHIVE=failed (-c archive=failed) archives only the deliveries not done when answered, once answered', async () => {
    const failedOnly = await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { CASE_BRIDGE_ARCHIVE: 'failed', DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000' }, overrides: { pace: false } });
    try {
      const post = async (name: string) => {
        const body = alertGroup(name);
        const res = await fetch(`${failedOnly.url}/webhooks/alertmanager`, { method: 'POST', body, headers: signRequest({ source: 'alertmanager', secret: testSecret('alertmanager'), body, headers: { 'Content-Type': 'application/json' } }) });
        return { body, status: res.status, record: (await failedOnly.journal.get(res.headers.get('x-case-bridge-delivery')!))! };
      };
      const created = await post('ArchiveFailedCreated');
      expect(created.status).toBe(201);
      expect(created.record.archiveKey).toBeUndefined();
      dd.failNext(1, { status: 400, body: { errors: ['Bad Request: project not found'] } });
      const refused = await post('ArchiveFailedDeadLettered');
      expect(refused.record.status).toBe('dead_lettered');
      const archived = await failedOnly.archive.get(refused.record.archiveKey!);
      expect(Buffer.from(archived!.body).toString('utf8')).toBe(refused.body);
      expect(archived!.headers['authorization']).toBeUndefined();
      expect((await failedOnly.archive.list({ since: 0 })).map((i) => i.id)).toEqual([refused.record.id]);
    } finally {
      await failedOnly.close();
    }
  });

  it('CASE_BRIDGE_ARCHIVE=off (-c archive=off) archives nothing, not even a refused delivery with CASE_BRIDGE_ARCHIVE_REJECTED=true', async () => {
    const none = await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { CASE_BRIDGE_ARCHIVE: 'off', CASE_BRIDGE_ARCHIVE_REJECTED: 'true', DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000' }, overrides: { pace: false } });
    try {
      dd.failNext(1, { status: 400, body: { errors: ['Bad Request: project not found'] } });
      const body = alertGroup('ArchiveOffDeadLettered');
      const res = await fetch(`${none.url}/webhooks/alertmanager`, { method: 'POST', body, headers: signRequest({ source: 'alertmanager', secret: testSecret('alertmanager'), body, headers: { 'Content-Type': 'application/json' } }) });
      const refused = await fetch(`${none.url}/webhooks/alertmanager`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token' } });
      expect([res.status, refused.status]).toEqual([202, 401]);
      expect((await none.journal.get(res.headers.get('x-case-bridge-delivery')!))?.status).toBe('dead_lettered');
      expect((await none.journal.get(refused.headers.get('x-case-bridge-delivery')!))?.archiveKey).toBeUndefined();
      expect(await none.archive.list({ since: 0 })).toEqual([]);
    } finally {
      await none.close();
    }
  });

  it('CASE_BRIDGE_ARCHIVE_REJECTED=true archives refused deliveries too, marked rejected, without their credential', async () => {
    const keeping = await startTestBridge({ env: { CASE_BRIDGE_ARCHIVE_REJECTED: 'true' } });
    try {
      const body = alertGroup('JournalRejectedKept');
      const res = await fetch(`${keeping.url}/webhooks/alertmanager`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token' } });
      expect(res.status).toBe(401);
      const r = (await keeping.journal.get(res.headers.get('x-case-bridge-delivery')!))!;
      expect(r.status).toBe('rejected');
      const archived = await keeping.archive.get(r.archiveKey!);
      expect(archived?.rejected).toBe(true);
      expect(Buffer.from(archived!.body).toString('utf8')).toBe(body);
      expect(archived!.headers['authorization']).toBeUndefined();
    } finally {
      await keeping.close();
    }
  });
});
