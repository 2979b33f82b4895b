import { Duration, Validations } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { ENV } from '../lambda/shared/contract.js';
import { BridgeFunction, secretIdOf } from './bridge-function.js';
import { assertProps, isIntIn, type PropCheck } from './validate-props.js';
import { RETRY_BATCHING_WINDOW_SECONDS, RETRY_FUNCTION_TIMEOUT_SECONDS, SQS_MAX_VISIBILITY_TIMEOUT_SECONDS } from '../lambda/shared/budgets.js';
import { budgetsOf, retryBudgetChecks } from './budgets.js';


export interface RetryQueueProps {
  /** The bridge secret (Datadog keys); the retry function reads it. */
  readonly secret: ISecret;
  /** Datadog site. @default datadoghq.com */
  readonly datadogSite?: string;
  /**
   * Receives before SQS moves a message to the DLQ. A 429 re-enqueues a new message instead of
   * failing the record, so this counts only crashes and timeouts of the retry function.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Most concurrent retry functions: paces Datadog after a rate limit. 2 is the least SQS event
   * sources allow.
   * @default 2
   */
  readonly maxConcurrency?: number;
  /** Records per invocation. @default 10 */
  readonly batchSize?: number;
  /** How long the poller waits to fill a batch. @default 1 second */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retry function timeout; the queue's visibility timeout is six times this plus the batching
   * window (AWS guidance for SQS event sources).
   * @default RETRY_FUNCTION_TIMEOUT_SECONDS, 60 s (a batch of 10 Datadog calls with a 5 s deadline each, with margin)
   */
  readonly retryTimeout?: Duration;
  /**
   * The queue's visibility timeout: how long a received message stays hidden. At least six times
   * `retryTimeout` plus `maxBatchingWindow`, and at least a claim's length (checked at synth).
   * @default six times retryTimeout plus maxBatchingWindow (361 s)
   */
  readonly visibilityTimeout?: Duration;
}

type RetrySettings = Required<Pick<RetryQueueProps, 'maxReceiveCount' | 'maxConcurrency' | 'batchSize' | 'maxBatchingWindow' | 'retryTimeout' | 'visibilityTimeout'>>;

function withDefaults(props: Omit<RetryQueueProps, 'secret'>): RetrySettings {
  const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(RETRY_BATCHING_WINDOW_SECONDS);
  const retryTimeout = props.retryTimeout ?? Duration.seconds(RETRY_FUNCTION_TIMEOUT_SECONDS);
  return {
    maxReceiveCount: props.maxReceiveCount ?? 5,
    maxConcurrency: props.maxConcurrency ?? 2,
    batchSize: props.batchSize ?? 10,
    maxBatchingWindow,
    retryTimeout,
    visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(retryTimeout.toSeconds() * 6 + maxBatchingWindow.toSeconds()),
  };
}

/** The checks on RetryQueue's props (BridgeStack runs them too, before anything is built). */
export function retryQueueChecks(props: Omit<RetryQueueProps, 'secret'>): PropCheck[] {
  const { maxReceiveCount, maxConcurrency, batchSize, maxBatchingWindow, retryTimeout, visibilityTimeout } = withDefaults(props);
  return [
    [isIntIn(maxReceiveCount, 1, 1000), `maxReceiveCount must be an integer from 1 to 1000 (got ${maxReceiveCount})`],
    [isIntIn(maxConcurrency, 2, 1000), `maxConcurrency must be an integer from 2 to 1000 (got ${maxConcurrency})`],
    [isIntIn(batchSize, 1, 10), `batchSize must be an integer from 1 to 10 (got ${batchSize})`],
    [retryTimeout.toSeconds() >= 1 && retryTimeout.toSeconds() <= 900, 'retryTimeout must be from 1 s to 15 min (the Lambda limit)'],
    [retryTimeout.toSeconds() * 6 + maxBatchingWindow.toSeconds() <= SQS_MAX_VISIBILITY_TIMEOUT_SECONDS, 'retryTimeout is too long: six times it must fit the 12 h SQS visibility timeout'],
    [visibilityTimeout.toSeconds() <= SQS_MAX_VISIBILITY_TIMEOUT_SECONDS, 'visibilityTimeout must be at most 12 h (the SQS limit)'],
    ...retryBudgetChecks(budgetsOf({ retryTimeout, maxBatchingWindow, visibilityTimeout })),
  ];
}

/**
 * Where work goes that could not finish now: the retry queue, its DLQ and the retry function that
 * drains the queue at a pace Datadog accepts (lambda/retry/index.ts).
 */
export class RetryQueue extends Construct {
  readonly queue: Queue;
  readonly dlq: Queue;
  readonly retryFunction: BridgeFunction;

  constructor(scope: Construct, id: string, props: RetryQueueProps) {
    super(scope, id);
    const { maxReceiveCount, maxConcurrency, batchSize, maxBatchingWindow, retryTimeout, visibilityTimeout } = withDefaults(props);
    assertProps('RetryQueue', retryQueueChecks(props));

    this.dlq = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS keeps a redriven message's original enqueue time, so the DLQ outlives the retry queue.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'This queue is the dead-letter queue; operators redrive it with npm run redrive.' });

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout,
      deadLetterQueue: { queue: this.dlq, maxReceiveCount },
    });

    this.retryFunction = new BridgeFunction(this, 'Retry', {
      entry: fileURLToPath(new URL('../lambda/retry/index.ts', import.meta.url)),
      timeout: retryTimeout,
      environment: {
        [ENV.secretId]: secretIdOf(props.secret),
        [ENV.datadogSite]: props.datadogSite ?? 'datadoghq.com',
      },
    });
    props.secret.grantRead(this.retryFunction);
    // Consumes the queue (Receive/Delete/ChangeMessageVisibility on this queue only).
    this.retryFunction.addEventSource(new SqsEventSource(this.queue, { batchSize, maxBatchingWindow, maxConcurrency, reportBatchItemFailures: true }));
    // A second 429 re-enqueues with a fresh delay; a permanent failure goes to the DLQ with its reason.
    this.addProducer(this.retryFunction);
  }

  /**
   * Lets `fn` enqueue retries and dead-letter work itself: SendMessage on the two queues only, and
   * their URLs in its environment.
   */
  addProducer(fn: LambdaFunction): void {
    this.queue.grantSendMessages(fn);
    this.dlq.grantSendMessages(fn);
    fn.addEnvironment(ENV.retryQueueUrl, this.queue.queueUrl);
    fn.addEnvironment(ENV.dlqUrl, this.dlq.queueUrl);
  }
}
