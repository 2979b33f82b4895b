import { Template, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { IngestApi, type IngestApiProps } from '../../lib/ingest-api.js';
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

  it('throttles the default stage at 50 rps with a burst of 100 by default', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
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
