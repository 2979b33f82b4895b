import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { SqsActionQueue } from '../../lambda/delivery/sqs-queue.js';
import { readQueuedMessage } from '../../lambda/delivery/queue.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, queueDepth, receive } from '../support/fauxqs.js';
import { startTestBridge, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

// The ingest with the SQS queue: a 429 that cannot be stored is answered 503 (the sender retries),
// and the same delivery, sent again once SQS is back, is queued with everything needed to finish.

let sqs: LocalSqs | undefined;
let dd: DatadogTestServer | undefined;
let bridge: TestBridge | undefined;

afterEach(async () => {
  await bridge?.close();
  await sqs?.close();
  await dd?.close();
  bridge = sqs = dd = undefined;
});

const BODY = JSON.stringify({
  action: 'opened',
  issue: { number: 77, title: 'Queue outage', body: 'x', html_url: 'https://github.com/acme/shop/issues/77', state: 'open' },
  repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
});

async function send(b: TestBridge): Promise<{ status: number; answer: { status?: string; error?: string } }> {
  const res = await fetch(`${b.url}/webhooks/github`, {
    method: 'POST',
    body: BODY,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': 'delivery-77',
      'x-hub-signature-256': `sha256=${createHmac('sha256', TEST_SECRETS.GITHUB_WEBHOOK_SECRET).update(BODY).digest('hex')}`,
    },
  });
  return { status: res.status, answer: (await res.json()) as { status?: string; error?: string } };
}

describe('ingest with the SQS retry queue', () => {
  it('answers 503 when the 429 cannot be queued; the sender\'s retry is queued once SQS works', async () => {
    dd = await startDatadogServer();
    sqs = await startLocalSqs();
    let broken = true;
    const good = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
    const bad = new SqsActionQueue({ client: sqs.client, retryQueueUrl: `${sqs.endpoint}/000000000000/gone`, dlqUrl: `${sqs.endpoint}/000000000000/gone-dlq` });
    bridge = await startTestBridge({
      secrets: { ...TEST_SECRETS, ...DD_KEYS },
      env: { DD_API_URL: dd.url },
      overrides: {
        queue: {
          retry: (a, o) => (broken ? bad : good).retry(a, o),
          deadLetter: (a, o) => (broken ? bad : good).deadLetter(a, o),
          arm: (t, o) => (broken ? bad : good).arm(t, o),
        },
      },
    });
    dd.failNext(2, { status: 429, headers: { 'X-RateLimit-Reset': '5' } });

    const first = await send(bridge);
    expect(first.status).toBe(503);
    expect(first.answer.error).toBe('queue_unavailable');
    expect(bridge.logs.some((l) => l.includes('"level":"error"') && l.includes('the retry queue failed'))).toBe(true);
    expect(await receive(sqs.client, sqs.retryQueueUrl)).toEqual([]);

    broken = false;
    const second = await send(bridge);
    expect(second.status).toBe(202);
    expect(second.answer.status).toBe('queued');
    expect(dd.cases).toHaveLength(0);
    // Stored (#13): the watchdog, and the retry trigger delayed by X-RateLimit-Reset + jitter.
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ delayed: 2, total: 2 });
  });

  it('a queued message names the alert whose ledger entry carries everything needed to finish the work (#13)', async () => {
    dd = await startDatadogServer();
    sqs = await startLocalSqs();
    bridge = await startTestBridge({
      secrets: { ...TEST_SECRETS, ...DD_KEYS },
      env: { DD_API_URL: dd.url },
      overrides: { queue: new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl }), random: () => 0 },
    });
    dd.failNext(1, { status: 429, headers: { 'X-RateLimit-Reset': '1' } });

    expect((await send(bridge)).status).toBe(202);

    const [m] = await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 3 });
    const read = readQueuedMessage(m?.Body ?? '');
    expect(read.ok && read.message.action).toMatchObject({ kind: 'outbox', source: 'github', deliveryId: 'delivery-77', identity: 'repo/4242:issue/77', attempt: 0 });
    expect(read.ok && Number.isFinite(read.message.action.firstSeen)).toBe(true);
    expect((JSON.parse(m?.Body ?? '') as { action: { firstSeen: string } }).action.firstSeen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await bridge.ledger.get('github', 'repo/4242:issue/77')).toMatchObject({
      state: 'creating',
      outbox: [{ kind: 'create', rule: 'issue opened', deliveryId: 'delivery-77', tries: 0, request: { data: { attributes: { title: '[GitHub] acme/shop#77: Queue outage' } } } }],
    });
  });
});
