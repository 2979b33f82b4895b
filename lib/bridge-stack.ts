import { relative } from 'node:path';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DATADOG_SITES, DatadogSiteSchema } from '../lambda/datadog/sites.js';
import { placeholderProjectWarning } from '../lambda/mapping/placeholder-project.js';
import { secretIdOf } from './bridge-function.js';
import { AlarmEvents } from './alarm-events.js';
import { DedupLedger } from './dedup-ledger.js';
import { IngestApi, ingestApiChecks, type IngestApiThrottle } from './ingest-api.js';
import { Journal, journalChecks } from './journal.js';
import type { ArchiveMode } from '../lambda/shared/contract.js';
import { Monitoring, monitoringChecks } from './monitoring.js';
import { RetryQueue, retryQueueChecks } from './retry-queue.js';
import { readRulesForBundle } from './rules-asset.js';
import { assertProps } from './validate-props.js';

export interface BridgeStackProps extends StackProps {
  /** Rules file (YAML), validated at synth. */
  readonly rulesFile: string;
  /** Existing secret name or ARN; a new empty secret is created when omitted. */
  readonly secretName?: string;
  /** Datadog site. @default datadoghq.com */
  readonly datadogSite?: string;
  /** API stage throttling. @default 500 rps, burst 1,000 (EDGE_DEFAULTS in lib/ingest-api.ts) */
  readonly throttle?: IngestApiThrottle;
  /** Concurrency reserved for the ingest function, or 'none'. @default 'none' (200 recommended with a quota of 300 or more) */
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
  /**
   * CloudWatch alarms of this account and Region as cases (source `cloudwatch`, which the rules must
   * configure): an EventBridge rule invoking the ingest function. @default false
   */
  readonly alarmEvents?: boolean;
  /** With `alarmEvents`: only alarms whose name starts with this. @default - every alarm */
  readonly alarmEventsPrefix?: string;
  /** Days a delivery's journal record is kept (issue 16). @default 14 */
  readonly journalRetentionDays?: number;
  /** Days a delivery's bytes are kept in the raw archive (issue 16). @default 30 */
  readonly archiveRetentionDays?: number;
  /** Archive refused deliveries too (bad signature, malformed…). @default false */
  readonly archiveRejected?: boolean;
  /** Which deliveries the raw archive keeps: all, failed, off (issue 15; docs/cost.md; off: no PutObject, replay still reads). @default 'all' */
  readonly archive?: ArchiveMode;
}

/**
 * The stack's outputs, by these exact names (README, Deploying; docs/runbook.md). Besides them, one
 * `Url<source>` per source in the rules (`Urlgithub`, `Urlstandardwebhooks`), and with `alarmEvents`
 * ALARM_EVENTS_OUTPUTS.
 */
export const BRIDGE_OUTPUTS = ['WebhookBaseUrl', 'RetryQueueArn', 'RetryQueueUrl', 'DeadLetterQueueArn', 'DeadLetterQueueUrl', 'LedgerTableName', 'JournalTableName', 'ArchiveBucketName', 'IngestFunctionName', 'SecretId', 'DashboardUrl'] as const;
/** The outputs only a stack with `alarmEvents` has. */
export const ALARM_EVENTS_OUTPUTS = ['AlarmEventsFailedQueueUrl'] as const;

/** Wiring only: reads like the architecture diagram in README.md. */
export class BridgeStack extends Stack {
  readonly secret: ISecret;
  readonly ingest: IngestApi;
  readonly retry: RetryQueue;
  readonly monitoring: Monitoring;
  readonly ledger: DedupLedger;
  readonly journal: Journal;
  /** With `alarmEvents`. */
  readonly alarmEvents: AlarmEvents | undefined;

