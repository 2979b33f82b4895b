import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { startRetryConsumer, type RetryConsumer } from '../../lambda/local/retry-consumer.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { createLogger } from '../../lambda/shared/log.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { SqsActionQueue } from '../../lambda/delivery/sqs-queue.js';
import { startDatadogServer, type DatadogTestServer } from '../support/datadog-server.js';
import { DD_KEYS, queueDepth, waitFor } from '../support/fauxqs.js';
import { startTestBridge, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

// The whole path under a storm: signed webhooks -> the local bridge (ingest handler) -> Datadog test
// server in rate-limit mode; every 429 goes to the retry queue in fauxqs (real SQS protocol) and the
// local retry consumer (the same code as the retry Lambda) delivers it once the limit allows.

const WEBHOOKS = 200;
const IN_FLIGHT = 20;
const LIMIT = 10;
const PERIOD_SECONDS = 2;
/** The limit's floor for WEBHOOKS cases, and the allowed total (1.5x). */
const MIN_SECONDS = (WEBHOOKS / LIMIT) * PERIOD_SECONDS;
const MAX_SECONDS = 1.5 * MIN_SECONDS;

let sqs: LocalSqs | undefined;
let dd: DatadogTestServer | undefined;
let bridge: TestBridge | undefined;
let consumer: RetryConsumer | undefined;

afterEach(async () => {
  await consumer?.stop();
  await bridge?.close();
  await sqs?.close();
  await dd?.close();
  consumer = bridge = sqs = dd = undefined;
});

function issueWebhook(n: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Storm ${n}`, body: `Storm issue ${n}`, html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': `storm-${n}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', TEST_SECRETS.GITHUB_WEBHOOK_SECRET).update(body).digest('hex')}`,
    },
  };
}

describe('storm: 200 distinct webhooks against 10 creates per 2 s', () => {
  it(
    'creates every case exactly once, leaves both queues empty, within 1.5x of the limit\'s minimum time',
    async () => {
      dd = await startDatadogServer();
      sqs = await startLocalSqs();
      const queue = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
      bridge = await startTestBridge({
        secrets: { ...TEST_SECRETS, ...DD_KEYS },
        env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '5000', LOG_LEVEL: 'info' },
        overrides: { queue },
      });
      const retryLogs: string[] = [];
      const handler = createRetryHandler({
        datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 5000 }),
        secrets: createSecretsProvider({ load: async () => JSON.stringify({ ...TEST_SECRETS, ...DD_KEYS }), origin: 'test secret' }),
        queue,
        ledger: bridge.ledger,
        logger: createLogger({ level: 'info', write: (l) => retryLogs.push(l) }),
      });
      consumer = startRetryConsumer({ client: sqs.client, queueUrl: sqs.retryQueueUrl, handler, logger: createLogger({ write: (l) => retryLogs.push(l) }) });
      dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_SECONDS });

      const started = Date.now();
      const answers = new Map<number, number>();
      const statuses = new Map<number, string>();
      let next = 1;
      const url = bridge.url;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (let n = next++; n <= WEBHOOKS; n = next++) {
            const { body, headers } = issueWebhook(n);
            const res = await fetch(`${url}/webhooks/github`, { method: 'POST', body, headers });
            const answer = (await res.json()) as { status?: string };
            answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
            statuses.set(n, `${res.status} ${answer.status ?? ''}`);
          }
        }),
      );
      const acceptedAfter = (Date.now() - started) / 1000;

      // Every webhook accepted: created now (201) or queued for retry (202 queued). None refused or lost.
      const bad = [...statuses].filter(([, s]) => s !== '201 created' && s !== '202 queued');
      expect(bad).toEqual([]);
      expect(statuses.size).toBe(WEBHOOKS);

      const done = await waitFor(() => dd!.cases.length >= WEBHOOKS, MAX_SECONDS * 1000 + 10_000, 20);
      const seconds = (Date.now() - started) / 1000;
      const perSecond = dd.cases.length / seconds;
      const requests = dd.requests.filter((r) => r.method === 'POST').length;
      console.log(
        `storm: ${dd.cases.length}/${WEBHOOKS} cases in ${seconds.toFixed(1)} s = ${perSecond.toFixed(2)} cases/s against the limit's ${(LIMIT / PERIOD_SECONDS).toFixed(2)}/s ` +
          `(${((perSecond / (LIMIT / PERIOD_SECONDS)) * 100).toFixed(0)}% of the limit; floor ${MIN_SECONDS} s, bound ${MAX_SECONDS} s); ` +
          `webhooks answered in ${acceptedAfter.toFixed(1)} s (${answers.get(201) ?? 0}x 201, ${answers.get(202) ?? 0}x 202); ${requests} create calls, ${requests - dd.cases.length} answered 429`,
      );
      expect(done).toBe(true);

      // Both queues drain: nothing left to retry, nothing dead-lettered.
      expect(await waitFor(async () => (await queueDepth(sqs!.client, sqs!.retryQueueUrl)).total === 0, 5000)).toBe(true);
      expect(await queueDepth(sqs.client, sqs.dlqUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0, total: 0 });

      // Every case exactly once, by title (one per issue number).
      const titles = dd.cases.map((c) => c.request.data.attributes.title);
      expect(titles).toHaveLength(WEBHOOKS);
      expect(new Set(titles).size).toBe(WEBHOOKS);
      expect(new Set(titles)).toEqual(new Set(Array.from({ length: WEBHOOKS }, (_, i) => `[GitHub] acme/shop#${i + 1}: Storm ${i + 1}`)));
      expect(retryLogs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
      expect(seconds).toBeLessThanOrEqual(MAX_SECONDS);
    },
    90_000,
  );
});
