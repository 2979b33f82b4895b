import type { MessageAttributeValue, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { caseSchemas } from '../datadog/schema.js';
import { lifecycleSchemas } from '../lifecycle/policy.js';
import { SIGNALS, SOURCE_NAMES } from '../sources/types.js';
import { QueueError } from '../shared/errors.js';
import { isoTime } from '../shared/time.js';
import type { ActionQueue, PendingAction, PendingCase } from './queue.js';
import * as z from '../shared/zod.js';

/** SQS's largest DelaySeconds (15 minutes). */
export const SQS_MAX_DELAY_SECONDS = 900;
/** Version of the message body; a reader refuses versions it does not know. */
export const QUEUED_MESSAGE_VERSION = 1;
/** Reasons in message attributes are cut to this many characters (the body keeps the whole reason). */
const ATTRIBUTE_REASON_CHARS = 256;

/**
 * Where the message was headed when it was written: `retry` (the retry queue) or `dead_letter` (sent to
 * the DLQ by the bridge). A `dead_letter` message read by the retry handler was redriven by an operator.
 */
export const DISPOSITIONS = ['retry', 'dead_letter'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** The message schemas, built on first use: the ingest function only writes messages (about 1 ms of
 * cold start, and they pull in the Datadog request schema). */
const queuedMessageSchema = z.lazily(() => {
  const NonEmpty = z.string().check(z.minLength(1));

  const PendingCaseSchema = z.strictObject({
    kind: z.literal('create_case'),
    source: z.enum(SOURCE_NAMES),
    deliveryId: z.optional(z.string()),
    identity: NonEmpty,
    rule: z.string(),
    request: caseSchemas().CaseCreateRequest,
    attempt: z.number().check(z.int(), z.minimum(0)),
    firstSeen: z.string(),
    // Issue 4; optional so that messages written before them still parse.
    intentId: z.optional(z.string()),
    marker: z.optional(z.string()),
    ambiguous: z.optional(z.boolean()),
    ambiguousAt: z.optional(z.string()),
  });

  const PendingBaseShape = {
    source: z.enum(SOURCE_NAMES),
    deliveryId: z.optional(z.string()),
    identity: NonEmpty,
    rule: z.string(),
    attempt: z.number().check(z.int(), z.minimum(0)),
    firstSeen: z.string(),
  };

  const PendingCommentSchema = z.strictObject({
    kind: z.literal('comment'),
    ...PendingBaseShape,
    caseId: NonEmpty,
    text: NonEmpty,
    occurrences: z.optional(z.number().check(z.int(), z.minimum(0))),
  });

  const PendingStatusSchema = z.strictObject({
    kind: z.literal('set_status'),
    ...PendingBaseShape,
    caseId: NonEmpty,
    status: NonEmpty,
  });

  const PendingEventSchema = z.strictObject({
    kind: z.literal('lifecycle_event'),
    ...PendingBaseShape,
    signal: z.enum(SIGNALS),
    occurredAt: z.string(),
    summary: z.string(),
    request: z.optional(caseSchemas().CaseCreateRequest),
    policy: lifecycleSchemas().policy,
  });

  const PendingActionSchema = z.discriminatedUnion('kind', [PendingCaseSchema, PendingCommentSchema, PendingStatusSchema, PendingEventSchema]);

  /** The body of every message on the retry queue and the DLQ: everything needed to finish the work. */
  const QueuedMessageSchema = z.strictObject({
    v: z.literal(QUEUED_MESSAGE_VERSION),
    disposition: z.enum(DISPOSITIONS),
    action: PendingActionSchema,
    /** Why the action was queued (the Datadog answer). */
    reason: z.string(),
    /** When this message was written (ISO 8601). */
    enqueuedAt: z.string(),
  });
  return QueuedMessageSchema;
});

export interface QueuedMessage {
  readonly v: typeof QUEUED_MESSAGE_VERSION;
  readonly disposition: Disposition;
  readonly action: PendingAction;
  readonly reason: string;
  readonly enqueuedAt: string;
}

export type ReadResult = { readonly ok: true; readonly message: QueuedMessage } | { readonly ok: false; readonly reason: string };

/** Parses a message body written by SqsActionQueue. Never throws. */
export function readQueuedMessage(body: string): ReadResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: `body is not JSON: ${(error as Error).message}` };
  }
  const parsed = queuedMessageSchema().safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return { ok: false, reason: `body is not a v${QUEUED_MESSAGE_VERSION} queued case: ${issues.join('; ')}` };
  }
  const m = parsed.data;
  const a = m.action;
  // The in-memory shape always has `deliveryId` (JSON drops it when undefined).
  const base = { source: a.source, deliveryId: a.deliveryId, identity: a.identity, rule: a.rule, attempt: a.attempt, firstSeen: a.firstSeen };
  let action: PendingAction;
  if (a.kind === 'create_case') {
    const create: PendingCase = {
      kind: a.kind,
      ...base,
      request: a.request,
      ...(a.intentId !== undefined ? { intentId: a.intentId } : {}),
      ...(a.marker !== undefined ? { marker: a.marker } : {}),
      ...(a.ambiguous !== undefined ? { ambiguous: a.ambiguous } : {}),
      ...(a.ambiguousAt !== undefined ? { ambiguousAt: a.ambiguousAt } : {}),
    };
    action = create;
  } else if (a.kind === 'comment') {
    action = { kind: a.kind, ...base, caseId: a.caseId, text: a.text, ...(a.occurrences !== undefined ? { occurrences: a.occurrences } : {}) };
  } else if (a.kind === 'lifecycle_event') {
    action = { kind: a.kind, ...base, signal: a.signal, occurredAt: a.occurredAt, summary: a.summary, ...(a.request !== undefined ? { request: a.request } : {}), policy: a.policy };
  } else {
    action = { kind: a.kind, ...base, caseId: a.caseId, status: a.status };
  }
  return { ok: true, message: { v: m.v, disposition: m.disposition, action, reason: m.reason, enqueuedAt: m.enqueuedAt } };
}

