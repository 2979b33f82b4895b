import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, LogGroupLogDestination, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { FilterPattern, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { ENV, METRICS } from '../lambda/shared/contract.js';
import { BridgeFunction, secretIdOf } from './bridge-function.js';
import { assertProps, isIntIn, type PropCheck } from './validate-props.js';
import { budgetsOf, ingestBudgetChecks } from './budgets.js';
import { INGEST_FUNCTION_TIMEOUT_SECONDS } from '../lambda/shared/budgets.js';
import { ACCESS_LOG_FIELDS } from './access-log.js';

/**
 * The edge's defaults, sized for the largest storm the README claims to take: 2,000 webhooks within
 * 30 s, possibly most of them within the first 2 s (an Alertmanager flushing every group at once).
 * - Stage: a bucket of 1,000 refilled at 500/s passes 2,000 requests in 2 s (16,000 in 30 s).
 * - Ingest concurrency: a webhook takes about 0.1-0.5 s (a Datadog create, or its 429 handed to SQS),
 *   so 200 functions keep up with 400-2,000 webhooks/s, the stage rate included; 2,000 spread over
 *   30 s fit even at 3 s each. Reserving them (RECOMMENDED_RESERVED_CONCURRENCY) needs an account
 *   quota of 300 or more, and new accounts start at 10 or 50, where a reservation fails the deploy:
 *   so the default reserves nothing and the README says when to reserve 200.
 * Abuse is bounded by the reserved concurrency when set (a flood never takes more executions from the
 * account, and never starves the retry function) and by the signature check (an unsigned request is
 * refused in milliseconds, so at the stage rate it costs requests, not capacity), not by a low rate:
 * API Gateway answers 429 past the stage limit, which Alertmanager, Grafana and Sentry do not retry.
 */
export const EDGE_DEFAULTS = { rateLimit: 500, burstLimit: 1_000, reservedConcurrency: 'none' } as const;

/** What the README recommends reserving once the account's concurrency quota is 300 or more. */
export const RECOMMENDED_RESERVED_CONCURRENCY = 200;

export interface IngestApiThrottle {
  /** Steady-state requests per second for the whole stage. @default 500 */
  readonly rateLimit?: number;
  /** Burst bucket size (API Gateway's account limit is 5,000). @default 1000 */
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
  /**
   * Stage throttling. Requests above it are answered 429 by API Gateway before the bridge sees them,
   * and several senders never retry a 429 (README, "What each sender retries"). @default 500 rps, burst 1,000
   */
  readonly throttle?: IngestApiThrottle;
  /**
   * Concurrent executions reserved for the ingest function, which is also the most it may use. Past
   * it, Lambda throttles and API Gateway answers 500 (which Alertmanager and Sentry retry). The account
   * must keep 100 unreserved: with a concurrency quota under 300, at most the quota minus 100, and
   * under 101 (new accounts often have 10 or 50) only 'none' deploys. @default 'none' (recommended:
   * RECOMMENDED_RESERVED_CONCURRENCY once the quota allows)
   */
  readonly reservedConcurrency?: number | 'none';
  /**
   * The ingest function's timeout. It must fit the ledger and queue calls, one whole Datadog call and
   * the answer (checked at synth); GitHub gives up on a webhook after 10 s.
   * @default INGEST_FUNCTION_TIMEOUT_SECONDS (10 s)
   */
  readonly timeout?: Duration;
  /** Retention of the API access logs. @default one month */
  readonly accessLogRetention?: RetentionDays;
}

/** One JSON line per request; the fields an operator needs to match a sender's delivery to our logs. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS));

/** The checks on IngestApi's props (BridgeStack runs them too, before anything is built). */
export function ingestApiChecks(props: Pick<IngestApiProps, 'throttle' | 'reservedConcurrency' | 'timeout'>): PropCheck[] {
  const rateLimit = props.throttle?.rateLimit ?? EDGE_DEFAULTS.rateLimit;
  const burstLimit = props.throttle?.burstLimit ?? EDGE_DEFAULTS.burstLimit;
  const reserved = props.reservedConcurrency ?? EDGE_DEFAULTS.reservedConcurrency;
  return [
    [rateLimit > 0 && Number.isFinite(rateLimit), `throttle.rateLimit must be a positive number (got ${rateLimit})`],
    [isIntIn(burstLimit, 1, 5000), `throttle.burstLimit must be an integer from 1 to 5000 (got ${burstLimit})`],
    // 0 would stop the function altogether.
    [reserved === 'none' || isIntIn(reserved, 1, 1_000_000), `reservedConcurrency must be a positive integer or 'none' (got ${reserved})`],
    ...ingestBudgetChecks(budgetsOf({ ingestTimeout: props.timeout ?? Duration.seconds(INGEST_FUNCTION_TIMEOUT_SECONDS) })),
  ];
}

/**
 * HTTP API in front of the ingest function: `POST /webhooks/{source}`, `GET /health` (version and
 * sources; no secret read, no Datadog call) and `$default`, so that any other request is answered by
 * the function in the documented `{error, message}` shape (404 not_found) rather than by API Gateway.
 */
export class IngestApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly handler: BridgeFunction;
  readonly accessLogs: LogGroup;
  /** `https://<api>/webhooks`: each source's URL is this plus `/<source>`. */
  readonly webhookBaseUrl: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const rateLimit = props.throttle?.rateLimit ?? EDGE_DEFAULTS.rateLimit;
    const burstLimit = props.throttle?.burstLimit ?? EDGE_DEFAULTS.burstLimit;
    const reserved = props.reservedConcurrency ?? EDGE_DEFAULTS.reservedConcurrency;
    assertProps('IngestApi', ingestApiChecks(props));

    this.handler = new BridgeFunction(this, 'Ingest', {
      entry: fileURLToPath(new URL('../lambda/ingest/index.ts', import.meta.url)),
      environment: {
        [ENV.secretId]: secretIdOf(props.secret),
        [ENV.datadogSite]: props.datadogSite ?? 'datadoghq.com',
      },
      timeout: props.timeout ?? Duration.seconds(INGEST_FUNCTION_TIMEOUT_SECONDS),
      define: { __CASE_BRIDGE_RULES__: props.rulesJson, __CASE_BRIDGE_EXPRESSIONS__: props.expressionsJson ?? '{}' },
      ...(reserved === 'none' ? {} : { reservedConcurrentExecutions: reserved }),
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
    // HTTP APIs publish no throttle metric (their 4xx also counts 401s): the access log line of every
    // request API Gateway answered 429 (stage or account throttling) becomes one.
    this.accessLogs.addMetricFilter('Throttled', {
      metricNamespace: METRICS.namespace,
      metricName: METRICS.apiThrottled.metricName,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricValue: '1',
      dimensions: { [METRICS.apiThrottled.dimension]: '$.apiId' },
    });
    const integration = new HttpLambdaIntegration('IngestIntegration', this.handler);
    const webhooks = this.api.addRoutes({ path: '/webhooks/{source}', methods: [HttpMethod.POST], integration });
    for (const r of webhooks) {
      Validations.of(r).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Webhooks authenticate by their signature (HMAC or token), verified in the ingest function per source.' });
    }
    const open = [
      ...this.api.addRoutes({ path: '/health', methods: [HttpMethod.GET], integration }),
      new HttpRoute(this, 'DefaultRoute', { httpApi: this.api, routeKey: HttpRouteKey.DEFAULT, integration }),
    ];
    for (const r of open) {
      Validations.of(r).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'GET /health tells only the version and the source names, and every other path is answered 404 by the function: nothing to authorize.' });
    }

    this.webhookBaseUrl = `${this.api.apiEndpoint}/webhooks`;
  }
}
