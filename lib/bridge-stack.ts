import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { IngestApi } from './ingest-api.js';
import { readRulesForBundle } from './rules-asset.js';

export interface BridgeStackProps extends StackProps {
  /** Rules file (YAML), validated at synth. */
  readonly rulesFile: string;
  /** Existing secret name or ARN; a new empty secret is created when omitted. */
  readonly secretName?: string;
  /** Datadog site. @default datadoghq.com */
  readonly datadogSite?: string;
}

/** Wiring only: reads like the architecture diagram in README.md. */
export class BridgeStack extends Stack {
  readonly secret: ISecret;
  readonly ingest: IngestApi;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const rules = readRulesForBundle(props.rulesFile);
    this.secret = props.secretName
      ? props.secretName.startsWith('arn:')
        ? Secret.fromSecretCompleteArn(this, 'BridgeSecret', props.secretName)
        : Secret.fromSecretNameV2(this, 'BridgeSecret', props.secretName)
      : new Secret(this, 'BridgeSecret', { description: 'case-bridge: webhook secrets and DD_API_KEY / DD_APP_KEY (flat JSON key/value)', removalPolicy: RemovalPolicy.RETAIN });
    this.ingest = new IngestApi(this, 'IngestApi', { secret: this.secret, rulesJson: rules.json, sources: rules.sources, ...(props.datadogSite ? { datadogSite: props.datadogSite } : {}) });
  }
}