export function encodeQueuedMessage(message: QueuedMessage): string {
  return JSON.stringify(message);
}

/** SQS accepts whole seconds in [0, 900]. */
export function sqsDelaySeconds(delaySeconds: number): number {
  if (!Number.isFinite(delaySeconds) || delaySeconds <= 0) return 0;
  return Math.min(SQS_MAX_DELAY_SECONDS, Math.ceil(delaySeconds));
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}

function cut(reason: string): string {
  return reason.length > ATTRIBUTE_REASON_CHARS ? `${reason.slice(0, ATTRIBUTE_REASON_CHARS - 1)}…` : reason;
}

export interface SqsActionQueueOptions {
  /**
   * The SQS client, or a function making it on first use: the ingest Lambda passes a function so
   * that loading the SQS SDK (about 90 ms) is paid only when Datadog fails, not at every cold start.
   */
  readonly client: SQSClient | (() => Promise<SQSClient>);
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

  constructor(options: SqsActionQueueOptions) {
    this.client = options.client;
    this.retryQueueUrl = options.retryQueueUrl;
    this.dlqUrl = options.dlqUrl;
    this.now = options.now ?? Date.now;
  }

  async retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void> {
    const body = encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action, reason: options.reason, enqueuedAt: isoTime(this.now()) });
    await this.send('retry queue', action.identity, {
      QueueUrl: this.retryQueueUrl,
      MessageBody: body,
      DelaySeconds: sqsDelaySeconds(options.delaySeconds),
      MessageAttributes: { source: text(action.source), attempt: { DataType: 'Number', StringValue: String(action.attempt) } },
    });
  }

  async deadLetter(action: PendingAction, options: { reason: string }): Promise<void> {
    const body = encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'dead_letter', action, reason: options.reason, enqueuedAt: isoTime(this.now()) });
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
      this.sdk ??= (async () => {
        const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
        return { client: typeof this.client === 'function' ? await this.client() : this.client, SendMessageCommand };
      })();
      const { client, SendMessageCommand } = await this.sdk;
      await client.send(new SendMessageCommand(input));
    } catch (cause) {
      throw new QueueError(`could not send ${what} to the ${where}: ${(cause as Error).message}`, { cause });
    }
  }
}

/** A queue that can also dead-letter a message it could not read (SqsActionQueue). */
export interface UnreadableMessageSink {
  deadLetterUnreadable(body: string, options: { reason: string; messageId?: string }): Promise<void>;
}
