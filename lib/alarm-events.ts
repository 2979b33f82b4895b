import { Duration, Validations } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARM_DETAIL_TYPE } from '../lambda/sources/cloudwatch.js';

export interface AlarmEventsProps {
  /** The ingest function: it recognises the event and runs it as source `cloudwatch` (lambda/ingest/index.ts). */
  readonly ingestFunction: IFunction;
  /** Only alarms whose name starts with this. @default - every alarm of the account and Region */
  readonly alarmNamePrefix?: string;
}

/** Retries and age of both hops: EventBridge's delivery to Lambda, and Lambda's asynchronous invocation. */
export const ALARM_EVENT_RETRY_ATTEMPTS = 2;
export const ALARM_EVENT_MAX_AGE = Duration.hours(1);

/**
 * CloudWatch alarms of the stack's own account and Region as cases: an EventBridge rule on
 * `CloudWatch Alarm State Change` invoking the ingest function asynchronously (IAM: the rule's
 * resource-based permission on the function; no HTTP, no signature).
 *
 * Nothing accepted is lost: an event EventBridge could not hand to Lambda (after its retries, or at
 * once for a missing permission) goes to `failedQueue` as the event itself (the target's dead-letter
 * queue), and an invocation that failed three times (the ingest entry throws when the event could
 * not be written ahead) or aged out of Lambda's queue goes there as an on-failure destination
 * record, the event under `requestPayload`. docs/runbook.md#alarmeventsfailed re-sends them.
 * The asynchronous invocation settings apply only to asynchronous invocations: API Gateway invokes
 * the function synchronously and is not affected.
 */
export class AlarmEvents extends Construct {
  readonly rule: Rule;
  /** Alarm events that could not be handled (SSE, TLS only, 14 days). */
  readonly failedQueue: Queue;

  constructor(scope: Construct, id: string, props: AlarmEventsProps) {
    super(scope, id);
    this.failedQueue = new Queue(this, 'FailedQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failedQueue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue and on-failure destination of the alarm events; operators re-send its events (docs/runbook.md#alarmeventsfailed).' });

    // SendMessage for events.amazonaws.com from this rule only (the queue's policy).
    this.rule = new Rule(this, 'AlarmStateChange', {
      description: 'case-bridge: CloudWatch alarm state changes to the ingest function (source cloudwatch)',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: [ALARM_DETAIL_TYPE],
        ...(props.alarmNamePrefix === undefined ? {} : { detail: { alarmName: [{ prefix: props.alarmNamePrefix }] } }),
      },
      targets: [new LambdaFunction(props.ingestFunction, { retryAttempts: ALARM_EVENT_RETRY_ATTEMPTS, maxEventAge: ALARM_EVENT_MAX_AGE, deadLetterQueue: this.failedQueue })],
    });
    // SendMessage on this queue for the function's role (SqsDestination's grant).
    props.ingestFunction.configureAsyncInvoke({ onFailure: new SqsDestination(this.failedQueue), retryAttempts: ALARM_EVENT_RETRY_ATTEMPTS, maxEventAge: ALARM_EVENT_MAX_AGE });
  }
}
