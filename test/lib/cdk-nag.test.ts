import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, Validations, type App } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { BridgeStack } from '../../lib/bridge-stack.js';
import { cdkApp, PRESETS } from './support.js';

/** The app as bin/app.ts builds it: AwsSolutions checks and CloudFormation validation on; bundling skipped for speed. */
function nagApp(): App {
  const app = cdkApp({ outdir: mkdtempSync(join(tmpdir(), 'cdk-nag-')), context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['a created secret and no alarm topic', {}],
    ['an imported secret and an alarm email', { secretName: 'case-bridge/prod', alarmEmail: 'ops@example.com' }],
    ['a secret ARN and an existing topic', { secretName: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cb-AbCdEf', alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' }],
    ['the CloudWatch alarm events rule', { alarmEvents: true, alarmEventsPrefix: 'prod-' }],
  ])('has no unacknowledged finding with %s', (_, props) => {
    const app = nagApp();
    new BridgeStack(app, 'CaseBridge', { rulesFile: PRESETS, ...props });

    expect(() => app.synth()).not.toThrow();
  }, 120_000);

  it('fails synth on an unacknowledged finding', () => {
    const app = nagApp();
    const stack = new Stack(app, 'Careless');
    new Queue(stack, 'NoDlqNoTls');

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  }, 120_000);
});
