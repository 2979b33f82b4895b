import { App, Stack } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';

export const PRESETS = 'config/rules.yaml';

/** Unit tests skip bundling and the WASM CloudFormation validator (TOOLCHAIN.md); the full synth tests keep them. */
export function fastApp(): App {
  return new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
}

/** A bare stack with a secret, for testing one construct. */
export function constructStack(): { stack: Stack; secret: Secret } {
  const stack = new Stack(fastApp(), 'Test');
  return { stack, secret: new Secret(stack, 'Secret') };
}

/** Every IAM policy statement in a template. */
export function policyStatements(resources: Record<string, { Properties?: { PolicyDocument?: { Statement?: unknown[] } } }>): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  return Object.values(resources).flatMap((r) => (r.Properties?.PolicyDocument?.Statement ?? []) as { Action: string | string[]; Resource: unknown; Effect: string }[]);
}
