import { GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { toSqsEvent } from '../../lambda/local/retry-consumer.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import type { PendingCase } from '../../lambda/delivery/queue.js';

export const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly total: number;
}

/** ApproximateNumberOfMessages{,NotVisible,Delayed} (exact in fauxqs). */
export async function queueDepth(client: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const n = (name: QueueAttributeName) => Number(out.Attributes?.[name] ?? 0);
  const visible = n('ApproximateNumberOfMessages');
  const inFlight = n('ApproximateNumberOfMessagesNotVisible');
  const delayed = n('ApproximateNumberOfMessagesDelayed');
  return { visible, inFlight, delayed, total: visible + inFlight + delayed };
}

/** One ReceiveMessage (up to 10) with every attribute. */
export async function receive(client: SQSClient, queueUrl: string, options: { waitTimeSeconds?: number; max?: number; visibilityTimeout?: number } = {}): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.max ?? 10,
      WaitTimeSeconds: options.waitTimeSeconds ?? 0,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
      ...(options.visibilityTimeout !== undefined ? { VisibilityTimeout: options.visibilityTimeout } : {}),
    }),
  );
  return out.Messages ?? [];
}

/** Receives until `count` messages arrived or `timeoutMs` passed; returns them as the SQS event Lambda would get. */
export async function receiveEvent(client: SQSClient, queueUrl: string, count: number, timeoutMs = 10_000): Promise<SQSEvent> {
  const deadline = Date.now() + timeoutMs;
  const messages: Message[] = [];
  while (messages.length < count && Date.now() < deadline) {
    messages.push(...(await receive(client, queueUrl, { waitTimeSeconds: 1, max: Math.min(10, count - messages.length) })));
  }
  return toSqsEvent(messages, 'arn:aws:sqs:us-east-1:000000000000:case-bridge-retry');
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passed. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function caseRequest(title: string): CaseCreateRequest {
  return {
    data: {
      type: 'case',
      attributes: { title, type_id: '00000000-0000-0000-0000-000000000001', description: `test case ${title}`, priority: 'P3' },
      relationships: { project: { data: { id: '00000000-0000-0000-0000-000000000000', type: 'project' } } },
    },
  };
}

export function pendingCase(n: number, overrides: Partial<PendingCase> = {}): PendingCase {
  return {
    kind: 'create_case',
    source: 'generic',
    deliveryId: `delivery-${n}`,
    identity: `check/${n}`,
    rule: 'test rule',
    request: caseRequest(`case ${n}`),
    attempt: 0,
    firstSeen: Date.parse('2026-01-02T03:04:05.678Z'),
    ...overrides,
  };
}
