import {
  DeleteMessageBatchCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * Moving dead-lettered cases back to the retry queue once their cause is fixed.
 *
 * The DLQ holds two kinds of messages: those SQS moved there itself (a retry message received
 * maxReceiveCount times without success) and those the bridge SENT there (Datadog answered a
 * permanent 4xx, or the message was unreadable). StartMessageMoveTask without a destination returns
 * messages only to the queue SQS moved them from, which the second kind never had. So the
 * destination is always the retry queue, explicitly.
 */
export interface StartRedriveOptions {
  readonly client: SQSClient;
  /** ARN of the DLQ. */
  readonly sourceArn: string;
  /** ARN of the retry queue. */
  readonly destinationArn: string;
  /** Messages moved per second (SQS's default is as fast as it can, up to 500/s). */
  readonly maxPerSecond?: number;
}

/** SQS StartMessageMoveTask: returns the task handle (use it to cancel the task). */
export async function startRedrive(options: StartRedriveOptions): Promise<string> {
  const out = await options.client.send(
    new StartMessageMoveTaskCommand({
      SourceArn: options.sourceArn,
      DestinationArn: options.destinationArn,
      ...(options.maxPerSecond !== undefined ? { MaxNumberOfMessagesPerSecond: options.maxPerSecond } : {}),
    }),
  );
  return out.TaskHandle ?? '';
}

export interface MoveTaskStatus {
  readonly status: string | undefined;
  readonly moved: number | undefined;
  readonly toMove: number | undefined;
  readonly failureReason: string | undefined;
}

/** The most recent move tasks of the DLQ (ListMessageMoveTasks). */
export async function listRedrives(client: SQSClient, sourceArn: string): Promise<MoveTaskStatus[]> {
  const out = await client.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
  return (out.Results ?? []).map((r) => ({
    status: r.Status,
    moved: r.ApproximateNumberOfMessagesMoved,
    toMove: r.ApproximateNumberOfMessagesToMove,
    failureReason: r.FailureReason,
  }));
}

export interface CopyRedriveOptions {
  readonly client: SQSClient;
  readonly sourceUrl: string;
  readonly destinationUrl: string;
  /** Stop after this many messages. @default no limit */
  readonly max?: number;
}

/**
 * The same move done by hand (receive, send, delete), for SQS emulators without
 * StartMessageMoveTask (fauxqs). Body and message attributes are kept. Stops when a receive comes
 * back empty. A message is deleted from the source only after its copy was sent.
 */
export async function copyRedrive(options: CopyRedriveOptions): Promise<number> {
  const { client } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  let moved = 0;
  while (moved < max) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.sourceUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: options.destinationUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '', ...(m.MessageAttributes ? { MessageAttributes: m.MessageAttributes } : {}) })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = messages.map((m, i) => ({ m, id: String(i) })).filter(({ id }) => ok.has(id));
    if (done.length > 0) {
      await client.send(new DeleteMessageBatchCommand({ QueueUrl: options.sourceUrl, Entries: done.map(({ m, id }) => ({ Id: id, ReceiptHandle: m.ReceiptHandle ?? '' })) }));
    }
    moved += done.length;
    if ((sent.Failed ?? []).length > 0) {
      throw new Error(`could not copy ${(sent.Failed ?? []).length} message(s): ${(sent.Failed ?? []).map((f) => f.Message).join('; ')}`);
    }
  }
  return moved;
}
