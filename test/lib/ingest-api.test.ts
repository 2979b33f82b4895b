import { Template, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EDGE_DEFAULTS, IngestApi, RECOMMENDED_RESERVED_CONCURRENCY, type IngestApiProps } from '../../lib/ingest-api.js';
import { ConfigError } from '../../lambda/shared/errors.js';
import { constructStack } from './support.js';

function build(props: Partial<IngestApiProps> = {}) {
  const { stack, secret } = constructStack();
  new IngestApi(stack, 'IngestApi', { secret, rulesJson: '{}', ...props });
  return Template.fromStack(stack);
}

describe('IngestApi', () => {
  const template = build();

  it('routes POST /webhooks/{source} to the ingest function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /webhooks/{source}' });
  });

  it('routes GET /health and every other request ($default) to the same function, without an authorizer', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties as { RouteKey: string; Target: unknown; AuthorizationType?: string });
    const integrations = Object.keys(template.findResources('AWS::ApiGatewayV2::Integration'));

    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['$default', 'GET /health', 'POST /webhooks/{source}']);
    // One integration: the ingest function answers all three (health and 404 without reading the secret).
    expect(integrations).toHaveLength(1);
    expect(new Set(routes.map((r) => JSON.stringify(r.Target))).size).toBe(1);
    expect(routes.map((r) => r.AuthorizationType ?? 'NONE')).toEqual(['NONE', 'NONE', 'NONE']);
    // API Gateway may invoke the function for each route.
    expect(Object.keys(template.findResources('AWS::Lambda::Permission')).length).toBeGreaterThanOrEqual(1);
  });

  it('throttles the default stage at 500 rps with a burst of 1,000 by default', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
  });

  it('passes the storm the README claims (2,000 webhooks in 30 s, most in the first 2 s) through the stage', () => {
    // Token bucket: `burst` at once, refilled at `rate` per second.
    const passed = (seconds: number) => EDGE_DEFAULTS.burstLimit + EDGE_DEFAULTS.rateLimit * seconds;
    expect(passed(2)).toBeGreaterThanOrEqual(2_000);
    expect(passed(30)).toBeGreaterThanOrEqual(2_000);
    // The recommended 200 functions at 0.4 s a webhook keep up with the stage rate, so a legitimate storm
    // meets Lambda's limit (a 500, which senders retry) no earlier than API Gateway's (a 429, which several do not).
    expect(RECOMMENDED_RESERVED_CONCURRENCY / 0.4).toBeGreaterThanOrEqual(EDGE_DEFAULTS.rateLimit);
  });

  it('reserves nothing by default (a first deploy must work on a new account\'s quota of 10), or what props say', () => {
    const reservedOf = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function')).map((f) => f.Properties.ReservedConcurrentExecutions);
    expect(reservedOf(template)).toEqual([undefined]);
    expect(reservedOf(build({ reservedConcurrency: RECOMMENDED_RESERVED_CONCURRENCY }))).toEqual([200]);
    expect(reservedOf(build({ reservedConcurrency: 50 }))).toEqual([50]);
    expect(reservedOf(build({ reservedConcurrency: 'none' }))).toEqual([undefined]);
  });

  it('rejects a reserved concurrency of 0 (it would stop the function) or a fraction', () => {
    expect(() => build({ reservedConcurrency: 0 })).toThrow(ConfigError);
    expect(() => build({ reservedConcurrency: 2.5 })).toThrow(ConfigError);
  });

  it('counts the requests API Gateway answered 429 from the access log, per API', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { AccessLogSettings: { Format: Match.stringLikeRegexp('"apiId":"\\$context\\.apiId"') } });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: Match.stringLikeRegexp('AccessLogs') },
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [{ MetricNamespace: 'CaseBridge', MetricName: 'ApiThrottled', MetricValue: '1', Dimensions: [{ Key: 'ApiId', Value: '$.apiId' }] }],
    });
  });

  it('takes the throttling from props', () => {
    build({ throttle: { rateLimit: 5, burstLimit: 10 } }).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('writes JSON access logs with the request id to a log group with retention', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] }, Format: Match.stringLikeRegexp('"requestId":"\\$context\\.requestId"') },
    });
    const accessLogs = Object.entries(template.findResources('AWS::Logs::LogGroup')).filter(([id]) => id.includes('AccessLogs'));
    expect(accessLogs.map(([, r]) => r.Properties.RetentionInDays)).toEqual([30]);
  });

  it('rejects a non-positive rate and a fractional burst', () => {
    expect(() => build({ throttle: { rateLimit: 0, burstLimit: 1.5 } })).toThrow(ConfigError);
  });
});
