import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fileURLToPath } from 'node:url';
import { BridgeStack } from '../lib/bridge-stack.js';
import { ConfigError } from '../lambda/shared/errors.js';

// Context (cdk.json or `-c key=value`), all optional:
//   stackName                    stack name (default CaseBridge)
//   rulesFile                    rules YAML (default config/rules.yaml)
//   secretName                   existing secret name or ARN (default: a new empty secret)
//   datadogSite                  Datadog site (default datadoghq.com)
//   apiRateLimit, apiBurstLimit  API stage throttling (default 500 rps, burst 1000)
//   ingestReservedConcurrency    concurrency reserved for the ingest function (default 200; 'none')
//   maxConcurrency               concurrent retry functions (default 2, the SQS minimum)
//   maxReceiveCount              receives before the DLQ (default 5)
//   retryBacklogAgeSeconds       backlog age alarm threshold (default 900)
//   signatureRejectionThreshold  invalid signatures per 5 minutes before alarming (default 20)
//   alarmEmail                   creates an alarm topic with this address subscribed
//   alarmTopicArn                existing SNS topic for alarms (not with alarmEmail)
const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

const text = (key: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(key);
  return typeof v === 'string' && v !== '' ? v : undefined;
};
const num = (key: string): number | undefined => {
  const v: unknown = app.node.tryGetContext(key);
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new ConfigError(`context ${key} must be a number (got ${JSON.stringify(v)})`);
  return n;
};
const only = <T extends object>(values: T): Partial<T> => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;

const rateLimit = num('apiRateLimit');
const burstLimit = num('apiBurstLimit');
const backlogSeconds = num('retryBacklogAgeSeconds');
const reserved = text('ingestReservedConcurrency') === 'none' ? 'none' : num('ingestReservedConcurrency');
new BridgeStack(app, text('stackName') ?? 'CaseBridge', {
  rulesFile: text('rulesFile') ?? fileURLToPath(new URL('../config/rules.yaml', import.meta.url)),
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
  }),
  description: 'case-bridge: alert webhooks to Datadog Case Management',
});
