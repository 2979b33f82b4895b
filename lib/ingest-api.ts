import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { BridgeFunction, secretIdOf } from './bridge-function.js';
import { assertProps, isIntIn, type PropCheck } from './validate-props.js';

export interface IngestApiThrottle {
  /** Steady-state requests per second for the whole stage. @default 50 */
  readonly rateLimit?: number;
  /** Burst bucket size. @default 100 */
  readonly burstLimit?: number;
}

export interface IngestApiProps {
  /** The bridge secret (webhook secrets and Datadog keys). */
  readonly secret: ISecret;
  /** Rules as JSON (validated at synth). */
  readonly rulesJson: string;
  /** readRulesForBundle's `expressionsJson`: the parsed fast expressions. @default none: every expression parses in the Lambda, loading JSONata */
  readonly expressionsJson?: string;
  /** Datadog site. @default datadoghq.com */
  readonly datadogSite?: string;
  /** Stage throttling; requests above it are answered 429 by API Gateway (senders retry). @default 50 rps, burst 100 */
  readonly throttle?: IngestApiThrottle;
  /** Retention of the API access logs. @default one month */
  readonly accessLogRetention?: RetentionDays;
}

/** One JSON line per request; the fields an operator needs to match a sender's delivery to our logs. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    sourceIp: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/** The checks on IngestApi's props (BridgeStack runs them too, before anything is built). */
export function ingestApiChecks(props: Pick<IngestApiProps, 'throttle'>): PropCheck[] {
  const rateLimit = props.throttle?.rateLimit ?? 50;
  const burstLimit = props.throttle?.burstLimit ?? 100;
  return [
    [rateLimit > 0 && Number.isFinite(rateLimit), `throttle.rateLimit must be a positive number (got ${rateLimit})`],
    [isIntIn(burstLimit, 1, 5000), `throttle.burstLimit must be an integer from 1 to 5000 (got ${burstLimit})`],
  ];
}

/** HTTP API `POST /webhooks/{source}` in front of the ingest function. */
export class IngestApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly handler: BridgeFunction;
  readonly accessLogs: LogGroup;
  /** `https://<api>/webhooks`: each source's URL is this plus `/<source>`. */
  readonly webhookBaseUrl: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const rateLimit = props.throttle?.rateLimit ?? 50;
    const burstLimit = props.throttle?.burstLimit ?? 100;
    assertProps('IngestApi', ingestApiChecks(props));

    this.handler = new BridgeFunction(this, 'Ingest', {
      entry: fileURLToPath(new URL('../lambda/ingest/index.ts', import.meta.url)),
      environment: {
        CASE_BRIDGE_SECRET_ID: secretIdOf(props.secret),
        DD_SITE: props.datadogSite ?? 'datadoghq.com',
      },
      define: { __CASE_BRIDGE_RULES__: props.rulesJson, __CASE_BRIDGE_EXPRESSIONS__: props.expressionsJson ?? '{}' },
    });
    props.secret.grantRead(this.handler);

    this.api = new HttpApi(this, 'Api', { description: 'case-bridge webhooks', createDefaultStage: false });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogs), format: ACCESS_LOG_FORMAT },
    });
    const route = this.api.addRoutes({
      path: '/webhooks/{source}',
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('IngestIntegration', this.handler),
    });
    for (const r of route) {
      Validations.of(r).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Webhooks authenticate by their signature (HMAC or token), verified in the ingest function per source.' });
    }

    this.webhookBaseUrl = `${this.api.apiEndpoint}/webhooks`;
  }
}
