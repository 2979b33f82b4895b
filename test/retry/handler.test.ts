import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { MAX_ATTEMPTS } from '../../lambda/datadog/retry-policy.js';
import { markRequest } from '../../lambda/ledger/marker.js';
import type { Ledger } from '../../lambda/ledger/types.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { DEFAULT_LIFECYCLE_POLICY } from '../../lambda/lifecycle/policy.js';
import { pendingEventOf } from '../../lambda/delivery/run.js';
import { DEFER_REASON } from '../../lambda/lifecycle/work.js';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { settleBatch, startRetryConsumer } from '../../lambda/local/retry-consumer.js';
import { copyRedrive } from '../../lambda/retry/redrive.js';
import { createRetryHandler, NO_KEYS_REASON, type RetryDeps } from '../../lambda/retry/handler.js';
import { QueueError } from '../../lambda/shared/errors.js';
import { RECORD_START_MS } from '../../lambda/shared/budgets.js';
import { createLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue, outboxTrigger, type ActionQueue, type PendingCase, encodeQueuedMessage, QUEUED_MESSAGE_VERSION, readQueuedMessage } from '../../lambda/delivery/queue.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { SqsActionQueue } from '../../lambda/delivery/sqs-queue.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, pendingCase, queueDepth, receive, receiveEvent, waitFor } from '../support/fauxqs.js';

// The retry handler against fauxqs (the SQS protocol) and the local Datadog test server: real
// sockets on both sides, no mocks.

let sqs: LocalSqs | undefined;
let dd: DatadogTestServer | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await sqs?.close();
  await dd?.close();
  sqs = undefined;
  dd = undefined;
});

async function setup(options: { secrets?: Record<string, string>; random?: () => number; visibilityTimeoutSeconds?: number; maxReceiveCount?: number; queue?: (q: SqsActionQueue) => RetryDeps['queue'] } = {}) {
  sqs = await startLocalSqs({ visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30, maxReceiveCount: options.maxReceiveCount ?? 5 });
  dd = await startDatadogServer();
  const logs: string[] = [];
  const sqsQueue = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
  // The dedup ledger, as in production: every queued create holds its alert's intent (queuedCreate).
  const ledger = new MemoryLedger();
  const handler = createRetryHandler({
    datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 2000 }),
    ledger,
    secrets: createSecretsProvider({ load: async () => JSON.stringify(options.secrets ?? DD_KEYS), origin: 'test secret' }),
    queue: options.queue ? options.queue(sqsQueue) : sqsQueue,
    logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
    random: options.random ?? (() => 0.5),
    // The test server's search shows a case at once: a create whose outcome is unknown need not wait for it.
    markerSearchSettleSeconds: 0,
  });
  return { sqs, dd, queue: sqsQueue, handler, logs, ledger };
}

/** A create as the ingest queues it: its alert's intent claimed in `ledger`, the request marked with it. */
async function queuedCreate(ledger: Ledger, n: number, overrides: Partial<PendingCase> = {}): Promise<PendingCase> {
  const base = pendingCase(n, overrides);
  const claim = await ledger.beginCreate({ source: base.source, identity: base.identity, now: Date.now(), rule: base.rule });
  if (!claim.won) throw new Error(`${base.identity} already has an intent`);
  return { ...base, request: markRequest(base.request, claim.entry.marker), intentId: claim.entry.intentId, marker: claim.entry.marker, ambiguous: false };
}

/** Puts actions on the retry queue (as the ingest would) and receives them as one SQS event. */
async function enqueue(s: LocalSqs, queue: SqsActionQueue, actions: PendingCase[]) {
  for (const a of actions) await queue.retry(a, { delaySeconds: 0, reason: 'first try answered 429' });
  return receiveEvent(s.client, s.retryQueueUrl, actions.length);
}

