import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localSqsClient, startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { QueueError } from '../../lambda/shared/errors.js';
import { signedSqsSend, SqsActionQueue, sqsDelaySeconds } from '../../lambda/delivery/sqs-queue.js';
import { encodeQueuedMessage, readQueuedMessage } from '../../lambda/delivery/queue.js';
import { caseRequest, pendingCase, queueDepth, receive, waitFor } from '../support/fauxqs.js';

// SqsActionQueue against fauxqs: the real SQS JSON protocol through the AWS SDK, no mocks.

let sqs: LocalSqs;
let queue: SqsActionQueue;

beforeAll(async () => {
  sqs = await startLocalSqs();
  queue = new SqsActionQueue({ client: sqs.client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl, now: () => Date.parse('2026-02-03T04:05:06.789Z') });
});

afterAll(async () => {
  await sqs.close();
});

beforeEach(async () => {
  // Each test starts with empty queues (receive-and-forget is enough: nothing is redelivered within a test).
  for (const url of [sqs.retryQueueUrl, sqs.dlqUrl]) while ((await receive(sqs.client, url, { visibilityTimeout: 600 })).length > 0);
});

describe('SqsActionQueue.retry', () => {
  it('sends a versioned message that is invisible until its delay has passed, then carries the whole action', async () => {
    const action = pendingCase(1, { attempt: 2 });
    const sentAt = Date.now();

    await queue.retry(action, { delaySeconds: 2, reason: 'Datadog POST /api/v2/cases answered 429' });

    expect(await receive(sqs.client, sqs.retryQueueUrl)).toEqual([]);
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ delayed: 1, visible: 0 });
    let messages: Awaited<ReturnType<typeof receive>> = [];
    await waitFor(async () => (messages = await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 1 })).length > 0, 5000);
    const visibleAfter = Date.now() - sentAt;
    expect(visibleAfter).toBeGreaterThanOrEqual(1900);
    expect(visibleAfter).toBeLessThan(4000);
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(JSON.parse(m?.Body ?? '')).toEqual({
      v: 1,
      disposition: 'retry',
      // Times travel as ISO 8601.
      action: { ...action, firstSeen: '2026-01-02T03:04:05.678Z' },
      reason: 'Datadog POST /api/v2/cases answered 429',
      enqueuedAt: '2026-02-03T04:05:06.789Z',
    });
    expect(readQueuedMessage(m?.Body ?? '')).toEqual({ ok: true, message: expect.objectContaining({ action }) });
    expect(m?.MessageAttributes?.['source']).toMatchObject({ DataType: 'String', StringValue: 'generic' });
    expect(m?.MessageAttributes?.['attempt']).toMatchObject({ DataType: 'Number', StringValue: '2' });
  });

  it('sends a zero delay at once', async () => {
    await queue.retry(pendingCase(2), { delaySeconds: 0, reason: 'now' });
    expect(await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 1 })).toHaveLength(1);
  });

  it('caps the delay at SQS\'s 900 s and rounds it up to whole seconds', async () => {
    expect(sqsDelaySeconds(5000)).toBe(900);
    expect(sqsDelaySeconds(2.2)).toBe(3);
    expect(sqsDelaySeconds(0)).toBe(0);
    expect(sqsDelaySeconds(-1)).toBe(0);
    expect(sqsDelaySeconds(Number.NaN)).toBe(0);
    // SQS would refuse DelaySeconds 5000 (InvalidParameterValue): the queue sends 900 instead.
    await queue.retry(pendingCase(3), { delaySeconds: 5000, reason: 'far away' });
    expect(await queueDepth(sqs.client, sqs.retryQueueUrl)).toMatchObject({ delayed: 1 });
  });

  it('keeps a missing delivery id missing', async () => {
    const action = pendingCase(4, { deliveryId: undefined });
    await queue.retry(action, { delaySeconds: 0, reason: 'r' });
    const [m] = await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 1 });
    const read = readQueuedMessage(m?.Body ?? '');
    expect(read.ok && read.message.action).toEqual(action);
  });
});

