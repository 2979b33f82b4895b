import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RetryQueue } from '../../lib/retry-queue.js';
import { ConfigError } from '../../lambda/shared/errors.js';
import { constructStack } from './support.js';

function build(props: Partial<ConstructorParameters<typeof RetryQueue>[2]> = {}) {
  const { stack, secret } = constructStack();
  const retry = new RetryQueue(stack, 'Retry', { secret, ...props });
  return { retry, template: Template.fromStack(stack), stack };
}

describe('RetryQueue', () => {
  const { template } = build();

  it('dead-letters after 5 receives by default', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 },
    });
  });

  it('keeps dead letters for 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1_209_600, RedrivePolicy: Match.absent() });
  });

  it('encrypts both queues with SQS-managed keys and denies requests without TLS', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(2);
    for (const queue of Object.values(queues)) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('sizes the visibility timeout to six times the retry function timeout plus the batching window', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 6 * 60 + 1 });
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 60, Handler: 'index.handler' });
  });

  it('runs the retry function on Node.js 22 on arm64', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'nodejs24.x', Architectures: ['arm64'] });
  });

  it('consumes the queue with partial batch failures and capped concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RetryQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
    });
  });

  it('gives the retry function both queue URLs and the secret id', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CASE_BRIDGE_RETRY_QUEUE_URL: { Ref: Match.stringLikeRegexp('RetryQueue') },
          CASE_BRIDGE_DLQ_URL: { Ref: Match.stringLikeRegexp('DeadLetterQueue') },
          CASE_BRIDGE_SECRET_ID: { Ref: Match.stringLikeRegexp('Secret') },
        }),
      },
    });
  });

  it('takes maxReceiveCount, maxConcurrency and batchSize from props', () => {
    const { template: custom } = build({ maxReceiveCount: 8, maxConcurrency: 4, batchSize: 5, retryTimeout: Duration.seconds(45), maxBatchingWindow: Duration.seconds(0) });

    custom.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 270, RedrivePolicy: Match.objectLike({ maxReceiveCount: 8 }) });
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 }, BatchSize: 5 });
  });

  it('rejects every invalid prop at once', () => {
    expect(() => build({ maxConcurrency: 1, batchSize: 11, maxReceiveCount: 0 })).toThrow(ConfigError);
    expect(() => build({ maxConcurrency: 1, batchSize: 11, maxReceiveCount: 0 })).toThrow(/maxReceiveCount[\s\S]*maxConcurrency[\s\S]*batchSize/);
  });
});
