import { mkdtempSync, readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDER_PROJECT } from '../../lambda/mapping/placeholder-project.js';
import { BRIDGE_OUTPUTS, BridgeStack } from '../../lib/bridge-stack.js';
import { LAMBDA_ENVIRONMENT } from '../../lib/lambda-bundle.js';
import { cdkApp, fastApp, policyStatements, PRESETS } from './support.js';

const asList = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

describe('BridgeStack', () => {
  const template = Template.fromStack(new BridgeStack(fastApp(), 'Test', { rulesFile: PRESETS }));

  it('deploys the retry function before the ingest function, which writes the newer `outbox` message kind (#13)', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const ingest = Object.entries(functions).find(([id]) => id.startsWith('IngestApiIngest'));
    const retry = Object.keys(functions).find((id) => id.startsWith('Retry'));
    expect(ingest?.[1].DependsOn).toEqual(expect.arrayContaining([retry]));
  });

  it('routes POST /webhooks/{source} to the ingest function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/{source}' });
  });

  it('runs both functions on Node.js 24 on arm64', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it("logs JSON with Lambda's per-invocation platform records off (system level WARN) and leaves the application level to LOG_LEVEL", () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'WARN' });
      expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBeUndefined();
    }
  });

  it('starts both functions with the environment the bench loads the bundle with (no source-map parsing at cold start)', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      // LAMBDA_ENVIRONMENT is empty today; these hold as soon as it names anything.
      for (const [name, value] of Object.entries(LAMBDA_ENVIRONMENT)) expect(variables[name]).toBe(value);
      expect(String(variables['NODE_OPTIONS'] ?? '')).not.toContain('--enable-source-maps');
    }
  });

  it('gives both functions the secret id, the Datadog site and both queue URLs', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        CASE_BRIDGE_SECRET_ID: { Ref: expect.stringMatching(/BridgeSecret/) },
        DD_SITE: 'datadoghq.com',
        CASE_BRIDGE_RETRY_QUEUE_URL: { Ref: expect.stringMatching(/RetryQueue/) },
        CASE_BRIDGE_DLQ_URL: { Ref: expect.stringMatching(/DeadLetterQueue/) },
      });
    }
  });

  it('lets the functions read only the bridge secret', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: { Ref: Match.stringLikeRegexp('BridgeSecret') } }),
        ]),
      },
    });
  });

  it('scopes every SQS and Secrets Manager grant to the queue and secret ARNs', () => {
    const statements = policyStatements(template.findResources('AWS::IAM::Policy'));
    const data = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('sqs:') || a.startsWith('secretsmanager:')));

    expect(data.length).toBeGreaterThan(0);
    for (const statement of data) {
      expect(asList(statement.Action).some((a) => a.includes('*'))).toBe(false);
      expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
      expect(JSON.stringify(statement.Resource)).toMatch(/RetryQueue|DeadLetterQueue|BridgeSecret/);
    }
  });

  it('lets the ingest function send to the retry queue and the DLQ and nothing else on SQS', () => {
    const ingestPolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('IngestApi'))?.[1];
    const sqs = policyStatements({ p: ingestPolicy ?? {} }).filter((s) => asList(s.Action).some((a) => a.startsWith('sqs:')));

    // Each action on each queue, however the statements are merged (cdk.json's minimizePolicies).
    const grants = sqs.flatMap((s) => asList(s.Action).flatMap((a) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => `${a} ${JSON.stringify(r).match(/Retry(DeadLetterQueue|Queue)/)?.[0]}`)));
    expect(grants.sort()).toEqual(
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].flatMap((a) => [`${a} RetryDeadLetterQueue`, `${a} RetryQueue`]).sort(),
    );
  });

  it('has the seven alarms and the dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it("alarms on the 429s the access log's metric filter counts for this stack's API", () => {
    const apiId = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'));
    expect(apiId).toHaveLength(1);
    template.hasResourceProperties('AWS::Logs::MetricFilter', { MetricTransformations: [Match.objectLike({ MetricNamespace: 'CaseBridge', MetricName: 'ApiThrottled' })] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'CaseBridge', MetricName: 'ApiThrottled', Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId[0] } }] });
  });

  it('outputs under the names the README and runbook use, one Url<source> per configured source', () => {
    const outputs = Object.keys(template.findOutputs('*')).sort();
    const urls = ['github', 'pagerduty', 'alertmanager', 'grafana', 'sentry', 'opsgenie', 'standardwebhooks', 'generic', 'cloudwatch'].map((s) => `Url${s}`);
    expect(outputs).toEqual([...BRIDGE_OUTPUTS, ...urls].sort());
    expect(template.findOutputs('WebhookBaseUrl').WebhookBaseUrl?.Value).toEqual({ 'Fn::Join': ['', [expect.anything(), '/webhooks']] });
    expect(template.findOutputs('DeadLetterQueueArn').DeadLetterQueueArn?.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RetryDeadLetterQueue/), 'Arn'] });
    expect(template.findOutputs('LedgerTableName').LedgerTableName?.Value).toEqual({ Ref: expect.stringMatching(/^DedupLedgerTable/) });
  });

  it('lets each function write only its own log group (no AWSLambdaBasicExecutionRole, no logs:* on *)', () => {
    const roles = template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) expect(JSON.stringify(role.Properties.ManagedPolicyArns ?? [])).not.toContain('AWSLambdaBasicExecutionRole');
    const policies = template.findResources('AWS::IAM::Policy');
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      const statements = policyStatements(Object.fromEntries(Object.entries(policies).filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))));
      const logs = statements.filter((st) => asList(st.Action).some((a) => a.startsWith('logs:')));
      expect(logs, id).toHaveLength(1);
      expect(asList(logs[0]!.Action).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs[0]!.Resource).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    }
    for (const st of policyStatements(policies)) expect(JSON.stringify(st.Resource)).not.toBe('"*"');
  });

  it('warns at synth that the alarms notify no one without alarmEmail or alarmTopicArn, and not with one', () => {
    const noOne = Annotations.fromStack(new BridgeStack(fastApp(), 'Silent', { rulesFile: PRESETS }));
    noOne.hasWarning('/Silent', Match.stringLikeRegexp('alarms notify no one.*-c alarmEmail=.*-c alarmTopicArn='));
    const told = Annotations.fromStack(new BridgeStack(fastApp(), 'Told', { rulesFile: PRESETS, alarmEmail: 'ops@example.com' }));
    told.hasNoWarning('/Told', Match.stringLikeRegexp('alarms notify no one'));
  });

  it('warns at synth when the rules file cases under the placeholder project, and not with a real one', () => {
    const preset = Annotations.fromStack(new BridgeStack(fastApp(), 'Preset', { rulesFile: PRESETS, alarmEmail: 'ops@example.com' }));
    preset.hasWarning('/Preset', Match.stringLikeRegexp(`config/rules\\.yaml files cases under the placeholder project ${PLACEHOLDER_PROJECT} \\(defaults\\.project\\)`));
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const mine = join(dir, 'my-rules.yaml');
    writeFileSync(mine, readFileSync(PRESETS, 'utf8').replace(`project: ${PLACEHOLDER_PROJECT}`, 'project: 3f1c9a2e-7d4b-4e8a-9c1d-2b5e6f7a8b9c'));
    const real = Annotations.fromStack(new BridgeStack(fastApp(), 'Real', { rulesFile: mine, alarmEmail: 'ops@example.com' }));
    real.hasNoWarning('/Real', Match.stringLikeRegexp('placeholder project'));
  });

  it('refuses a datadogSite that is not a Datadog site, naming the sites', () => {
    expect(() => new BridgeStack(fastApp(), 'Site', { rulesFile: PRESETS, datadogSite: 'nonsense' })).toThrow(/datadogSite "nonsense" is not a Datadog site; use one of datadoghq\.com, .*datadoghq\.eu/);
  });

  it('names a missing rules file and how to make it', () => {
    expect(() => new BridgeStack(fastApp(), 'NoRules', { rulesFile: 'not-yet-my-rules.yaml' })).toThrow('the rules file not-yet-my-rules.yaml does not exist. Start from the presets: cp config/rules.yaml not-yet-my-rules.yaml');
  });

  it('imports an existing secret by name and grants it by its ARN pattern', () => {
    const imported = Template.fromStack(new BridgeStack(fastApp(), 'Imported', { rulesFile: PRESETS, secretName: 'case-bridge/prod' }));

    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: { 'Fn::Join': ['', Match.arrayWith([':secret:case-bridge/prod-??????'])] } }),
        ]),
      },
    });
  });

  it('names an imported secret to the functions by its exact name or full ARN, never a partial ARN', () => {
    const byName = Template.fromStack(new BridgeStack(fastApp(), 'ByName', { rulesFile: PRESETS, secretName: 'case-bridge' }));
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:case-bridge-AbCdEf';
    const byArn = Template.fromStack(new BridgeStack(fastApp(), 'ByArn', { rulesFile: PRESETS, secretName: arn }));
    for (const [template, id] of [[byName, 'case-bridge'], [byArn, arn]] as const) {
      const functions = Object.values(template.findResources('AWS::Lambda::Function'));
      expect(functions).toHaveLength(2);
      for (const fn of functions) expect(fn.Properties.Environment.Variables.CASE_BRIDGE_SECRET_ID).toBe(id);
    }
  });

  it('passes throttling, concurrency and alarm settings through', () => {
    const tuned = Template.fromStack(
      new BridgeStack(fastApp(), 'Tuned', { rulesFile: PRESETS, throttle: { rateLimit: 10, burstLimit: 20 }, ingestReservedConcurrency: 30, maxConcurrency: 3, maxReceiveCount: 7, alarmEmail: 'ops@example.com', signatureRejectionThreshold: 50 }),
    );

    tuned.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } });
    tuned.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 3 } });
    tuned.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 30 });
    tuned.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 7 }) });
    tuned.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 50 });
    tuned.resourceCountIs('AWS::SNS::Subscription', 1);
  });

  it('fails synth with the failing path when the rules file is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const bad = join(dir, 'rules.yaml');
    writeFileSync(bad, 'version: 1\nsources:\n  github:\n    rules:\n      - name: x\n        case:\n          title: t\n          priority: P7\n');

    expect(() => new BridgeStack(fastApp(), 'Bad', { rulesFile: bad })).toThrow(/sources\.github\.rules\[0\]\.case\.priority/);
  });

  it('synthesizes offline with bundling and CloudFormation validation on', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    const app = cdkApp({ outdir });
    new BridgeStack(app, 'CaseBridge', { rulesFile: PRESETS });

    const assembly = app.synth();

    const stack = assembly.getStackByName('CaseBridge');
    expect(stack.template).toHaveProperty('Resources');
    const bundles = readdirSync(outdir).filter((d) => d.startsWith('asset.') && readdirSync(join(outdir, d)).includes('index.mjs'));
    expect(bundles).toHaveLength(2);
    for (const bundle of bundles) expect(statSync(join(outdir, bundle, 'index.mjs')).size).toBeGreaterThan(10_000);
  }, 120_000);
});

describe('BridgeStack dedup ledger (issue 4)', () => {
  const template = Template.fromStack(new BridgeStack(fastApp(), 'Ledger', { rulesFile: PRESETS }));

  it('has one on-demand table with TTL on expiresAt, point-in-time recovery and AWS-managed encryption', () => {
    // The ledger and the delivery journal (issue 16, test/lib/journal.test.ts).
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 2);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
    });
  });

  it('gives both functions the table name and only GetItem/PutItem/UpdateItem/DeleteItem on it', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const fn of functions) expect(fn.Properties.Environment.Variables.CASE_BRIDGE_LEDGER_TABLE).toEqual({ Ref: expect.stringMatching(/DedupLedger/) });
    const dynamoStatements = policyStatements(template.findResources('AWS::IAM::Policy')).filter((s) => asList(s.Action).some((a) => a.startsWith('dynamodb:')) && JSON.stringify(s.Resource).includes('DedupLedger'));
    expect(dynamoStatements).toHaveLength(2);
    for (const s of dynamoStatements) expect(asList(s.Action).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });
});
