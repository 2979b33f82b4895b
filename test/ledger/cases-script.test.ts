import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQueuedMessage } from '../../lambda/delivery/queue.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { dedupMarker } from '../../lambda/ledger/marker.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { queueDepth, receive } from '../support/fauxqs.js';

const run = promisify(execFile);
const TABLE = 'ops-view';
let dynamo: LocalDynamo;

async function cases(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/cases.ts', ...args], { env: { ...process.env, AWS_ENDPOINT_URL_DYNAMODB: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dynamo = await startDynalite();
  await dynamo.createLedgerTable(TABLE);
  const ledger = new DynamoLedger({ client: dynamo.client, tableName: TABLE });
  const key = { source: 'pagerduty', identity: 'Q1ABCDEF' };
  const { entry } = await ledger.beginCreate({ ...key, now: Date.parse('2026-03-01T10:00:00Z') });
  await ledger.completeCreate(key, entry.intentId, { caseId: 'case-1', caseKey: 'DDFC-1' }, Date.parse('2026-03-01T10:00:01Z'));
  await ledger.recordOccurrence(key, Date.parse('2026-03-01T10:05:00Z'));
  // Issue 17: an alert below its occurrence threshold, with a count and no entry.
  const below = { source: 'alertmanager', identity: 'group/flapping' };
  await ledger.countFiring(below, { key: 'd2', at: Date.parse('2026-03-01T10:07:00Z') }, 600_000);
  await ledger.countFiring(below, { key: 'd1', at: Date.parse('2026-03-01T10:06:00Z') }, 600_000);
});
afterAll(async () => {
  await dynamo?.close();
});

describe('npm run cases', () => {
  it('prints the ledger entry as JSON with readable times', async () => {
    const out = await cases('pagerduty', 'Q1ABCDEF', '--endpoint', dynamo.endpoint, '--table', TABLE);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as { found: boolean; entry: Record<string, unknown> };
    expect(report.found).toBe(true);
    expect(report.entry).toMatchObject({ state: 'open', caseId: 'case-1', caseKey: 'DDFC-1', occurrences: 2, unreportedOccurrences: 1, lastSeen: '2026-03-01T10:05:00.000Z', marker: dedupMarker('pagerduty', 'Q1ABCDEF') });
  });

  it("prints an alert's occurrence count below its threshold, with no entry (#17)", async () => {
    const out = await cases('alertmanager', 'group/flapping', '--endpoint', dynamo.endpoint, '--table', TABLE);
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ found: false, occurrenceCount: { firings: ['2026-03-01T10:06:00.000Z', '2026-03-01T10:07:00.000Z'] } });
  });

  it('exits 1 for an unknown alert, 2 on bad usage', async () => {
    const missing = await cases('pagerduty', 'nope', '--endpoint', dynamo.endpoint, '--table', TABLE);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ found: false, marker: dedupMarker('pagerduty', 'nope') });
    const usage = await cases('pagerduty');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run cases');
  });
});

describe('npm run cases --nudge (#13)', () => {
  let sqs: LocalSqs;
  beforeAll(async () => {
    sqs = await startLocalSqs();
  });
  afterAll(async () => {
    await sqs?.close();
  });

  it("puts one trigger for the alert on the retry queue, due now: the retry function works the alert's outbox", { timeout: 30_000 }, async () => {
    const out = await cases('pagerduty', 'Q1ABCDEF', '--endpoint', dynamo.endpoint, '--table', TABLE, '--nudge', '--queue-url', sqs.retryQueueUrl);

    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ found: true, nudged: { queueUrl: sqs.retryQueueUrl } });
    const [message, ...more] = await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 1 });
    expect(more).toEqual([]);
    expect(readQueuedMessage(message?.Body ?? '')).toMatchObject({ ok: true, message: { disposition: 'retry', action: { kind: 'outbox', source: 'pagerduty', identity: 'Q1ABCDEF', attempt: 0 }, reason: expect.stringContaining('nudge') } });
  });

  it('nudges nothing for an alert the ledger does not know (exit 1), and needs the queue (exit 2)', { timeout: 30_000 }, async () => {
    const missing = await cases('pagerduty', 'nope', '--endpoint', dynamo.endpoint, '--table', TABLE, '--nudge', '--queue-url', sqs.retryQueueUrl);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).not.toHaveProperty('nudged');
    const noQueue = await cases('pagerduty', 'Q1ABCDEF', '--endpoint', dynamo.endpoint, '--table', TABLE, '--nudge');
    expect(noQueue.code).toBe(2);
    expect(noQueue.stderr).toContain('--nudge needs --queue-url');
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ visible: 0, delayed: 0 });
  });
});
