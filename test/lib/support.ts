import { readFileSync } from 'node:fs';
import { App, Stack, type AppProps } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';

export const PRESETS = 'config/rules.yaml';

/** cdk.json's context (the feature flags `cdk synth` runs with), so tests see the template that is deployed. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

/** An App as the CDK CLI builds it from cdk.json, plus `props` (their context added). */
export function cdkApp(props: AppProps = {}): App {
  // One flag differs, in how warnings are shown, not in the template: the tests read them with
  // Annotations.fromStack instead of having each synth print the stack's warnings (the placeholder project).
  return new App({ ...props, context: { ...CDK_JSON_CONTEXT, '@aws-cdk/core:annotationsInValidationReport': false, ...props.context } });
}

/** Unit tests skip bundling and the WASM CloudFormation validator (TOOLCHAIN.md); the full synth tests keep them. */
export function fastApp(): App {
  return cdkApp({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
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