describe('SqsActionQueue: any text an alert carries', () => {
  // SQS refuses a message holding a character outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
  // #x10000-#x10FFFF (InvalidMessageContents), and fauxqs (npm start) refuses #x10000 and above too. An
  // alert's title may hold any of them: a queue that cannot take its message cannot retry it, and its
  // case is never made. Every text below must travel and come back unchanged.
  const texts = ['fire \u{1F525} on db-1', 'noncharacters \uFFFE \uFFFF', 'a lone half \uD83D of an emoji', 'controls \u0001\u007F\u0085', 'Störung ✓ 日本'];
  const SQS_ALLOWS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD]*$/;

  it.each([
    ['the SDK client (scripts, the local bridge)', (): SqsActionQueue => queue],
    ['signed requests (the Lambda functions)', (): SqsActionQueue => new SqsActionQueue({ client: sqs.client, sendMessage: signedSqsSend({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, endpoint: sqs.endpoint }), retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl })],
  ])('queues and dead-letters them, and reads the same action back, through %s', async (_how, make) => {
    const q = make();
    for (const [i, text] of texts.entries()) {
      const action = pendingCase(40 + i, { identity: `check/${text}`, request: caseRequest(text) });
      await q.retry(action, { delaySeconds: 0, reason: `Datadog answered 429 for ${text}` });
      await q.deadLetter(action, { reason: `Datadog answered 400 for ${text}` });
      const [retried] = await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 1 });
      const [dead] = await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 });
      for (const m of [retried, dead]) {
        expect(m?.Body).toMatch(SQS_ALLOWS);
        const read = readQueuedMessage(m?.Body ?? '');
        expect(read.ok && read.message.action).toEqual(action);
      }
      expect(readQueuedMessage(retried?.Body ?? '')).toMatchObject({ ok: true, message: { reason: `Datadog answered 429 for ${text}` } });
      expect(dead?.MessageAttributes?.['reason']?.StringValue).toMatch(SQS_ALLOWS);
    }
  });

  it('cuts a long reason for its attribute without leaving half of a character', async () => {
    const reason = `${'x'.repeat(254)}\u{1F525}${'y'.repeat(10)}`;
    await queue.deadLetter(pendingCase(50), { reason });
    const [m] = await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 });
    expect(m?.MessageAttributes?.['reason']?.StringValue).toMatch(SQS_ALLOWS);
    expect(m?.MessageAttributes?.['reason']?.StringValue?.startsWith('x'.repeat(254))).toBe(true);
    expect((JSON.parse(m?.Body ?? '') as { reason: string }).reason).toBe(reason);
  });
});

describe('SqsActionQueue.deadLetter', () => {
  it('sends the action to the DLQ at once, with the reason in the body and as an attribute', async () => {
    const action = pendingCase(5, { attempt: 1 });
    const reason = 'Datadog POST /api/v2/cases answered 400: 400 Bad Request type_id is not a case type of this org';

    await queue.deadLetter(action, { reason });

    const messages = await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 });
    expect(messages).toHaveLength(1);
    const body = JSON.parse(messages[0]?.Body ?? '') as Record<string, unknown>;
    expect(body).toEqual({ v: 1, disposition: 'dead_letter', action: { ...action, firstSeen: '2026-01-02T03:04:05.678Z' }, reason, enqueuedAt: '2026-02-03T04:05:06.789Z' });
    expect(messages[0]?.MessageAttributes?.['reason']?.StringValue).toBe(reason);
    expect(messages[0]?.MessageAttributes?.['source']?.StringValue).toBe('generic');
    expect(await receive(sqs.client, sqs.retryQueueUrl)).toEqual([]);
  });

  it('cuts a long reason in the attribute but keeps it whole in the body', async () => {
    const reason = `x${'y'.repeat(2000)}`;
    await queue.deadLetter(pendingCase(6), { reason });
    const [m] = await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 });
    expect((JSON.parse(m?.Body ?? '') as { reason: string }).reason).toBe(reason);
    expect(m?.MessageAttributes?.['reason']?.StringValue).toHaveLength(256);
  });

  it('dead-letters an unreadable body unchanged, with the reason as an attribute', async () => {
    await queue.deadLetterUnreadable('{not json', { reason: 'unreadable message: body is not JSON', messageId: 'm-1' });
    const [m] = await receive(sqs.client, sqs.dlqUrl, { waitTimeSeconds: 1 });
    expect(m?.Body).toBe('{not json');
    expect(m?.MessageAttributes?.['reason']?.StringValue).toBe('unreadable message: body is not JSON');
    expect(m?.MessageAttributes?.['originalMessageId']?.StringValue).toBe('m-1');
  });
});