/** What the event source mapping does: run the handler, delete the records it did not report. */
async function run(handler: (e: SQSEvent) => Promise<SQSBatchResponse>, event: SQSEvent): Promise<SQSBatchResponse> {
  const result = await handler(event);
  await settleBatch({ client: sqs!.client, queueUrl: sqs!.retryQueueUrl }, event.Records.map((r) => ({ MessageId: r.messageId, ReceiptHandle: r.receiptHandle })), result);
  return result;
}

/** An SQS record as the event source mapping hands it over, with `body`. */
function sqsRecord(messageId: string, body: string): SQSRecord {
  return { messageId, receiptHandle: 'r', body, attributes: {} as SQSRecord['attributes'], messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:retry', awsRegion: 'us-east-1' };
}

function readAll(bodies: (string | undefined)[]) {
  return bodies.map((b) => {
    const read = readQueuedMessage(b ?? '');
    if (!read.ok) throw new Error(read.reason);
    return read.message;
  });
}

describe('retry handler', () => {
  it('creates the case and reports success', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup();
    const action = await queuedCreate(ledger, 1);
    const event = await enqueue(sqs, queue, [action]);

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });

    expect(dd.cases.map((c) => c.request)).toEqual([action.request]);
    expect(await ledger.get(action.source, action.identity)).toMatchObject({ state: 'open', caseId: dd.cases[0]?.id });
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
  });

  it('429: re-enqueues a new delayed message (X-RateLimit-Reset + jitter), attempt unchanged, record succeeds', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup({ random: () => 0.5 });
    const action = await queuedCreate(ledger, 2, { attempt: 3 });
    const event = await enqueue(sqs, queue, [action]);
    dd.failNext(1, { status: 429, headers: { 'X-RateLimit-Reset': '1', 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '0' } });
    const handledAt = Date.now();

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });

    // ceil(1 + 0.5) = 2 s: not visible before.
    expect(await receive(sqs.client, sqs.retryQueueUrl)).toEqual([]);
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ delayed: 1 });
    const again = await receiveEvent(sqs.client, sqs.retryQueueUrl, 1, 5000);
    expect(Date.now() - handledAt).toBeGreaterThanOrEqual(1900);
    const [message] = readAll(again.Records.map((r) => r.body));
    expect(message?.action).toEqual(action);
    expect(message?.reason).toContain('429');
    expect(again.Records[0]?.messageAttributes['attempt']?.stringValue).toBe('3');

    expect(await run(handler, again)).toEqual({ batchItemFailures: [] });
    expect(dd.cases).toHaveLength(1);
  });

  it('5xx: re-enqueues with exponential backoff and one more attempt', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup({ random: () => 0.1 });
    const event = await enqueue(sqs, queue, [await queuedCreate(ledger, 3, { attempt: 1 })]);
    dd.failNext(1, { status: 503 });

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });

    // Attempt 2: full jitter over 2^2 * 5 = 20 s; random 0.1 -> 2 s.
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ delayed: 1 });
    const again = await receiveEvent(sqs.client, sqs.retryQueueUrl, 1, 5000);
    const [message] = readAll(again.Records.map((r) => r.body));
    expect(message?.action.attempt).toBe(2);
    expect(message?.reason).toContain('503');
    expect(dd.cases).toHaveLength(0);
    expect(await run(handler, again)).toEqual({ batchItemFailures: [] });
    expect(dd.cases).toHaveLength(1);
  });

  it('a permanent 400 lands in the DLQ with its reason; after the fault is cleared a redrive creates the case', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup();
    const action = await queuedCreate(ledger, 4, { attempt: 2 });
    const event = await enqueue(sqs, queue, [action]);
    dd.failNext(1, { status: 400, body: { errors: [{ status: '400', title: 'Bad Request', detail: 'project 00000000-0000-0000-0000-000000000000 not found' }] } });

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });

    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ total: 0 });
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ visible: 1, total: 1 });
    const [dead] = await receive(sqs.client, sqs.dlqUrl, { visibilityTimeout: 0 });
    const [message] = readAll([dead?.Body]);
    expect(message?.disposition).toBe('dead_letter');
    expect(message?.reason).toMatch(/answered 400.*project 00000000-0000-0000-0000-000000000000 not found/);
    expect(dead?.MessageAttributes?.['reason']?.StringValue).toBe(message?.reason);
    expect(message?.action).toEqual({ ...action, attempt: 3 });
    expect(dd.cases).toHaveLength(0);

    // The operator fixes the project (the test server answers 201 again) and redrives: fauxqs has no
    // StartMessageMoveTask, so the move is done by receive/send/delete (npm run redrive -- --copy).
    expect(await copyRedrive({ client: sqs.client, sourceUrl: sqs.dlqUrl, destinationUrl: sqs.retryQueueUrl })).toBe(1);
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
    const redriven = await receiveEvent(sqs.client, sqs.retryQueueUrl, 1);
    expect(await run(handler, redriven)).toEqual({ batchItemFailures: [] });

    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.request).toEqual(action.request);
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
  });

  it('a redriven case starts again from attempt 0, so one more 5xx is retried, not given up', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup({ random: () => 0 });
    await queue.deadLetter(await queuedCreate(ledger, 5, { attempt: 8 }), { reason: 'gave up after 8 attempts: 503' });
    await copyRedrive({ client: sqs.client, sourceUrl: sqs.dlqUrl, destinationUrl: sqs.retryQueueUrl });
    dd.failNext(1, { status: 503 });

    expect(await run(handler, await receiveEvent(sqs.client, sqs.retryQueueUrl, 1))).toEqual({ batchItemFailures: [] });

    const [message] = readAll((await receiveEvent(sqs.client, sqs.retryQueueUrl, 1, 5000)).Records.map((r) => r.body));
    expect(message?.disposition).toBe('retry');
    expect(message?.action.attempt).toBe(1);
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
  });

  it('a crash mid-batch reports only that record; the consumer deletes the others and nothing is lost', async () => {
    let failOnce = true;
    const { sqs, dd, handler, ledger } = await setup({
      random: () => 0.1,
      visibilityTimeoutSeconds: 1,
      // The queue fails (once) for case 12 only: its record must come back, the others must not.
      queue: (q) => ({
        retry: async (action, options) => {
          if (action.identity === 'check/12' && failOnce) {
            failOnce = false;
            throw new QueueError('SQS is having a bad moment');
          }
          await q.retry(action, options);
        },
        deadLetter: (action, options) => q.deadLetter(action, options),
        arm: (trigger, options) => q.arm(trigger, options),
        deadLetterUnreadable: (body, options) => q.deadLetterUnreadable(body, options),
      }),
    });
    const queue = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
    const event = await enqueue(sqs, queue, [await queuedCreate(ledger, 11), await queuedCreate(ledger, 12), await queuedCreate(ledger, 13)]);
    expect(event.Records).toHaveLength(3);
    dd.failNext(3, { status: 502 });

    const result = await run(handler, event);

    const failed = event.Records.find((r) => readAll([r.body])[0]?.action.identity === 'check/12');
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: failed?.messageId }] });

    // 11 and 13 were deleted and re-enqueued (delayed); 12 is still in flight and comes back.
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toEqual({ visible: 0, inFlight: 1, delayed: 2, total: 3 });
    expect(dd.cases).toHaveLength(0);

    // The local consumer finishes the job exactly like the event source mapping.
    const consumer = startRetryConsumer({ client: sqs.client, queueUrl: sqs.retryQueueUrl, handler, logger: createLogger({ write: () => undefined }) });
    stops.push(() => consumer.stop());
    expect(await waitFor(() => dd!.cases.length >= 3, 15_000)).toBe(true);
    expect(await waitFor(async () => (await queueDepth(sqs!.client, sqs!.retryQueueUrl)).total === 0, 5000)).toBe(true);
    await consumer.stop();
    // Each case exactly once.
    expect(dd.cases.map((c) => c.request.data.attributes.title).sort()).toEqual(['case 11', 'case 12', 'case 13']);
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
  });

  it('an unreadable message is dead-lettered with its reason, never retried, and Datadog is not called', async () => {
    const { sqs, dd, handler } = await setup();
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.retryQueueUrl, MessageBody: 'this is not json' }));
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.retryQueueUrl, MessageBody: JSON.stringify({ v: 7, hello: 'world' }) }));
    const event = await receiveEvent(sqs.client, sqs.retryQueueUrl, 2);

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });

    expect(dd.requests).toHaveLength(0);
    const dead = await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 });
    expect(dead.map((m) => m.Body).sort()).toEqual([JSON.stringify({ v: 7, hello: 'world' }), 'this is not json'].sort());
    for (const m of dead) expect(m.MessageAttributes?.['reason']?.StringValue).toMatch(/^unreadable message: /);
  });

  it('without a way to dead-letter unreadable messages, SQS\'s redrive policy moves them after maxReceiveCount', async () => {
    const { sqs, handler } = await setup({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2, queue: () => new MemoryActionQueue() });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.retryQueueUrl, MessageBody: 'garbage' }));
    const consumer = startRetryConsumer({ client: sqs.client, queueUrl: sqs.retryQueueUrl, handler, logger: createLogger({ write: () => undefined }) });
    stops.push(() => consumer.stop());

    expect(await waitFor(async () => (await queueDepth(sqs.client, sqs.dlqUrl)).total === 1, 10_000, 200)).toBe(true);
    await consumer.stop();
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ total: 0 });
  });

  it('dead-letters with a reason when the secret has no Datadog keys', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup({ secrets: { GITHUB_WEBHOOK_SECRET: 'x' } });
    const event = await enqueue(sqs, queue, [await queuedCreate(ledger, 6)]);

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });

    expect(dd.requests).toHaveLength(0);
    const [dead] = readAll((await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 })).map((m) => m.Body));
    expect(dead?.reason).toBe(NO_KEYS_REASON);
  });

  it('reports every record when the secret cannot be read, so SQS delivers them again', async () => {
    sqs = await startLocalSqs();
    dd = await startDatadogServer();
    const queue = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
    const ledger = new MemoryLedger();
    const handler = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: dd.url }),
      ledger,
      secrets: createSecretsProvider({ load: async () => Promise.reject(new Error('AccessDenied')), origin: 'test secret' }),
      queue,
      logger: createLogger({ write: () => undefined }),
    });
    const event = await enqueue(sqs, queue, [await queuedCreate(ledger, 7), await queuedCreate(ledger, 8)]);

    const result = await run(handler, event);

    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(event.Records.map((r) => r.messageId).sort());
    expect(dd.requests).toHaveLength(0);
  });
});

