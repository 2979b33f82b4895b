import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { stackFromContext } from '../../lib/app-context.js';
import { BridgeStack } from '../../lib/bridge-stack.js';
import { fastApp, policyStatements, PRESETS } from './support.js';

// Issue 17: CloudWatch alarms of the stack's own account by EventBridge (off unless the context
// says so), and a silence alarm per source that sets silence_alarm_minutes.

function rulesWith(edit: (rules: { sources: Record<string, { settings?: Record<string, unknown> } | undefined> }) => void): string {
  const rules = parseYaml(readFileSync(PRESETS, 'utf8')) as { sources: Record<string, { settings?: Record<string, unknown> } | undefined> };
  edit(rules);
  const file = join(mkdtempSync(join(tmpdir(), 'case-bridge-rules-')), 'rules.yaml');
  writeFileSync(file, stringify(rules));
  return file;
}

function silenceAlarmsOf(template: Template) {
  return template.findResources('AWS::CloudWatch::Alarm', { Properties: { Metrics: [{ MetricStat: { Metric: { MetricName: 'WebhooksVerified' } } }] } });
}

describe('alarm events (EventBridge)', () => {
  it('makes no rule by default, and none of what recovers its events', () => {
    const template = Template.fromStack(new BridgeStack(fastApp(), 'Off', { rulesFile: PRESETS }));
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    // The retry queue and its DLQ only.
    template.resourceCountIs('AWS::SQS::Queue', 2);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.includes('AlarmEventsFailed'))).toEqual([]);
    expect(Object.keys(template.findOutputs('*'))).not.toContain('AlarmEventsFailedQueueUrl');
  });

  it('with alarmEvents and a prefix: a rule on CloudWatch Alarm State Change for that prefix, invoking the ingest function, which it may invoke', () => {
    const { props } = stackFromContext((key) => ({ alarmEvents: 'true', alarmEventsPrefix: 'prod-' })[key], PRESETS);
    const template = Template.fromStack(new BridgeStack(fastApp(), 'On', props));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'], detail: { alarmName: [{ prefix: 'prod-' }] } },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('IngestApiIngest'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmEventsFailedQueue'), 'Arn'] } },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('IngestApiIngest'), 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlarmEvents'), 'Arn'] },
    });
  });

  it('keeps every alarm event it could not handle: one queue (SSE, TLS only, 14 days) for the target DLQ and the on-failure destination, alarmed, on the dashboard, in the outputs', () => {
    const { props } = stackFromContext((key) => ({ alarmEvents: 'true' })[key], PRESETS);
    const template = Template.fromStack(new BridgeStack(fastApp(), 'Recover', props));
    const queues = template.findResources('AWS::SQS::Queue');
    const failed = Object.keys(queues).filter((id) => id.startsWith('AlarmEventsFailedQueue'));
    expect(failed).toHaveLength(1);
    const queue = failed[0]!;
    const arn = { 'Fn::GetAtt': [queue, 'Arn'] };
    expect(queues[queue]!.Properties).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });

    // Lambda's asynchronous invocations of the ingest function (unqualified: $LATEST, what the rule invokes):
    // two retries within an hour, then the record of the failure to the queue.
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^IngestApiIngest') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: arn } },
    });

    // Least privilege: TLS only; EventBridge may send from this rule only; the ingest role may send (Lambda sends the record with it).
    const [policy] = Object.values(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queue }] } }));
    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: arn }),
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/^AlarmEventsAlarmStateChange/), 'Arn'] } } },
        Resource: arn,
      }),
    ]);
    const grants = policyStatements(template.findResources('AWS::IAM::Policy')).filter((st) => JSON.stringify(st.Resource).includes(queue));
    expect(grants).toEqual([expect.objectContaining({ Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'] })]);
    const ingestRole = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes(queue));
    expect(ingestRole.map(([, p]) => p.Properties.Roles)).toEqual([[{ Ref: expect.stringMatching(/^IngestApiIngestRole/) }]]);

    // An alarm as soon as one message is visible, with its runbook section; on the dashboard beside the DLQ.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      AlarmDescription: Match.stringLikeRegexp('runbook\\.md#alarmeventsfailed'),
    });
    const alarmId = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).find((id) => id.startsWith('MonitoringAlarmEventsFailed'));
    const dashboard = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
    expect(dashboard).toContain('alarm events failed visible');
    expect(dashboard).toContain(`"Fn::GetAtt":["${alarmId}","Arn"]`);
    expect(template.findOutputs('AlarmEventsFailedQueueUrl').AlarmEventsFailedQueueUrl?.Value).toEqual({ Ref: queue });
    expect(readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8')).toMatch(/^## AlarmEventsFailed$/m);
  });

  it('refuses alarmEvents when the rules have no cloudwatch source, and a prefix without alarmEvents', () => {
    const withoutCloudwatch = rulesWith((rules) => {
      delete rules.sources['cloudwatch'];
    });
    expect(() => new BridgeStack(fastApp(), 'NoSource', { rulesFile: withoutCloudwatch, alarmEvents: true })).toThrow(/configures no cloudwatch source/);
    expect(() => new BridgeStack(fastApp(), 'NoFlag', { rulesFile: PRESETS, alarmEventsPrefix: 'prod-' })).toThrow(/alarmEventsPrefix needs alarmEvents=true/);
    expect(() => stackFromContext((key) => ({ alarmEvents: 'yes' })[key], PRESETS)).toThrow(/context alarmEvents must be true or false/);
  });
});

