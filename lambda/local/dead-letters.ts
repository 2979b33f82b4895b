import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { readQueuedMessage, type MemoryActionQueue } from '../delivery/queue.js';

/**
 * The dead-letter queue as the local console shows it (issue 16, item 6): each entry with what it was
 * (kind, alert, reason) and the journal record of the delivery it came from, when the message names
 * one, so that the console's replay button can run that delivery again through the current rules.
 */
export interface DeadLetter {
  /** The message id (SQS), or its index (in memory). */
  readonly id: string;
  readonly source: string | undefined;
  readonly kind: string | undefined;
  readonly identity: string | undefined;
  readonly reason: string;
  /** ms */
  readonly enqueuedAt: number | undefined;
  /** The delivery's journal record (`journalId` of the queued action), when the message has one. */
  readonly journalId: string | undefined;
}

export interface DeadLetters {
  /** The entries, oldest first, at most `max`. */
  list(max?: number): Promise<DeadLetter[]>;
  /** Deletes one entry (its work was done by a replay); false when it is gone already. */
  remove(id: string): Promise<boolean>;
}

function describe(id: string, body: string, fallbackReason: string | undefined): DeadLetter {
  const read = readQueuedMessage(body);
  if (!read.ok) return { id, source: undefined, kind: undefined, identity: undefined, reason: fallbackReason ?? read.reason, enqueuedAt: undefined, journalId: undefined };
  const { action, reason, enqueuedAt } = read.message;
  return { id, source: action.source, kind: action.kind, identity: action.identity, reason, enqueuedAt, journalId: action.journalId };
}

/** How long a listed message stays hidden before it is made visible again (it is made so at once). */
const PEEK_SECONDS = 10;

/**
 * The DLQ of an SQS endpoint (the local emulator). SQS has no peek: `list` receives the messages
 * and makes them visible again at once; `remove` receives until it finds the one and deletes it.
 */
export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly client: SQSClient,
    private readonly dlqUrl: string,
  ) {}

  private async receiveAll(max: number, stopAt?: (m: Message) => boolean): Promise<{ messages: Message[]; found: Message | undefined }> {
    const messages: Message[] = [];
    let found: Message | undefined;
    while (messages.length < max && found === undefined) {
      const out = await this.client.send(new ReceiveMessageCommand({ QueueUrl: this.dlqUrl, MaxNumberOfMessages: Math.min(10, max - messages.length), WaitTimeSeconds: 0, VisibilityTimeout: PEEK_SECONDS, MessageAttributeNames: ['All'] }));
      const got = out.Messages ?? [];
      if (got.length === 0) break;
      for (const m of got) {
        if (found === undefined && stopAt?.(m) === true) found = m;
        else messages.push(m);
      }
    }
    return { messages, found };
  }

  private async release(messages: readonly Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      await this.client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.dlqUrl, Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })) }));
    }
  }

  async list(max = 100): Promise<DeadLetter[]> {
    const { messages } = await this.receiveAll(max);
    await this.release(messages);
    return messages
      .map((m) => describe(m.MessageId ?? '', m.Body ?? '', m.MessageAttributes?.['reason']?.StringValue))
      .sort((a, b) => (a.enqueuedAt ?? 0) - (b.enqueuedAt ?? 0));
  }

  async remove(id: string): Promise<boolean> {
    const { messages, found } = await this.receiveAll(1000, (m) => m.MessageId === id);
    try {
      if (found === undefined) return false;
      await this.client.send(new DeleteMessageCommand({ QueueUrl: this.dlqUrl, ReceiptHandle: found.ReceiptHandle ?? '' }));
      return true;
    } finally {
      await this.release(messages);
    }
  }
}

/** The DLQ of a MemoryActionQueue (tests without the SQS emulator). */
export class MemoryDeadLetters implements DeadLetters {
  private readonly removed = new Set<number>();

  constructor(private readonly queue: MemoryActionQueue) {}

  async list(max = 100): Promise<DeadLetter[]> {
    return this.queue.deadLetters
      .map((d, i) => ({ d, i }))
      .filter(({ i }) => !this.removed.has(i))
      .slice(0, max)
      .map(({ d, i }) => ({ id: String(i), source: d.action.source, kind: d.action.kind, identity: d.action.identity, reason: d.reason, enqueuedAt: undefined, journalId: d.action.journalId }));
  }

  async remove(id: string): Promise<boolean> {
    const i = Number(id);
    if (!Number.isInteger(i) || i < 0 || i >= this.queue.deadLetters.length || this.removed.has(i)) return false;
    this.removed.add(i);
    return true;
  }
}
