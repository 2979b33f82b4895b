import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DedupLedger } from './dedup-ledger.js';
import { IngestApi, type IngestApiThrottle } from './ingest-api.js';
import { Monitoring } from './monitoring.js';
import { RetryQueue } from './retry-queue.js';
import { readRulesForBundle } from './rules-asset.js';

export interface BridgeStackProps extends StackProps {
  /** Rules file (YAML), validated at synth. */
  readonly rulesFile: string;
  /** Existing secret name or ARN; a new empty secret is created when omitted. */
  readonly secretName?: string;
  /** Datadog site. @default datadoghq.com */
  readonly datadogSite?: string;
  /** API stage throttling. @default 500 rps, burst 1,000 (EDGE_DEFAULTS in lib/ingest-api.ts) */
  readonly throttle?: IngestApiThrottle;
  /** Concurrency reserved for the ingest function, or 'none'. @default 200 */
  readonly ingestReservedConcurrency?: number | 'none';
  /** Most concurrent retry functions (paces Datadog). @default 2 */
  readonly maxConcurrency?: number;
  /** Receives of a retry message before it is dead-lettered. @default 5 */
  readonly maxReceiveCount?: number;
  /** Alarm when the oldest retry is older than this. @default 15 minutes */
  readonly retryBacklogAgeThreshold?: Duration;
  /** Alarm above this many invalid signatures in 5 minutes. @default 20 */
  readonly signatureRejectionThreshold?: number;
  /** Existing SNS topic (ARN) for alarms. Not with `alarmEmail`. */
  readonly alarmTopicArn?: string;
  /** Creates an alarm topic with this email subscribed. Not with `alarmTopic`. */
  readonly alarmEmail?: string;
}

/** Wiring only: reads like the architecture diagram in README.md. */
export class BridgeStack extends Stack {
  readonly secret: ISecret;
  readonly ingest: IngestApi;
  readonly retry: RetryQueue;
  readonly monitoring: Monitoring;
  readonly ledger: DedupLedger;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const rules = readRulesForBundle(props.rulesFile);
    this.secret = props.secretName ? importSecret(this, props.secretName) : createSecret(this);

    this.ingest = new IngestApi(this, 'IngestApi', {
      secret: this.secret,
      rulesJson: rules.json,
      expressionsJson: rules.expressionsJson,
      sources: rules.sources,
      ...(props.datadogSite ? { datadogSite: props.datadogSite } : {}),
      ...(props.throttle ? { throttle: props.throttle } : {}),
      ...(props.ingestReservedConcurrency === undefined ? {} : { reservedConcurrency: props.ingestReservedConcurrency }),
    });

    this.retry = new RetryQueue(this, 'Retry', {
      secret: this.secret,
      ...(props.datadogSite ? { datadogSite: props.datadogSite } : {}),
      ...(props.maxConcurrency === undefined ? {} : { maxConcurrency: props.maxConcurrency }),
      ...(props.maxReceiveCount === undefined ? {} : { maxReceiveCount: props.maxReceiveCount }),
    });
    this.retry.addProducer(this.ingest.handler);

    this.ledger = new DedupLedger(this, 'DedupLedger');
    this.ledger.grantTo(this.ingest.handler);
    this.ledger.grantTo(this.retry.retryFunction);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.ingest.api,
      ingestFunction: this.ingest.handler,
      retryFunction: this.retry.retryFunction,
      retryQueue: this.retry.queue,
      deadLetterQueue: this.retry.dlq,
      sources: rules.sources,
      ...(props.retryBacklogAgeThreshold ? { retryBacklogAgeThreshold: props.retryBacklogAgeThreshold } : {}),
      ...(props.signatureRejectionThreshold === undefined ? {} : { signatureRejectionThreshold: props.signatureRejectionThreshold }),
      ...(props.alarmTopicArn ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) } : {}),
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });
  }
}

function importSecret(scope: Construct, nameOrArn: string): ISecret {
  return nameOrArn.startsWith('arn:')
    ? Secret.fromSecretCompleteArn(scope, 'BridgeSecret', nameOrArn)
    : Secret.fromSecretNameV2(scope, 'BridgeSecret', nameOrArn);
}

function createSecret(scope: Construct): Secret {
  const secret = new Secret(scope, 'BridgeSecret', {
    description: 'case-bridge: webhook secrets and DD_API_KEY / DD_APP_KEY (flat JSON key/value)',
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Webhook secrets are rotated by their issuers; the bridge accepts <KEY>_PREVIOUS during rotation.' });
  return secret;
}
