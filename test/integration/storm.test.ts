import { afterEach, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { settleBatch, toSqsEvent } from '../../lambda/local/retry-consumer.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { createLogger } from '../../lambda/shared/log.js';
import type { ActionQueue, OutboxTrigger, PendingAction } from '../../lambda/delivery/queue.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { SqsActionQueue, type UnreadableMessageSink } from '../../lambda/delivery/sqs-queue.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, queueDepth, receive } from '../support/fauxqs.js';
import { postGithubIssue, startTestBridge, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

// A storm of distinct alerts against Datadog's rate limit, counted rather than timed (the timed storm,
// cases per second against the limit's rate, is `npm run bench`). Signed webhooks -> the local bridge
// (ingest handler, the ledger in dynalite as DynamoDB) -> the Datadog test server in rate-limit mode;
// every 429 goes to the retry queue in fauxqs (real SQS protocol) and the retry handler, with the same
// ledger, sends it again. Time is a fake clock shared by the bridge, the retry handler and the server's
// rate-limit window: messages go to SQS without their delay, and the test, standing in for Lambda's
// event source mapping, moves the clock on by the delay the bridge asked for before each round.

const ALERTS = 50;
const IN_FLIGHT = 10;
const LIMIT = 10;
const PERIOD_SECONDS = 2;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');

/** The retry queue as the bridge sees it, minus SQS's delay: each delay asked for is kept for the clock. */
class UndelayedQueue implements ActionQueue, UnreadableMessageSink {
  readonly delays: number[] = [];
  deadLettered = 0;

  constructor(private readonly sqs: SqsActionQueue) {}

  retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void> {
    this.delays.push(options.delaySeconds);
    return this.sqs.retry(action, { ...options, delaySeconds: 0 });
  }

  arm(trigger: OutboxTrigger, options: { delaySeconds: number; reason: string }): Promise<void> {
    this.delays.push(options.delaySeconds);
    return this.sqs.arm(trigger, { ...options, delaySeconds: 0 });
  }

  deadLetter(action: PendingAction, options: { reason: string }): Promise<void> {
    this.deadLettered += 1;
    return this.sqs.deadLetter(action, options);
  }

  deadLetterUnreadable(body: string, options: { reason: string; messageId?: string }): Promise<void> {
    this.deadLettered += 1;
    return this.sqs.deadLetterUnreadable(body, options);
  }
}

let sqs: LocalSqs | undefined;
let dd: DatadogTestServer | undefined;
let bridge: TestBridge | undefined;

afterEach(async () => {
  await bridge?.close();
  await sqs?.close();
  await dd?.close();
  bridge = sqs = dd = undefined;
});

function issueBody(n: number): string {
  return JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Storm ${n}`, body: `Storm issue ${n}`, html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
}

describe(`storm: ${ALERTS} distinct alerts against ${LIMIT} creates per ${PERIOD_SECONDS} s, with the ledger`, () => {
  it('makes exactly one case per alert through the retry queue, dead-letters nothing, in the fewest rate-limit windows', async () => {
    let clock = T0;
    const now = () => clock;
    const random = () => 0.5;
    dd = await startDatadogServer({ now });
    dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_SECONDS });
    sqs = await startLocalSqs();
    const queue = new UndelayedQueue(new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl, now }));
    bridge = await startTestBridge({
      secrets: { ...TEST_SECRETS, ...DD_KEYS },
      env: { DD_API_URL: dd.url, LOG_LEVEL: 'info' },
      overrides: { queue, embeddedLedger: true, now, random },
    });
    const retryLogs: string[] = [];
    const retry = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 5000 }),
      secrets: createSecretsProvider({ load: async () => JSON.stringify({ ...TEST_SECRETS, ...DD_KEYS }), origin: 'test secret' }),
      queue,
      ledger: bridge.ledger,
      now,
      random,
      logger: createLogger({ level: 'info', write: (l) => retryLogs.push(l) }),
    });

    // The storm, all inside the first window: LIMIT cases made at once, every other webhook queued.
    const answers: string[] = [];
    let next = 1;
    const url = bridge.url;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let n = next++; n <= ALERTS; n = next++) {
          const res = await postGithubIssue(url, { delivery: `storm-${n}`, body: issueBody(n) });
          answers.push(`${res.status} ${((await res.json()) as { status?: string }).status ?? ''}`);
        }
      }),
    );
    const count = (answer: string) => answers.filter((a) => a === answer).length;
    expect({ created: count('201 created'), queued: count('202 queued'), other: answers.length - count('201 created') - count('202 queued') }).toEqual({ created: LIMIT, queued: ALERTS - LIMIT, other: 0 });

    // Lambda's event source mapping, one round per delay: wait out the longest delay asked for, then
    // hand the messages queued before the round to the retry handler in batches of 10 and delete what
    // it finished. What it queues again waits for the next round, as its delay would have it.
    let rounds = 0;
    for (let waiting = queue.delays.length; waiting > 0 && rounds < ALERTS; waiting = queue.delays.length) {
      rounds += 1;
      clock += Math.max(...queue.delays.splice(0)) * 1000;
      while (waiting > 0) {
        const batch = await receive(sqs.client, sqs.retryQueueUrl, { max: Math.min(10, waiting) });
        expect(batch.length).toBeGreaterThan(0);
        waiting -= batch.length;
        const result = await retry(toSqsEvent(batch, sqs.retryQueueArn));
        expect(result.batchItemFailures).toEqual([]);
        await settleBatch({ client: sqs.client, queueUrl: sqs.retryQueueUrl }, batch, result);
      }
    }

    // Every alert exactly one case: one per issue number, none twice.
    const titles = dd.cases.map((c) => c.request.data.attributes.title);
    expect(titles).toHaveLength(ALERTS);
    expect(new Set(titles)).toEqual(new Set(Array.from({ length: ALERTS }, (_, i) => `[GitHub] acme/shop#${i + 1}: Storm ${i + 1}`)));
    // Each window used to the full: the storm took the limit's minimum number of windows.
    expect(rounds).toBe(Math.ceil(ALERTS / LIMIT) - 1);
    // Both queues empty, nothing dead-lettered, no error logged.
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ total: 0 });
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
    expect(queue.deadLettered).toBe(0);
    expect([...bridge.logs, ...retryLogs].filter((l) => l.includes('"level":"error"'))).toEqual([]);
    // The ledger holds each alert open with the case Datadog made for it.
    const caseIdByTitle = new Map(dd.cases.map((c) => [c.request.data.attributes.title, c.id]));
    for (let n = 1; n <= ALERTS; n += 1) {
      const entry = await bridge.ledger.get('github', `repo/4242:issue/${n}`);
      expect({ n, state: entry?.state, caseId: entry?.caseId }).toEqual({ n, state: 'open', caseId: caseIdByTitle.get(`[GitHub] acme/shop#${n}: Storm ${n}`) });
    }
  });
});
