import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { METRICS } from '../../lambda/shared/contract.js';
import { MemoryMetrics } from '../../lambda/shared/metrics.js';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue, encodeQueuedMessage, QUEUED_MESSAGE_VERSION } from '../../lambda/delivery/queue.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { pendingCase } from '../support/fauxqs.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { startTestBridge, TEST_SECRETS, type TestBridge, postGithubIssue } from '../support/local-bridge.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';

// The metrics a running bridge records (in memory here; EMF in Lambda), through real sockets.

const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;

function issueBody(n: number): string {
  return JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Issue ${n}`, body: 'details', html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
}

describe('metrics of the local bridge', () => {
  let dd: DatadogTestServer | undefined;
  let bridge: TestBridge | undefined;
  let metrics: MemoryMetrics;
  let queue: MemoryActionQueue;

  async function start(): Promise<TestBridge> {
    dd = await startDatadogServer();
    metrics = new MemoryMetrics();
    queue = new MemoryActionQueue();
    bridge = await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000' }, overrides: { metrics, queue } });
    return bridge;
  }

  const github = (b: TestBridge, delivery: string, raw: string, secret?: string) => postGithubIssue(b.url, { delivery, body: raw, ...(secret !== undefined ? { secret } : {}) });

  afterEach(async () => {
    await bridge?.close();
    await dd?.close();
    bridge = undefined;
    dd = undefined;
  });

  it('a good webhook counts WebhooksReceived and CasesCreated, and times the Datadog call', async () => {
    const b = await start();
    expect((await github(b, 'delivery-good', issueBody(1))).status).toBe(201);
    expect(metrics.get('WebhooksReceived', { source: 'github' })).toBe(1);
    expect(metrics.get('CasesCreated', { source: 'github' })).toBe(1);
    expect(metrics.latencies.get('github')).toHaveLength(1);
    expect(metrics.get('RateLimited', { source: 'github' })).toBe(0);
    expect([...metrics.counts.keys()].filter((k) => k.startsWith('WebhooksRejected'))).toEqual([]);
  });

  it('a bad signature counts WebhooksRejected{reason: invalid_signature}; other refusals count by their code', async () => {
    const b = await start();
    expect((await github(b, 'delivery-bad', issueBody(2), 'not-the-secret')).status).toBe(401);
    expect(metrics.get('WebhooksReceived', { source: 'github' })).toBe(1);
    expect(metrics.get('WebhooksRejected', { source: 'github', reason: METRICS.invalidSignatureReason })).toBe(1);
    expect(metrics.get('CasesCreated', { source: 'github' })).toBe(0);

    const raw = issueBody(3);
    const signature = `sha256=${createHmac('sha256', TEST_SECRETS.GITHUB_WEBHOOK_SECRET).update(raw).digest('hex')}`;
    expect((await fetch(`${b.url}/webhooks/github`, { method: 'POST', body: raw, headers: { 'content-type': 'text/plain', 'x-hub-signature-256': signature } })).status).toBe(415);
    expect(metrics.get('WebhooksRejected', { source: 'github', reason: 'unsupported_content_type' })).toBe(1);
    // A path that names no configured source is one 'unknown' series, whatever the path says.
    expect((await fetch(`${b.url}/webhooks/no-such-tool`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404);
    expect(metrics.get('WebhooksRejected', { source: 'unknown', reason: 'unknown_source' })).toBe(1);
    expect(metrics.get('WebhooksReceived', { source: 'unknown' })).toBe(0);
  });

  it('a 429 from Datadog counts RateLimited and RetriesEnqueued', async () => {
    const b = await start();
    dd?.failNext(1, { status: 429, headers: { 'X-RateLimit-Limit': '10', 'X-RateLimit-Period': '2', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1' } });
    const res = await github(b, 'delivery-429', issueBody(4));
    expect(res.status).toBe(202);
    expect(((await res.json()) as { status?: string }).status).toBe('queued');
    expect(metrics.get('WebhooksReceived', { source: 'github' })).toBe(1);
    expect(metrics.get('RateLimited', { source: 'github' })).toBe(1);
    expect(metrics.get('RetriesEnqueued', { source: 'github' })).toBe(1);
    expect(metrics.get('CasesCreated', { source: 'github' })).toBe(0);
    expect(metrics.latencies.get('github')).toHaveLength(1);
    expect(queue.retries.map((r) => r.action.deliveryId)).toEqual(['delivery-429']);
  });
});

describe('metrics of the retry handler', () => {
  let dd: DatadogTestServer | undefined;

  afterEach(async () => {
    await dd?.close();
    dd = undefined;
  });

  function record(n: number, body: string): SQSRecord {
    return { messageId: `m-${n}`, receiptHandle: `r-${n}`, body, attributes: {} as SQSRecord['attributes'], messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:retry', awsRegion: 'us-east-1' };
  }

  it('counts RetriesSucceeded (and CasesCreated), RateLimited + RetriesEnqueued, and DeadLettered by source', async () => {
    dd = await startDatadogServer();
    const metrics = new MemoryMetrics();
    const queue = new MemoryActionQueue();
    const handler = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 2000 }),
      secrets: createSecretsProvider({ load: async () => JSON.stringify(DD_KEYS), origin: 'test secret' }),
      ledger: new MemoryLedger(),
      queue,
      logger: silentLogger,
      random: () => 0.5,
      metrics,
    });
    const message = (n: number): string =>
      encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action: pendingCase(n), reason: 'first try answered 429', enqueuedAt: Date.now() });
    const event: SQSEvent = { Records: [record(1, message(1)), record(2, message(2)), record(3, message(3))] };
    // 1 is created, 2 is rate limited again, 3 is refused for good.
    const created = await handler({ Records: [event.Records[0]!] });
    dd.failNext(1, { status: 429, headers: { 'X-RateLimit-Reset': '1' } });
    const limited = await handler({ Records: [event.Records[1]!] });
    dd.failNext(1, { status: 400, body: { errors: ['priority is invalid'] } });
    const refused = await handler({ Records: [event.Records[2]!] });

    expect([created, limited, refused]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(metrics.get('RetriesSucceeded', { source: 'generic' })).toBe(1);
    expect(metrics.get('CasesCreated', { source: 'generic' })).toBe(1);
    expect(metrics.get('RateLimited', { source: 'generic' })).toBe(1);
    expect(metrics.get('RetriesEnqueued', { source: 'generic' })).toBe(1);
    expect(metrics.get('DeadLettered', { source: 'generic' })).toBe(1);
    expect(metrics.latencies.get('generic')).toHaveLength(3);
  });
});