describe('retry handler: a deferred alert event (#4)', () => {
  const IDENTITY = 'case-bridge/{}:{alertname="DiskFull"}';
  const T0 = Date.parse('2026-03-01T10:00:00Z');

  function deferredRecord(attempt: number): SQSRecord {
    const work = { source: 'alertmanager' as const, identity: IDENTITY, rule: undefined, signal: 'resolved' as const, deliveryId: undefined, request: undefined, summary: 'alert.resolved', policy: DEFAULT_LIFECYCLE_POLICY };
    const body = encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action: pendingEventOf(work, attempt, T0), reason: DEFER_REASON, enqueuedAt: T0 });
    return sqsRecord(`deferred-${attempt}`, body);
  }

  async function setupDeferred() {
    dd = await startDatadogServer();
    const queue = new MemoryActionQueue();
    const ledger = new MemoryLedger();
    const handler = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 2000 }),
      secrets: createSecretsProvider({ load: async () => JSON.stringify(DD_KEYS), origin: 'test secret' }),
      queue,
      ledger,
      now: () => T0 + 10_000,
      logger: createLogger({ write: () => undefined }),
      random: () => 0,
    });
    return { dd, queue, ledger, handler };
  }

  it('is deferred again, one attempt later, while the case is still being created', async () => {
    const { dd, queue, ledger, handler } = await setupDeferred();
    await ledger.beginCreate({ source: 'alertmanager', identity: IDENTITY, now: T0 });

    expect(await handler({ Records: [deferredRecord(2)] })).toEqual({ batchItemFailures: [] });

    expect(queue.retries).toEqual([{ action: expect.objectContaining({ kind: 'lifecycle_event', attempt: 3, occurredAt: T0 }), delaySeconds: 20, reason: DEFER_REASON }]);
    expect(dd.requests).toHaveLength(0);
  });

  it('goes to the DLQ with its reason after the last attempt', async () => {
    const { dd, queue, ledger, handler } = await setupDeferred();
    await ledger.beginCreate({ source: 'alertmanager', identity: IDENTITY, now: T0 });

    expect(await handler({ Records: [deferredRecord(MAX_ATTEMPTS - 1)] })).toEqual({ batchItemFailures: [] });

    expect(queue.retries).toEqual([]);
    expect(queue.deadLetters).toEqual([{ action: expect.objectContaining({ kind: 'lifecycle_event', attempt: MAX_ATTEMPTS }), reason: `gave up after ${MAX_ATTEMPTS} attempts: ${DEFER_REASON}` }]);
    expect(dd.requests).toHaveLength(0);
  });

  it('is dropped when the create was abandoned meanwhile (no case to resolve)', async () => {
    const { dd, queue, handler } = await setupDeferred();

    expect(await handler({ Records: [deferredRecord(1)] })).toEqual({ batchItemFailures: [] });

    expect(queue.retries).toEqual([]);
    expect(queue.deadLetters).toEqual([]);
    expect(dd.requests).toHaveLength(0);
  });
});