describe('SqsActionQueue failures', () => {
  it('throws QueueError with the SDK error as cause when the queue does not exist', async () => {
    const broken = new SqsActionQueue({ client: sqs.client, retryQueueUrl: `${sqs.endpoint}/000000000000/no-such-queue`, dlqUrl: `${sqs.endpoint}/000000000000/no-such-dlq` });

    const retry = broken.retry(pendingCase(7), { delaySeconds: 1, reason: 'r' });
    await expect(retry).rejects.toBeInstanceOf(QueueError);
    await expect(retry).rejects.toThrow(/check\/7.*retry queue/);
    const error = await broken.deadLetter(pendingCase(7), { reason: 'r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect((error as QueueError).cause).toMatchObject({ name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/) });
  });

  it('throws QueueError when SQS cannot be reached', async () => {
    const client = localSqsClient('http://127.0.0.1:9'); // discard port: connection refused
    try {
      const unreachable = new SqsActionQueue({ client, retryQueueUrl: sqs.retryQueueUrl, dlqUrl: sqs.dlqUrl });
      const error = await unreachable.retry(pendingCase(8), { delaySeconds: 1, reason: 'r' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueueError);
      expect((error as QueueError).cause).toBeInstanceOf(Error);
    } finally {
      client.destroy();
    }
  });
});

describe('readQueuedMessage', () => {
  const good = encodeQueuedMessage({ v: 1, disposition: 'retry', action: pendingCase(9), reason: 'r', enqueuedAt: Date.parse('2026-01-01T00:00:00.000Z') });

  it('reads back what the queue writes', () => {
    expect(readQueuedMessage(good)).toMatchObject({ ok: true, message: { action: pendingCase(9) } });
  });

  it('reads the messages deployed queues hold: each kind, and a create written before the ledger fields', () => {
    const request = caseRequest('Disk full');
    const policy = { comment_interval_seconds: 900, on_resolve: 'close', reopen_window_seconds: 86400, never_reopen_statuses: ["WON'T FIX"], on_informational: 'ignore', create_intent_timeout_seconds: 300, verify_case_status: true, close_status: 'CLOSED', reopen_status: 'OPEN' };
    const base = { source: 'alertmanager', deliveryId: 'd1', identity: 'alert-1', rule: 'disk', attempt: 1, firstSeen: '2026-01-01T00:00:00.000Z' };
    const actions = [
      { kind: 'create_case', ...base, request },
      { kind: 'create_case', ...base, request, intentId: 'i.1', marker: 'cb-123', ambiguous: true, ambiguousAt: '2026-01-01T00:00:01.000Z' },
      { kind: 'comment', ...base, caseId: 'c1', text: 'Fired again', occurrences: 2 },
      { kind: 'set_status', ...base, caseId: 'c1', status: 'CLOSED' },
      { kind: 'lifecycle_event', ...base, signal: 'resolved', occurredAt: '2026-01-01T00:00:02.000Z', summary: 'alert.resolved', request, policy },
    ];
    for (const action of actions) {
      const body = JSON.stringify({ v: 1, disposition: 'retry', action, reason: 'HTTP 503', enqueuedAt: '2026-01-01T00:00:03.000Z' });
      const read = readQueuedMessage(body);
      if (!read.ok) throw new Error(read.reason);
      // Times are ms in memory; written back, the message is the one that was read, with the
      // defaults of the policy keys added since (on_note, #17).
      expect(read.message).toMatchObject({ enqueuedAt: Date.parse('2026-01-01T00:00:03.000Z'), action: { firstSeen: Date.parse(base.firstSeen) } });
      const expected = JSON.parse(body) as { action: { policy?: object } };
      if (expected.action.policy !== undefined) expected.action.policy = { ...expected.action.policy, on_note: 'comment' };
      expect(JSON.parse(encodeQueuedMessage(read.message))).toEqual(expected);
    }
  });

  it('writes "no rule" as the empty string every version wrote, and reads it back as no rule', () => {
    const body = encodeQueuedMessage({ v: 1, disposition: 'retry', action: pendingCase(3, { rule: undefined }), reason: 'r', enqueuedAt: Date.parse('2026-01-01T00:00:00.000Z') });
    expect((JSON.parse(body) as { action: { rule: unknown } }).action.rule).toBe('');
    const read = readQueuedMessage(body);
    expect(read.ok && read.message.action.rule).toBeUndefined();
    expect(read.ok && 'rule' in read.message.action).toBe(true);
  });

  it.each([
    ['not JSON', '{oops', /not JSON/],
    ['another version', good.replace('"v":1', '"v":2'), /v: /],
    ['a request Datadog would refuse', good.replace('"type":"case"', '"type":"incident"'), /action\.request\.data\.type/],
    ['an unknown source', good.replace('"source":"generic"', '"source":"nagios"'), /action\.source/],
    ['extra fields', good.replace('"v":1', '"v":1,"extra":true'), /extra|Unrecognized/i],
  ])('refuses %s', (_name, body, why) => {
    const read = readQueuedMessage(body);
    expect(read.ok).toBe(false);
    expect(!read.ok && read.reason).toMatch(why);
  });

  it('a message sent by hand with the SDK is read as SQS delivers it', async () => {
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.retryQueueUrl, MessageBody: good }));
    const [m] = await receive(sqs.client, sqs.retryQueueUrl, { waitTimeSeconds: 1 });
    expect(readQueuedMessage(m?.Body ?? '').ok).toBe(true);
  });
});
