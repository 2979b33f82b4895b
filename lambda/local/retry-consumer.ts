import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { Logger } from '../shared/log.js';

export interface RetryConsumerOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** ARN put on each record (`eventSourceARN`). @default derived from the URL */
  readonly queueArn?: string;
  /** The retry function's handler (lambda/retry/handler.ts). */
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  readonly logger: Logger;
  /** Long-poll wait of each ReceiveMessage. @default 1 */
  readonly waitTimeSeconds?: number;
  /** Batch size (the event source mapping's BatchSize, at most 10 here). @default 10 */
  readonly maxMessages?: number;
  /** Pollers running side by side (the event source mapping's MaximumConcurrency). @default 1 */
  readonly concurrency?: number;
}

export interface RetryConsumer {
  /** Aborts the in-flight poll, waits for the batch being handled to finish. */
  stop(): Promise<void>;
}

function toRecordAttributes(attributes: Message['Attributes']): SQSRecordAttributes {
  const a = attributes ?? {};
  return {
    ApproximateReceiveCount: a['ApproximateReceiveCount'] ?? '1',
    SentTimestamp: a['SentTimestamp'] ?? String(Date.now()),
    SenderId: a['SenderId'] ?? 'local',
    ApproximateFirstReceiveTimestamp: a['ApproximateFirstReceiveTimestamp'] ?? String(Date.now()),
    ...(a['MessageGroupId'] !== undefined ? { MessageGroupId: a['MessageGroupId'] } : {}),
    ...(a['MessageDeduplicationId'] !== undefined ? { MessageDeduplicationId: a['MessageDeduplicationId'] } : {}),
    ...(a['SequenceNumber'] !== undefined ? { SequenceNumber: a['SequenceNumber'] } : {}),
  };
}

function toMessageAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(attributes ?? {})) {
    out[name] = {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    };
  }
  return out;
}

/** `http://host/123456789012/name` -> `arn:aws:sqs:us-east-1:123456789012:name`. */
function arnFromUrl(queueUrl: string): string {
  const [account = '000000000000', name = 'queue'] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:us-east-1:${account}:${name}`;
}

/** The SQS event Lambda's event source mapping would build from these messages. */
export function toSqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  const region = queueArn.split(':')[3] ?? 'us-east-1';
  const Records: SQSRecord[] = messages.map((m) => ({
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: toRecordAttributes(m.Attributes),
    messageAttributes: toMessageAttributes(m.MessageAttributes),
    md5OfBody: m.MD5OfBody ?? '',
    ...(m.MD5OfMessageAttributes !== undefined ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  }));
  return { Records };
}

/**
 * Deletes the messages the handler did not report in batchItemFailures (what the event source
 * mapping does with ReportBatchItemFailures). Reported ones stay and come back after the visibility timeout.
 */
export async function settleBatch(
  target: { client: SQSClient; queueUrl: string; logger?: Logger },
  messages: readonly Pick<Message, 'MessageId' | 'ReceiptHandle'>[],
  result: SQSBatchResponse | undefined,
): Promise<number> {
  const failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  const done = messages.filter((m) => m.MessageId !== undefined && !failed.has(m.MessageId));
  if (done.length === 0) return 0;
  const out = await target.client.send(
    new DeleteMessageBatchCommand({ QueueUrl: target.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }),
  );
  for (const f of out.Failed ?? []) target.logger?.error('could not delete a handled retry message; it will be delivered again', { code: f.Code, message: f.Message });
  return done.length - (out.Failed ?? []).length;
}

const isAbort = (error: unknown): boolean => error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/**
 * Locally, what Lambda's SQS event source mapping does in AWS: long-poll the retry queue, hand each
 * batch to the retry handler, delete the records it did not report in batchItemFailures. Reported
 * records stay in the queue and come back after the visibility timeout; after maxReceiveCount the
 * queue's redrive policy moves them to the DLQ.
 */
export function startRetryConsumer(options: RetryConsumerOptions): RetryConsumer {
  const { client, queueUrl, handler, logger } = options;
  const queueArn = options.queueArn ?? arnFromUrl(queueUrl);
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const maxMessages = Math.min(10, Math.max(1, options.maxMessages ?? 10));
  const controller = new AbortController();
  let stopping = false;

  async function handleBatch(messages: Message[]): Promise<void> {
    let result: SQSBatchResponse;
    try {
      result = await handler(toSqsEvent(messages, queueArn));
    } catch (error) {
      // A thrown handler fails the whole batch, as in Lambda.
      logger.error('retry handler threw; the whole batch will be delivered again', { error, records: messages.length });
      return;
    }
    await settleBatch({ client, queueUrl, logger }, messages, result);
  }

  async function poll(worker: number): Promise<void> {
    while (!stopping) {
      try {
        const out = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: maxMessages,
            WaitTimeSeconds: waitTimeSeconds,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: controller.signal },
        );
        const messages = out.Messages ?? [];
        if (messages.length > 0) await handleBatch(messages);
      } catch (error) {
        if (stopping || isAbort(error)) return;
        logger.error('retry consumer poll failed; trying again in 1 s', { worker, error });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, (_, i) => poll(i));
  logger.info('retry consumer started', { queueUrl, waitTimeSeconds, maxMessages, concurrency: workers.length });
  return {
    async stop() {
      stopping = true;
      controller.abort();
      await Promise.allSettled(workers);
    },
  };
}