describe('retry handler: a dead-lettered create with a ledger intent (#4)', () => {
  it('is created when an operator redrives it, although dead-lettering gave its intent up', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup();
    const { entry } = await ledger.beginCreate({ source: 'generic', identity: 'check/31', now: Date.now(), rule: 'checks' });
    const action = pendingCase(31, { intentId: entry.intentId, marker: entry.marker, request: markRequest(pendingCase(31).request, entry.marker), attempt: 1 });
    const event = await enqueue(sqs, queue, [action]);
    dd.failNext(1, { status: 400, body: { errors: ['project not found'] } });

    expect(await run(handler, event)).toEqual({ batchItemFailures: [] });
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 1 });
    expect(await ledger.get('generic', 'check/31')).toBeUndefined();

    // The operator fixes the project and redrives.
    expect(await copyRedrive({ client: sqs.client, sourceUrl: sqs.dlqUrl, destinationUrl: sqs.retryQueueUrl })).toBe(1);
    expect(await run(handler, await receiveEvent(sqs.client, sqs.retryQueueUrl, 1))).toEqual({ batchItemFailures: [] });

    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.request).toEqual(action.request);
    expect(await ledger.get('generic', 'check/31')).toMatchObject({ state: 'open', caseId: dd.cases[0]?.id, marker: entry.marker });
    expect(await queueDepth(sqs.client, sqs.dlqUrl)).toMatchObject({ total: 0 });
  });

  it('is dropped on redrive when another delivery created the alert\'s case meanwhile', async () => {
    const { sqs, dd, queue, handler, ledger } = await setup();
    const first = await ledger.beginCreate({ source: 'generic', identity: 'check/32', now: Date.now() });
    const action = pendingCase(32, { intentId: first.entry.intentId, marker: first.entry.marker, request: markRequest(pendingCase(32).request, first.entry.marker), attempt: 1 });
    const event = await enqueue(sqs, queue, [action]);
    dd.failNext(1, { status: 400, body: { errors: ['project not found'] } });
    await run(handler, event);
    // A later firing of the same alert made its case.
    const later = await ledger.beginCreate({ source: 'generic', identity: 'check/32', now: Date.now() });
    await ledger.completeCreate({ source: 'generic', identity: 'check/32' }, later.entry.intentId, { caseId: 'case-from-later-firing', caseKey: 'K-9' }, Date.now());

    await copyRedrive({ client: sqs.client, sourceUrl: sqs.dlqUrl, destinationUrl: sqs.retryQueueUrl });
    expect(await run(handler, await receiveEvent(sqs.client, sqs.retryQueueUrl, 1))).toEqual({ batchItemFailures: [] });

    expect(dd.cases).toHaveLength(0);
    expect(await ledger.get('generic', 'check/32')).toMatchObject({ state: 'open', caseId: 'case-from-later-firing' });
  });
});

