import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ALARM_DETAIL_TYPE } from '../lambda/sources/cloudwatch.js';

export interface AlarmEventsProps {
  /** The ingest function: it recognises the event and runs it as source `cloudwatch` (lambda/ingest/index.ts). */
  readonly ingestFunction: IFunction;
  /** Only alarms whose name starts with this. @default - every alarm of the account and Region */
  readonly alarmNamePrefix?: string;
}

/**
 * CloudWatch alarms of the stack's own account and Region as cases: an EventBridge rule on
 * `CloudWatch Alarm State Change` invoking the ingest function (IAM: the rule's resource-based
 * permission on the function; no HTTP, no signature). Lambda invokes it asynchronously and retries a
 * failed invocation twice; an event older than an hour is dropped (IngestErrors alarms on failures).
 */
export class AlarmEvents extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: AlarmEventsProps) {
    super(scope, id);
    this.rule = new Rule(this, 'AlarmStateChange', {
      description: 'case-bridge: CloudWatch alarm state changes to the ingest function (source cloudwatch)',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: [ALARM_DETAIL_TYPE],
        ...(props.alarmNamePrefix === undefined ? {} : { detail: { alarmName: [{ prefix: props.alarmNamePrefix }] } }),
      },
      targets: [new LambdaFunction(props.ingestFunction, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
  }
}
