import type { MessageAttributeValue, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { awsConfigFromEnv, awsJsonClient, type AwsConfig } from '../shared/aws-request.js';
import { QueueError } from '../shared/errors.js';
import { encodeQueuedMessage, QUEUED_MESSAGE_VERSION, type ActionQueue, type OutboxTrigger, type PendingAction } from './queue.js';

/** SQS's largest DelaySeconds (15 minutes). */
export const SQS_MAX_DELAY_SECONDS = 900;
/** Reasons in message attributes are cut to this many characters (the body keeps the whole reason). */
const ATTRIBUTE_REASON_CHARS = 256;

/** SQS accepts whole seconds in [0, 900]. */
export function sqsDelaySeconds(delaySeconds: number): number {
  if (!Number.isFinite(delaySeconds) || delaySeconds <= 0) return 0;
  return Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil(delaySeconds));
}

/** A character SQS or fauxqs refuses: beyond U+FFFF (as its two halves, or a lone half), U+FFFE, U+FFFF, a control character but tab and line ends. */
const REFUSED = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const REFUSED_ALL = new RegExp(REFUSED.source, 'g');
function escapeUnits(match: string): string {
  let out = '';
  for (let i = 0; i < match.length; i++) out += `\\u${match.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * A message SQS takes, whatever text an alert carried. SQS refuses a message holding a character
 * outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF (InvalidMessageContents),
 * and fauxqs (the local bridge's queue) refuses everything beyond U+FFFF too: an emoji or a U+FFFF
 * in a title would make the message of its create unsendable, so the create could never be retried.
 * Those characters are written as JSON's `\uXXXX` escapes (a character beyond U+FFFF as its two
 * halves, as JSON.stringify writes a lone half): in a JSON body, JSON.parse reads the same string
 * back; an attribute (text for people) shows the escape. A queued message's body and its attributes
 * are then always what SQS takes.
 */
export function sqsText(value: string): string {
  return REFUSED.test(value) ? value.replace(REFUSED_ALL, escapeUnits) : value;
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value === '' ? '-' : sqsText(value) };
}

function cut(reason: string): string {
  if (reason.length <= ATTRIBUTE_REASON_CHARS) return reason;
  // Not between the two halves of a character beyond U+FFFF.
  const end = ATTRIBUTE_REASON_CHARS - 1 - (/[\uD800-\uDBFF]/.test(reason.charAt(ATTRIBUTE_REASON_CHARS - 2)) ? 1 : 0);
  return `${reason.slice(0, end)}…`;
}

export interface SqsActionQueueOptions {
  /**
   * The SQS client, or a function making it on first use: the ingest Lambda passes a function so
   * that loading the SQS SDK (about 90 ms) is paid only when Datadog fails, not at every cold start.
   */
  readonly client: SQSClient | (() => Promise<SQSClient>);
  /** SendMessage without the SDK client (the Lambda functions: lambdaSqsSend); the client is then not made. */
  readonly sendMessage?: SqsSend | undefined;
  readonly retryQueueUrl: string;
  readonly dlqUrl: string;
  /** Clock for `enqueuedAt`. @default Date.now */
  readonly now?: () => number;
}

/**
 * The retry queue and DLQ in SQS. `retry` sends a delayed message to the retry queue; `deadLetter`
 * sends it to the DLQ with the reason (in the body and an attribute). Failures throw QueueError.
 */
export class SqsActionQueue implements ActionQueue {
  readonly retryQueueUrl: string;
  readonly dlqUrl: string;
  private readonly client: SQSClient | (() => Promise<SQSClient>);
  private sdk: Promise<{ client: SQSClient; SendMessageCommand: typeof import('@aws-sdk/client-sqs').SendMessageCommand }> | undefined;
  private readonly now: () => number;
  private readonly sendMessage: SqsSend | undefined;

  constructor(options: SqsActionQueueOptions) {
    this.client = options.client;
    this.sendMessage = options.sendMessage;
    this.retryQueueUrl = options.retryQueueUrl;
    this.dlqUrl = options.dlqUrl;
    this.now = options.now ?? Date.now;
  }

  async retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void> {
    const body = sqsText(encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action, reason: options.reason, enqueuedAt: this.now() }));
    await this.send('retry queue', action.identity, {
      QueueUrl: this.retryQueueUrl,
      MessageBody: body,
      DelaySeconds: sqsDelaySeconds(options.delaySeconds),
      MessageAttributes: { source: text(action.source), attempt: { DataType: 'Number', StringValue: String(action.attempt) } },
    });
  }

  async arm(trigger: OutboxTrigger, options: { delaySeconds: number; reason: string }): Promise<void> {
    await this.retry(trigger, options);
  }

  async deadLetter(action: PendingAction, options: { reason: string }): Promise<void> {
    const body = sqsText(encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'dead_letter', action, reason: options.reason, enqueuedAt: this.now() }));
    await this.send('dead-letter queue', action.identity, {
      QueueUrl: this.dlqUrl,
      MessageBody: body,
      MessageAttributes: {
        source: text(action.source),
        attempt: { DataType: 'Number', StringValue: String(action.attempt) },
        reason: text(cut(options.reason)),
      },
    });
  }

  /**
   * Sends a message that cannot be read as a queued case to the DLQ unchanged (so an operator sees
   * exactly what arrived), with the reason as an attribute.
   */
  async deadLetterUnreadable(body: string, options: { reason: string; messageId?: string }): Promise<void> {
    await this.send('dead-letter queue', options.messageId ?? 'unreadable message', {
      QueueUrl: this.dlqUrl,
      MessageBody: body === '' ? ' ' : body,
      MessageAttributes: {
        reason: text(cut(options.reason)),
        unreadable: text('true'),
        ...(options.messageId !== undefined ? { originalMessageId: text(options.messageId) } : {}),
      },
    });
  }

  private async send(where: string, what: string, input: SendMessageCommandInput): Promise<void> {
    try {
      if (this.sendMessage !== undefined) return await this.sendMessage(input);
      this.sdk ??= (async () => {
        const { SendMessageCommand } = await import('../shared/sdk-sqs.js');
        return { client: typeof this.client === 'function' ? await this.client() : this.client, SendMessageCommand };
      })();
      const { client, SendMessageCommand } = await this.sdk;
      await client.send(new SendMessageCommand(input));
    } catch (cause) {
      throw new QueueError(`could not send ${what} to the ${where}: ${(cause as Error).message}`, { cause });
    }
  }
}

export type SqsSend = (input: SendMessageCommandInput) => Promise<void>;

/**
 * SendMessage over a signed request (lambda/shared/aws-request.ts): the JSON the SDK's client sends
 * (`X-Amz-Target: AmazonSQS.SendMessage`), to the queue URL's host as the client does (to the
 * configured endpoint when there is one).
 */
export function signedSqsSend(config: AwsConfig): SqsSend {
  const call = awsJsonClient(config, { service: 'sqs', endpointHost: 'sqs', targetPrefix: 'AmazonSQS', jsonVersion: '1.0', what: 'SQS', headers: { 'x-amzn-query-mode': 'true' } });
  return async (input) => {
    if (input.QueueUrl === undefined) throw new QueueError('SendMessage without a QueueUrl');
    await call('SendMessage', input, config.endpoint === undefined ? new URL('/', input.QueueUrl) : undefined);
  };
}

/** The Lambda functions' SendMessage from their environment (awsConfigFromEnv); undefined where the SDK client sends. */
export function lambdaSqsSend(env: NodeJS.ProcessEnv = process.env): SqsSend | undefined {
  const config = awsConfigFromEnv(env, 'SQS');
  return config === undefined ? undefined : signedSqsSend(config);
}

/** A queue that can also dead-letter a message it could not read (SqsActionQueue). */
export interface UnreadableMessageSink {
  deadLetterUnreadable(body: string, options: { reason: string; messageId?: string }): Promise<void>;
}