describe('retry handler: a queued create whose next retry cannot be queued (#4)', () => {
  it('leaves the intent flagged, so the redelivered record looks the case up by marker instead of creating it again', async () => {
    dd = await startDatadogServer();
    const ledger = new MemoryLedger();
    const { entry } = await ledger.beginCreate({ source: 'generic', identity: 'check/21', now: Date.now() });
    const action = pendingCase(21, { intentId: entry.intentId, marker: entry.marker, request: markRequest(pendingCase(21).request, entry.marker), attempt: 1 });
    let queueDown = true;
    const memory = new MemoryActionQueue();
    const handler = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 2000 }),
      secrets: createSecretsProvider({ load: async () => JSON.stringify(DD_KEYS), origin: 'test secret' }),
      queue: {
        retry: async (a, o) => (queueDown ? Promise.reject(new QueueError('SQS is unavailable')) : memory.retry(a, o)),
        deadLetter: (a, o) => memory.deadLetter(a, o),
        arm: async (t, o) => (queueDown ? Promise.reject(new QueueError('SQS is unavailable')) : memory.arm(t, o)),
      },
      ledger,
      logger: createLogger({ write: () => undefined }),
      random: () => 0,
    });
    const body = encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action, reason: 'first try answered 503', enqueuedAt: Date.now() });
    const record: SQSRecord = { messageId: 'm-21', receiptHandle: 'r', body, attributes: {} as SQSRecord['attributes'], messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:retry', awsRegion: 'us-east-1' };
    dd.dropAfterCreateNext(1);

    // The create reaches Datadog but its answer is lost, and the retry of it cannot be queued.
    expect(await handler({ Records: [record] })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-21' }] });
    expect(dd.cases).toHaveLength(1);
    expect(await ledger.get('generic', 'check/21')).toMatchObject({ state: 'creating', ambiguousIntentId: entry.intentId });

    // SQS delivers the same record again (its body says nothing of the lost answer).
    queueDown = false;
    expect(await handler({ Records: [record] })).toEqual({ batchItemFailures: [] });
    expect(dd.cases).toHaveLength(1);
    expect(dd.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(await ledger.get('generic', 'check/21')).toMatchObject({ state: 'open', caseId: dd.cases[0]?.id });
  });
});

