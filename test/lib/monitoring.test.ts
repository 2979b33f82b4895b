import { Duration, Stack } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BRIDGE_METRICS, Monitoring, type MonitoringProps } from '../../lib/monitoring.js';
import { ConfigError } from '../../lambda/shared/errors.js';
import { fastApp } from './support.js';

function build(props: Partial<MonitoringProps> = {}) {
  const stack = new Stack(fastApp(), 'Test');
  const fn = (id: string) => new LambdaFunction(stack, id, { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = 1') });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    api: new HttpApi(stack, 'Api'),
    ingestFunction: fn('Ingest'),
    retryFunction: fn('Retry'),
    retryQueue: new Queue(stack, 'RetryQueue'),
    deadLetterQueue: new Queue(stack, 'Dlq'),
    sources: ['github', 'pagerduty'],
    ...props,
  });
  return { monitoring, template: Template.fromStack(stack), stack };
}

describe('Monitoring', () => {
  const { template } = build();

  it('alarms as soon as the DLQ holds a message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('Dlq'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms when the oldest retry is older than 900 s by default', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('RetryQueue'), 'QueueName'] } }],
      Threshold: 900,
    });
  });

  it.each([
    ['Errors', 1, 'GreaterThanOrEqualToThreshold'],
    ['Throttles', 0, 'GreaterThanThreshold'],
  ])('alarms on ingest %s', (metricName, threshold, comparison) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: metricName,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('Ingest') } }],
      Threshold: threshold,
      ComparisonOperator: comparison,
    });
  });

  it('alarms on the first 429 API Gateway answers (throttling), from the access-log metric of this API', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: BRIDGE_METRICS.namespace,
      MetricName: 'ApiThrottled',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: Match.stringLikeRegexp('Api') } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('runbook.md#apithrottled'),
    });
  });

  it('alarms on the first API 5xx by default, or at apiServerErrorThreshold', () => {
    const apiServerErrors = (t: Template) =>
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Dimensions: [{ Name: 'ApiId', Value: { Ref: Match.stringLikeRegexp('Api') } }],
        Statistic: 'Sum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmDescription: Match.stringLikeRegexp('runbook.md#apiservererrors'),
      });
    apiServerErrors(template);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx', Threshold: 1 });
    build({ apiServerErrorThreshold: 10 }).template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx', Threshold: 10 });
    expect(() => build({ apiServerErrorThreshold: 0 })).toThrow(ConfigError);
  });

  it('links every alarm to its own runbook section', () => {
    const runbook = readFileSync('docs/runbook.md', 'utf8');
    const anchors = new Set([...runbook.matchAll(/^## (\w+)$/gm)].map((m) => `#${m[1]!.toLowerCase()}`));
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) {
      const link = /runbook\.md(#\w+)/.exec(String(alarm.Properties.AlarmDescription))?.[1];
      expect(link !== undefined && anchors.has(link), `${String(alarm.Properties.AlarmDescription)}`).toBe(true);
    }
  });

  it('alarms on a spike of invalid signatures summed over every source', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 20,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'webhooksrejected0 + webhooksrejected1', ReturnData: true }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: BRIDGE_METRICS.namespace,
              MetricName: 'WebhooksRejected',
              Dimensions: [
                { Name: 'reason', Value: 'invalid_signature' },
                { Name: 'service', Value: 'case-bridge' },
                { Name: 'source', Value: 'pagerduty' },
              ],
            },
            Period: 300,
            Stat: 'Sum',
          }),
        }),
      ]),
    });
  });

  it('builds a dashboard with the bridge metrics and both queues', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(Object.keys(dashboards)).toHaveLength(1);
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardBody);
    for (const name of [...BRIDGE_METRICS.bySource, ...BRIDGE_METRICS.bySourceAndReason, 'ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'Throttles', 'Duration', '4xx', '5xx', 'ApiThrottled']) {
      expect(body).toContain(name);
    }
  });

  it('notifies nobody without a topic', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });

  it('creates an SSL-only topic for alarmEmail and points every alarm at it', () => {
    const { template: withEmail } = build({ alarmEmail: 'ops@example.com' });

    withEmail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    withEmail.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const alarms = Object.values(withEmail.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    }
  });

  it('uses an existing topic', () => {
    const stack = new Stack(fastApp(), 'Topic');
    const topic = Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:123456789012:ops');
    const { template: withTopic } = build({ alarmTopic: topic, retryBacklogAgeThreshold: Duration.minutes(30) });

    withTopic.resourceCountIs('AWS::SNS::Topic', 0);
    withTopic.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 1800, AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'] });
  });

  it('rejects alarmTopic with alarmEmail', () => {
    const stack = new Stack(fastApp(), 'Topic');
    const topic = Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:123456789012:ops');

    expect(() => build({ alarmTopic: topic, alarmEmail: 'ops@example.com' })).toThrow(ConfigError);
  });
});