  constructor(scope: Construct, id: string, props: BridgeStackProps) {
    super(scope, id, props);
    const rules = readRulesForBundle(props.rulesFile);
    const edge = {
      ...(props.throttle ? { throttle: props.throttle } : {}),
      ...(props.ingestReservedConcurrency === undefined ? {} : { reservedConcurrency: props.ingestReservedConcurrency }),
    };
    // Every prop problem at once, before any function is bundled.
    assertProps('BridgeStack', [
      [props.datadogSite === undefined || DatadogSiteSchema.safeParse(props.datadogSite).success, `datadogSite "${props.datadogSite}" is not a Datadog site; use one of ${DATADOG_SITES.join(', ')}`],
      ...ingestApiChecks(edge),
      ...retryQueueChecks(props),
      ...journalChecks(props),
      ...monitoringChecks({ ...props, sources: rules.sources, silence: rules.silence, alarmTopic: props.alarmTopicArn }),
      [props.alarmEvents !== true || rules.sources.includes('cloudwatch'), `alarmEvents is on, but ${props.rulesFile} configures no cloudwatch source: add its block (config/rules.yaml has the preset)`],
      [props.alarmEventsPrefix === undefined || props.alarmEvents === true, 'alarmEventsPrefix needs alarmEvents=true'],
    ]);
    this.secret = props.secretName ? importSecret(this, props.secretName) : createSecret(this);

    this.ingest = new IngestApi(this, 'IngestApi', {
      secret: this.secret,
      rulesJson: rules.json,
      expressionsJson: rules.expressionsJson,
      ...(props.datadogSite ? { datadogSite: props.datadogSite } : {}),
      ...edge,
    });

    this.retry = new RetryQueue(this, 'Retry', {
      secret: this.secret,
      ...(props.datadogSite ? { datadogSite: props.datadogSite } : {}),
      ...(props.maxConcurrency === undefined ? {} : { maxConcurrency: props.maxConcurrency }),
      ...(props.maxReceiveCount === undefined ? {} : { maxReceiveCount: props.maxReceiveCount }),
    });
    this.retry.addProducer(this.ingest.handler);
    // The ingest writes `outbox` triggers, a message kind older retry functions refuse (#13):
    // CloudFormation updates the retry function first.
    this.ingest.handler.node.addDependency(this.retry.retryFunction);

    this.ledger = new DedupLedger(this, 'DedupLedger');
    this.ledger.grantTo(this.ingest.handler);
    this.ledger.grantTo(this.retry.retryFunction);

    this.journal = new Journal(this, 'Journal', {
      ...(props.journalRetentionDays === undefined ? {} : { journalRetentionDays: props.journalRetentionDays }),
      ...(props.archiveRetentionDays === undefined ? {} : { archiveRetentionDays: props.archiveRetentionDays }),
      ...(props.archiveRejected === undefined ? {} : { archiveRejected: props.archiveRejected }),
      ...(props.archive === undefined ? {} : { archive: props.archive }),
    });
    this.journal.grantIngest(this.ingest.handler);
    this.journal.grantReplay(this.ingest.handler);
    this.journal.grantJournal(this.retry.retryFunction);

    if (props.alarmEvents === true) {
      this.alarmEvents = new AlarmEvents(this, 'AlarmEvents', { ingestFunction: this.ingest.handler, ...(props.alarmEventsPrefix === undefined ? {} : { alarmNamePrefix: props.alarmEventsPrefix }) });
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.ingest.api,
      ingestFunction: this.ingest.handler,
      retryFunction: this.retry.retryFunction,
      retryQueue: this.retry.queue,
      deadLetterQueue: this.retry.dlq,
      ...(this.alarmEvents === undefined ? {} : { alarmEventsFailedQueue: this.alarmEvents.failedQueue }),
      sources: rules.sources,
      silence: rules.silence,
      ...(props.retryBacklogAgeThreshold ? { retryBacklogAgeThreshold: props.retryBacklogAgeThreshold } : {}),
      ...(props.signatureRejectionThreshold === undefined ? {} : { signatureRejectionThreshold: props.signatureRejectionThreshold }),
      ...(props.alarmTopicArn ? { alarmTopic: Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) } : {}),
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });

    const placeholder = placeholderProjectWarning(rules.file, relative(process.cwd(), props.rulesFile) || props.rulesFile);
    if (placeholder !== undefined) Annotations.of(this).addWarningV2('case-bridge:placeholder-project', placeholder);
    if (this.monitoring.alarmTopic === undefined) {
      Annotations.of(this).addWarningV2(
        'case-bridge:alarms-notify-no-one',
        'the alarms notify no one (a dead-lettered case, a retry backlog, failing functions): give -c alarmEmail=<address> or -c alarmTopicArn=<SNS topic ARN>',
      );
    }

    // Top-level outputs keep their names as logical ids (no hash), so the names in the docs are the deployed ones.
    const output = (name: (typeof BRIDGE_OUTPUTS)[number] | (typeof ALARM_EVENTS_OUTPUTS)[number] | `Url${string}`, value: string, description: string) => new CfnOutput(this, name, { value, description });
    output('WebhookBaseUrl', this.ingest.webhookBaseUrl, 'POST <WebhookBaseUrl>/<source>');
    for (const source of rules.sources) output(`Url${source.replace(/[^A-Za-z0-9]/g, '')}`, `${this.ingest.webhookBaseUrl}/${source}`, `Webhook URL for ${source}`);
    output('RetryQueueArn', this.retry.queue.queueArn, 'Retry queue ARN (npm run redrive -- --destination-arn)');
    output('RetryQueueUrl', this.retry.queue.queueUrl, 'Retry queue URL');
    output('DeadLetterQueueArn', this.retry.dlq.queueArn, 'Dead-letter queue ARN (npm run redrive -- --dlq-arn)');
    output('DeadLetterQueueUrl', this.retry.dlq.queueUrl, 'Dead-letter queue URL');
    output('LedgerTableName', this.ledger.table.tableName, 'Dedup ledger table (npm run cases -- --table)');
    output('JournalTableName', this.journal.table.tableName, 'Delivery journal table (npm run deliveries finds it by this output)');
    output('ArchiveBucketName', this.journal.bucket.bucketName, 'Raw archive bucket: the bytes of every delivery, key <source>/<YYYY-MM-DD>/<delivery id>');
    output('IngestFunctionName', this.ingest.handler.functionName, 'The ingest function (npm run replay -- --stack invokes it with a replay event)');
    output('SecretId', secretIdOf(this.secret), 'The secret the functions read, by full ARN or name (webhook secrets, DD_API_KEY, DD_APP_KEY)');
    output('DashboardUrl', this.monitoring.dashboardUrl, 'CloudWatch dashboard');
    if (this.alarmEvents !== undefined) {
      output('AlarmEventsFailedQueueUrl', this.alarmEvents.failedQueue.queueUrl, 'CloudWatch alarm events that could not be handled (docs/runbook.md#alarmeventsfailed re-sends them)');
    }
  }
}

function importSecret(scope: Construct, nameOrArn: string): ISecret {
  return nameOrArn.startsWith('arn:')
    ? Secret.fromSecretCompleteArn(scope, 'BridgeSecret', nameOrArn)
    : Secret.fromSecretNameV2(scope, 'BridgeSecret', nameOrArn);
}

/**
 * Without `secretName`: a new secret (output `SecretId`) that an operator fills with put-secret-value
 * (README, Deploying). Until then it holds a generated password, not JSON, and every webhook is
 * answered 500 `not_configured`: it fails closed.
 */
function createSecret(scope: Construct): Secret {
  const secret = new Secret(scope, 'BridgeSecret', {
    description: 'case-bridge: webhook secrets and DD_API_KEY / DD_APP_KEY (flat JSON key/value)',
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Webhook secrets are rotated by their issuers; the bridge accepts <KEY>_PREVIOUS during rotation.' });
  return secret;
}