// Keep the ActionQueue import used for type documentation of the wrapper above.
export type { ActionQueue };

describe('retry handler: Datadog unreachable names the network cause (#14)', () => {
  function queued(action: PendingCase): SQSRecord {
    return sqsRecord(`unreachable-${action.attempt}`, encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action, reason: 'first try', enqueuedAt: action.firstSeen }));
  }

  function handlerFor(baseUrl: string, timeoutMs: number) {
    const queue = new MemoryActionQueue();
    const logs: string[] = [];
    const handler = createRetryHandler({
      datadog: createDatadogClient({ baseUrl, timeoutMs }),
      secrets: createSecretsProvider({ load: async () => JSON.stringify(DD_KEYS), origin: 'test secret' }),
      queue,
      ledger: new MemoryLedger(),
      logger: createLogger({ write: (l) => logs.push(l) }),
      random: () => 0,
    });
    const logged = (message: string) => logs.map((l) => JSON.parse(l) as { message: string; reason?: string }).filter((l) => l.message === message).map((l) => l.reason);
    return { queue, handler, logged };
  }

  /** A port on 127.0.0.1 that nothing listens on. */
  async function closedPort(): Promise<number> {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it('a refused connection: ECONNREFUSED in the retry reason, its log line and, at the last attempt, the dead-letter reason', async () => {
    const port = await closedPort();
    const { queue, handler, logged } = handlerFor(`http://127.0.0.1:${port}`, 2000);
    const reason = `Datadog POST /api/v2/cases failed: connection refused by 127.0.0.1:${port} (ECONNREFUSED)`;

    expect(await handler({ Records: [queued(pendingCase(1, { attempt: 1 }))] })).toEqual({ batchItemFailures: [] });
    expect(await handler({ Records: [queued(pendingCase(2, { attempt: MAX_ATTEMPTS - 1 }))] })).toEqual({ batchItemFailures: [] });

    expect(queue.retries.map((r) => r.reason)).toEqual([reason]);
    expect(logged('case deferred to the retry queue')).toEqual([reason]);
    expect(queue.deadLetters.map((d) => d.reason)).toEqual([`gave up after ${MAX_ATTEMPTS} attempts: ${reason}`]);
    expect(logged('case dead-lettered')).toEqual([`gave up after ${MAX_ATTEMPTS} attempts: ${reason}`]);
  });

  it('a server that never answers: the deadline and the host in the retry reason', async () => {
    dd = await startDatadogServer();
    dd.hangNext(1);
    const { queue, handler, logged } = handlerFor(dd.url, 300);
    const reason = `Datadog POST /api/v2/cases timed out after 300 ms without a response from ${new URL(dd.url).host}`;

    expect(await handler({ Records: [queued(pendingCase(3, { attempt: 1 }))] })).toEqual({ batchItemFailures: [] });

    expect(queue.retries.map((r) => r.reason)).toEqual([reason]);
    expect(logged('case deferred to the retry queue')).toEqual([reason]);
  });
});

