import { mkdtempSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BridgeStack } from '../../lib/bridge-stack.js';

const PRESETS = 'config/rules.yaml';

function fastApp(): App {
  // Unit tests skip bundling and the WASM CloudFormation validator (TOOLCHAIN.md); the full synth below keeps both.
  return new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
}

describe('BridgeStack', () => {
  const template = Template.fromStack(new BridgeStack(fastApp(), 'Test', { rulesFile: PRESETS }));

  it('routes POST /webhooks/{source} to the ingest function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/{source}' });
  });

  it('runs the ingest function on Node.js 22 on arm64 with the secret id in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ CASE_BRIDGE_SECRET_ID: Match.anyValue(), DD_SITE: 'datadoghq.com' }) },
    });
  });

  it('lets the function read only the bridge secret', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: { Ref: Match.stringLikeRegexp('BridgeSecret') } }),
        ]),
      },
    });
  });

  it('outputs one webhook URL per configured source', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    for (const source of ['github', 'pagerduty', 'alertmanager', 'grafana', 'sentry', 'opsgenie', 'standardwebhooks', 'generic']) {
      expect(outputs.some((o) => o.toLowerCase().includes(`url${source}`))).toBe(true);
    }
  });

  it('fails synth with the failing path when the rules file is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const bad = join(dir, 'rules.yaml');
    writeFileSync(bad, 'version: 1\nsources:\n  github:\n    rules:\n      - name: x\n        case:\n          title: t\n          priority: P7\n');

    expect(() => new BridgeStack(fastApp(), 'Bad', { rulesFile: bad })).toThrow(/sources\.github\.rules\[0\]\.case\.priority/);
  });

  it('synthesizes offline with bundling and CloudFormation validation on', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    const app = new App({ outdir });
    new BridgeStack(app, 'CaseBridge', { rulesFile: PRESETS });

    const assembly = app.synth();

    const stack = assembly.getStackByName('CaseBridge');
    expect(stack.template).toHaveProperty('Resources');
    const asset = readdirSync(outdir).find((d) => d.startsWith('asset.') && readdirSync(join(outdir, d)).includes('index.mjs'));
    expect(asset).toBeDefined();
    expect(statSync(join(outdir, asset!, 'index.mjs')).size).toBeGreaterThan(10_000);
  }, 120_000);
});
