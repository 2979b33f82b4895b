import { parseArgs } from 'node:util';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BridgeError } from '../lambda/shared/errors.js';
import * as z from '../lambda/shared/zod.js';
import { isAlarmStateChangeEvent } from '../lambda/sources/cloudwatch.js';
import type { JsonObject } from '../lambda/sources/types.js';

// `npm run resend-alarm-events`: the parts tests drive; scripts/resend-alarm-events.ts runs them.

export const USAGE = `usage: npm run resend-alarm-events -- --stack NAME [--region R] [--dry-run]
       npm run resend-alarm-events -- --queue-url URL --function-name NAME [--region R] [--dry-run]

Re-sends the CloudWatch alarm events the stack could not handle (docs/runbook.md#alarmeventsfailed)
to its ingest function, asynchronously as EventBridge does, and deletes each message once Lambda has
taken its event. A message is an EventBridge dead letter (the event itself) or a Lambda on-failure
record (the event under requestPayload). Safe to run again: the ledger knows each event by its id.

  --stack NAME       a deployed stack: the queue and function from its outputs AlarmEventsFailedQueueUrl
                     and IngestFunctionName (AWS credentials with sqs:ReceiveMessage/DeleteMessage on the
                     queue and lambda:InvokeFunction on the function)
  --queue-url URL    the queue, and --function-name NAME the function, without looking up a stack
  --dry-run          print each event's alarm, state and id; send and delete nothing`;

export class ResendUsageError extends BridgeError {}

export interface ResendCommand {
  readonly target: { readonly kind: 'stack'; readonly stack: string } | { readonly kind: 'direct'; readonly queueUrl: string; readonly functionName: string };
  readonly region: string | undefined;
  readonly dryRun: boolean;
}

export function parseResendCommand(argv: readonly string[]): ResendCommand | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      stack: { type: 'string' },
      'queue-url': { type: 'string' },
      'function-name': { type: 'string' },
      region: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const queueUrl = values['queue-url'];
  const functionName = values['function-name'];
  let target: ResendCommand['target'];
  if (values.stack !== undefined && queueUrl === undefined && functionName === undefined) target = { kind: 'stack', stack: values.stack };
  else if (values.stack === undefined && queueUrl !== undefined && functionName !== undefined) target = { kind: 'direct', queueUrl, functionName };
  else throw new ResendUsageError('give --stack NAME, or --queue-url URL with --function-name NAME');
  return { target, region: values.region, dryRun: values['dry-run'] };
}

/** A Lambda on-failure destination record: the event under requestPayload (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html). */
const OnFailureRecord = z.object({ requestContext: z.object({ condition: z.optional(z.string()) }), requestPayload: z.unknown() });

/** The alarm event a message of the queue holds, or why it holds none. */
export function alarmEventOf(body: string): { event: JsonObject } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { problem: 'the body is not JSON' };
  }
  const record = OnFailureRecord.safeParse(parsed);
  const event = record.success ? record.data.requestPayload : parsed;
  if (!isAlarmStateChangeEvent(event)) return { problem: `${record.success ? 'its requestPayload' : 'the body'} is not a CloudWatch alarm state change event` };
  return { event: event as JsonObject };
}

export interface ResendReport {
  /** Sent to the function and deleted from the queue (with dryRun: what would be, left in the queue). */
  readonly resent: readonly { readonly id: string; readonly alarm: string; readonly state: string }[];
  /** Messages left in the queue, and why. */
  readonly kept: readonly { readonly messageId: string; readonly problem: string }[];
}

/**
 * Receives the queue's messages ten at a time, invokes `functionName` with each one's event
 * (InvocationType Event) and deletes the message once Lambda accepted it (202). Messages without an
 * alarm event, or whose invocation Lambda refused, stay in the queue (visible again at the end).
 */
export async function resendAlarmEvents(options: { sqs: SQSClient; lambda: LambdaClient; queueUrl: string; functionName: string; dryRun?: boolean; log?: (line: string) => void }): Promise<ResendReport> {
  const { sqs, lambda, queueUrl, functionName } = options;
  const log = options.log ?? (() => {});
  const resent: { id: string; alarm: string; state: string }[] = [];
  const kept: { messageId: string; problem: string }[] = [];
  /** Received and left in the queue: visible again at the end. */
  const left: string[] = [];
  const keep = (messageId: string, receiptHandle: string, problem: string) => {
    kept.push({ messageId, problem });
    left.push(receiptHandle);
    log(`kept ${messageId}: ${problem}`);
  };
  for (;;) {
    // Hidden while this runs: a message handled once is not received again, a kept one not in a loop.
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      const messageId = m.MessageId ?? '?';
      const receiptHandle = m.ReceiptHandle ?? '';
      const found = alarmEventOf(m.Body ?? '');
      if ('problem' in found) {
        keep(messageId, receiptHandle, found.problem);
        continue;
      }
      const detail = (found.event['detail'] ?? {}) as { alarmName?: unknown; state?: { value?: unknown } };
      const item = { id: String(found.event['id']), alarm: String(detail.alarmName), state: String(detail.state?.value) };
      if (options.dryRun === true) {
        resent.push(item);
        left.push(receiptHandle);
        log(`would re-send ${item.alarm} ${item.state} (event ${item.id})`);
        continue;
      }
      let status: number | undefined;
      try {
        status = (await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(found.event)) }))).StatusCode;
      } catch (error) {
        keep(messageId, receiptHandle, `Lambda refused the invocation: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      if (status !== 202) {
        keep(messageId, receiptHandle, `Lambda answered ${status}, not 202`);
        continue;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
      resent.push(item);
      log(`re-sent ${item.alarm} ${item.state} (event ${item.id})`);
    }
  }
  // What stays is visible again at once, for the next look or run.
  for (let i = 0; i < left.length; i += 10) {
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: left.slice(i, i + 10).map((receiptHandle, j) => ({ Id: String(j), ReceiptHandle: receiptHandle, VisibilityTimeout: 0 })) }));
  }
  return { resent, kept };
}