describe('retry handler: time left between records (#13)', () => {
  it('starts no record with less than one record\'s worst case left, and reports the rest for redelivery', async () => {
    const logs: string[] = [];
    let left = 60_000;
    const handler = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: 'http://127.0.0.1:9' }),
      ledger: new MemoryLedger(),
      // Each record takes 12 s of the invocation (charged when it reads the secret).
      secrets: { get: async () => ((left -= 12_000), DD_KEYS), refresh: async () => DD_KEYS },
      queue: new MemoryActionQueue(),
      logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
    });
    const records = [1, 2, 3, 4, 5].map((n) =>
      sqsRecord(`m${n}`, encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action: outboxTrigger('alertmanager', `group/${n}`, Date.now()), reason: 'watchdog', enqueuedAt: Date.now() })),
    );

    const result = await handler({ Records: records }, () => left);

    // 60 s and 48 s left: two records start; with 36 s (< RECORD_START_MS) the other three go back to SQS.
    expect(RECORD_START_MS).toBeGreaterThan(36_000);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m3', 'm4', 'm5']);
    expect(left).toBe(36_000);
    const stopped = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['message'] === 'retry batch stopped: too little time left for another record; SQS will deliver the rest again');
    expect(stopped).toMatchObject({ level: 'warn', remainingMs: 36_000, records: 3 });
  });
});

describe('retry handler: a watchdog that finds the work done (#15, docs/cost.md)', () => {
  it('logs it at debug, so the info level writes no line for the watchdog every first firing arms', async () => {
    const run = async (level: 'info' | 'debug') => {
      const logs: string[] = [];
      const handler = createRetryHandler({
        datadog: createDatadogClient({ baseUrl: 'http://127.0.0.1:9' }),
        ledger: new MemoryLedger(),
        secrets: { get: async () => DD_KEYS, refresh: async () => DD_KEYS },
        queue: new MemoryActionQueue(),
        logger: createLogger({ level, write: (l) => logs.push(l) }),
      });
      const record = sqsRecord('m1', encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action: outboxTrigger('alertmanager', 'group/done', Date.now()), reason: 'watchdog', enqueuedAt: Date.now() }));
      const result = await handler({ Records: [record] }, () => 60_000);
      expect(result.batchItemFailures).toEqual([]);
      return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['message'] === 'alert outbox worked');
    };

    expect(await run('info')).toEqual([]);
    expect(await run('debug')).toEqual([expect.objectContaining({ level: 'debug', status: 'done', done: 0 })]);
  });
});