describe('silence alarms', () => {
  it('alarm when a source with silence_alarm_minutes has no verified webhook for that long, missing data breaching', () => {
    const rulesFile = rulesWith((rules) => {
      rules.sources['github']!.settings = { ...rules.sources['github']!.settings, silence_alarm_minutes: 360 };
      rules.sources['standard-webhooks']!.settings = { ...rules.sources['standard-webhooks']!.settings, silence_alarm_minutes: 30 };
    });
    const template = Template.fromStack(new BridgeStack(fastApp(), 'Silence', { rulesFile }));
    const silence = silenceAlarmsOf(template);
    expect(Object.keys(silence)).toHaveLength(2);
    for (const [source, period] of [
      ['github', 21_600],
      ['standard-webhooks', 1_800],
    ] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: [
          Match.objectLike({
            MetricStat: {
              Metric: { Namespace: 'CaseBridge', MetricName: 'WebhooksVerified', Dimensions: [{ Name: 'service', Value: 'case-bridge' }, { Name: 'source', Value: source }] },
              Period: period,
              Stat: 'Sum',
            },
          }),
        ],
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmDescription: Match.stringLikeRegexp(`no verified ${source} webhook for ${period / 60} minutes.*runbook\\.md#silence`),
      });
    }
    // On the dashboard: each alarm's threshold on the verified webhooks graph, and the alarm in the alarm status widget.
    const dashboard = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
    expect(dashboard).toContain('github: silence alarm');
    expect(dashboard).toContain('standard-webhooks: silence alarm');
    for (const id of Object.keys(silence)) expect(dashboard).toContain(`"Fn::GetAtt":["${id}","Arn"]`);
  });

  it('makes none without the setting, and refuses a period CloudWatch cannot take', () => {
    const template = Template.fromStack(new BridgeStack(fastApp(), 'NoSilence', { rulesFile: PRESETS }));
    expect(silenceAlarmsOf(template)).toEqual({});
    const tooLong = rulesWith((rules) => {
      rules.sources['github']!.settings = { ...rules.sources['github']!.settings, silence_alarm_minutes: 1441 };
    });
    expect(() => new BridgeStack(fastApp(), 'TooLong', { rulesFile: tooLong })).toThrow(/sources\.github\.settings\.silence_alarm_minutes/);
  });
});
