import { Duration } from 'aws-cdk-lib';
import { ARCHIVE_MODES, type ArchiveMode } from '../lambda/shared/contract.js';
import { ConfigError } from '../lambda/shared/errors.js';
import type { BridgeStackProps } from './bridge-stack.js';

/**
 * The context keys bin/app.ts reads (`-c key=value` or cdk.json), all optional:
 *   stackName                    stack name (default CaseBridge)
 *   rulesFile                    rules YAML (default config/rules.yaml, the presets)
 *   secretName                   existing secret name or ARN (default: a new secret, filled after deploy)
 *   datadogSite                  Datadog site (default datadoghq.com)
 *   apiRateLimit, apiBurstLimit  API stage throttling (default 500 rps, burst 1000)
 *   ingestReservedConcurrency    concurrency reserved for the ingest function (default 'none'; 200 recommended with a quota of 300 or more)
 *   maxConcurrency               concurrent retry functions (default 2, the SQS minimum)
 *   maxReceiveCount              receives before the DLQ (default 5)
 *   retryBacklogAgeSeconds       backlog age alarm threshold (default 900)
 *   signatureRejectionThreshold  invalid signatures per 5 minutes before alarming (default 20)
 *   alarmEmail                   creates an alarm topic with this address subscribed
 *   alarmTopicArn                existing SNS topic for alarms (not with alarmEmail)
 *   alarmEvents                  true: CloudWatch alarms of this account and Region become cases (EventBridge; default false)
 *   alarmEventsPrefix            with alarmEvents: only alarms whose name starts with this
 *   journalRetentionDays         days a delivery's journal record is kept (default 14)
 *   archiveRetentionDays         days a delivery's bytes are kept in the raw archive (default 30)
 *   archiveRejected              true: refused deliveries are archived too (default false)
 *   archive                      all, failed or off: which deliveries the raw archive keeps (default all; docs/cost.md)
 */
export function stackFromContext(get: (key: string) => unknown, presetRulesFile: string): { stackName: string; props: BridgeStackProps } {
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') problems.push(`context ${key} must be text (got ${JSON.stringify(v)})`);
    return typeof v === 'string' ? v : undefined;
  };
  const num = (key: string): number | undefined => {
    const v = get(key);
    if (v === undefined || v === '') return undefined;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) problems.push(`context ${key} must be a number (got ${JSON.stringify(v)}): -c ${key}=<number>`);
    return Number.isFinite(n) ? n : undefined;
  };
  const flag = (key: string): boolean | undefined => {
    const v = get(key);
    if (v === undefined || v === '') return undefined;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    problems.push(`context ${key} must be true or false (got ${JSON.stringify(v)})`);
    return undefined;
  };
  const only = <T extends object>(values: T): Partial<T> => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;

  const archiveMode = (v: string | undefined): ArchiveMode | undefined => {
    const mode = ARCHIVE_MODES.find((m) => m === v);
    if (v !== undefined && mode === undefined) problems.push(`context archive must be one of ${ARCHIVE_MODES.join(', ')} (got ${JSON.stringify(v)})`);
    return mode;
  };
  const rateLimit = num('apiRateLimit');
  const burstLimit = num('apiBurstLimit');
  const backlogSeconds = num('retryBacklogAgeSeconds');
  const reserved = get('ingestReservedConcurrency') === 'none' ? 'none' : num('ingestReservedConcurrency');
  const props: BridgeStackProps = {
    rulesFile: text('rulesFile') ?? presetRulesFile,
    ...only({
      secretName: text('secretName'),
      datadogSite: text('datadogSite'),
      throttle: rateLimit === undefined && burstLimit === undefined ? undefined : only({ rateLimit, burstLimit }),
      ingestReservedConcurrency: reserved,
      maxConcurrency: num('maxConcurrency'),
      maxReceiveCount: num('maxReceiveCount'),
      retryBacklogAgeThreshold: backlogSeconds === undefined ? undefined : Duration.seconds(backlogSeconds),
      signatureRejectionThreshold: num('signatureRejectionThreshold'),
      alarmEmail: text('alarmEmail'),
      alarmTopicArn: text('alarmTopicArn'),
      alarmEvents: flag('alarmEvents'),
      alarmEventsPrefix: text('alarmEventsPrefix'),
      journalRetentionDays: num('journalRetentionDays'),
      archiveRetentionDays: num('archiveRetentionDays'),
      archiveRejected: flag('archiveRejected'),
      archive: archiveMode(text('archive')),
    }),
    description: 'case-bridge: alert webhooks to Datadog Case Management',
  };
  const stackName = text('stackName') ?? 'CaseBridge';
  if (problems.length > 0) throw new ConfigError(`the context is invalid:\n  ${problems.join('\n  ')}`);
  return { stackName, props };
}

/**
 * A configuration error as `cdk synth` prints it: one message (what, where, how to fix), no stack
 * trace; anything else is a bug and keeps its stack.
 */
export function synthErrorText(error: unknown): string | undefined {
  if (!(error instanceof ConfigError)) return undefined;
  return `case-bridge: ${error.message}\nNothing was synthesized. The context keys (-c key=value) are listed in README.md, Deploying.\n`;
}
