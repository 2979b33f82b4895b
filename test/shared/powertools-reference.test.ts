/**
 * The hand-written log lines and EMF documents of the Lambda entries against Powertools (a
 * devDependency kept for this test only), fed the same calls: the lines the functions wrote with
 * Powertools Logger and our formatter, and the documents Powertools Metrics serialized, before issue
 * 15 replaced them (lambda/shared/lambda-logger.ts, lambda/shared/metrics.ts).
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../../lambda/shared/contract.js';
import { BridgeError, DatadogError } from '../../lambda/shared/errors.js';
import { createLambdaLogger, LOG_SERVICE } from '../../lambda/shared/lambda-logger.js';
import { redact, type Logger, type LogLevel } from '../../lambda/shared/log.js';
import { EmfMetrics, mergeEmf, type EmfDocument } from '../../lambda/shared/metrics.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

// ---------------------------------------------------------------------------------------------
// The reference logger: Powertools Logger behind our Logger, as lambda/shared/powertools-logger.ts had it.

class BridgeLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        ...(context?.awsRequestId !== undefined ? { function_request_id: context.awsRequestId } : {}),
        ...(context?.coldStart === true ? { cold_start: true } : {}),
      },
    }).addAttributes(additional);
  }
}

function powertoolsLogger(level: LogLevel, lines: string[]): { logger: Logger; addContext: (c: Context) => void } {
  // What it writes while constructed (the level warning, compared in lambda-logger.test.ts) goes to its first Console.
  const pt = new PowertoolsLogger({ serviceName: LOG_SERVICE, logFormatter: new BridgeLogFormatter(), logLevel: level.toUpperCase() as Uppercase<LogLevel> });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  Object.assign(pt, { console: new Console({ stdout: sink, stderr: sink }) });
  const wrap = (base: Record<string, unknown>): Logger => {
    const emit = (l: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      const merged: Record<string, unknown> = { ...base, ...fields };
      const deliveryId = merged['deliveryId'];
      if (typeof deliveryId === 'string') merged['correlation_id'] = deliveryId;
      pt[l](redact(message) as string, redact(merged) as Record<string, unknown>);
    };
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (f) => wrap({ ...base, ...f }) };
  };
  return { logger: wrap({}), addContext: (c) => pt.addContext(c) };
}

/** The same calls to a logger, as two invocations of one container (one error for both: its stack names where it was made). */
function script(logger: Logger, addContext: (c: Context) => void, error: Error): void {
  const context = (id: string) => ({ functionName: 'ingest', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest', memoryLimitInMB: '256', awsRequestId: id }) as Context;
  logger.info('loaded');
  addContext(context('req-1'));
  const elog = logger.child({ source: 'github', deliveryId: 'd-1' });
  elog.debug('verified', { ms: 1.5 });
  elog.info('delivery', { source: 'github', delivery: 'abc', status: 'created', answer: 201, trace: 'verified; rule "github issues"; created DDFC-1', ms: 12, headers: { authorization: 'Bearer t0ken' } });
  elog.warn('rate limited', { retryInS: 7, nested: { apiKey: 'k', list: [{ token: 't' }, 'Bearer x'] }, nothing: null, none: undefined, empty: '' });
  elog.error('dead-lettered', { error });
  addContext(context('req-2'));
  logger.child({ deliveryId: '' }).info('second invocation', { zero: 0, no: false, list: [1, 'two'] });
}

/** The lines without their timestamps (each logger reads the clock), checked to be of one format. */
function withoutTimestamps(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l) => {
    const { timestamp, ...rest } = JSON.parse(l) as Record<string, unknown>;
    expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    return rest;
  });
}

describe('the JSON-lines logger against Powertools Logger with the bridge formatter', () => {
  for (const [name, level, env] of [
    ['a container started on demand, LOG_LEVEL debug', 'debug', { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }],
    ['LOG_LEVEL info, outside Lambda', 'info', {}],
    ['LOG_LEVEL debug under Lambda\'s application log level WARN', 'debug', { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand', AWS_LAMBDA_LOG_LEVEL: 'WARN' }],
    ['LOG_LEVEL error under Lambda\'s application log level INFO', 'error', { AWS_LAMBDA_LOG_LEVEL: 'INFO' }],
  ] as const) {
    it(`writes the same lines, key for key and in order: ${name}`, () => {
      vi.stubEnv('TZ', 'UTC');
      vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', undefined);
      vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', undefined);
      vi.stubEnv('POWERTOOLS_DEV', undefined);
      vi.stubEnv('_X_AMZN_TRACE_ID', undefined);
      for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
      const error = new DatadogError('bad keys', { status: 403, retryable: false, cause: new BridgeError('inner', { cause: new Error('Bearer abc') }) });
      const reference: string[] = [];
      const pt = powertoolsLogger(level, reference);
      script(pt.logger, pt.addContext, error);
      const ours: string[] = [];
      const logger = createLambdaLogger({ level, write: (line) => void ours.push(line), env });
      script(logger, (c) => logger.addContext(c), error);
      expect(reference.length).toBeGreaterThan(0);
      const expected = withoutTimestamps(reference);
      const actual = withoutTimestamps(ours);
      if (level === 'debug' && 'AWS_LAMBDA_LOG_LEVEL' in env) expect(actual.shift()).toMatchObject({ level: 'WARN', message: expect.stringMatching(/^Current log level \(DEBUG\) does not match AWS Lambda Advanced Logging Controls minimum log level \(WARN\)/) });
      expect(actual).toEqual(expected);
      expect(actual.map((l) => Object.keys(l))).toEqual(expected.map((l) => Object.keys(l)));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The reference metrics: each dimension set serialized by Powertools Metrics, merged as before.

interface Recorded {
  readonly source: string;
  readonly extra?: { readonly name: 'reason' | 'outcome'; readonly value: string };
  readonly counts: readonly [string, number][];
  readonly latencies?: readonly number[];
}

function powertoolsDocuments(sets: readonly Recorded[]): EmfDocument[] {
  const m = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service.value });
  const docs: EmfDocument[] = [];
  for (const set of sets) {
    m.addDimension('source', set.source);
    if (set.extra) m.addDimension(set.extra.name, set.extra.value);
    for (const [name, value] of set.counts) m.addMetric(name, MetricUnit.Count, value);
    for (const ms of set.latencies ?? []) m.addMetric('DatadogLatency', MetricUnit.Milliseconds, Math.round(ms * 100) / 100);
    docs.push(m.serializeMetrics() as EmfDocument);
    m.clearMetrics();
    m.clearDimensions();
  }
  return mergeEmf(docs);
}

function ourDocuments(sets: readonly Recorded[]): EmfDocument[] {
  const lines: string[] = [];
  const metrics = new EmfMetrics((line) => void lines.push(line));
  for (const set of sets) {
    for (const [name, value] of set.counts) {
      if (set.extra?.name === 'reason') for (let i = 0; i < value; i++) metrics.rejected(set.source, set.extra.value);
      else if (set.extra?.name === 'outcome') for (let i = 0; i < value; i++) metrics.outcome(name as 'Deliveries', set.source, set.extra.value);
      else metrics.count(name as 'CasesCreated', set.source, value);
    }
    for (const ms of set.latencies ?? []) metrics.latency(set.source, ms);
  }
  metrics.flush();
  return lines.map((l) => JSON.parse(l) as EmfDocument);
}

const withoutTimestamp = (docs: EmfDocument[]) => docs.map((d) => ({ ...d, _aws: { ...d._aws, Timestamp: 0 } }));

describe('EmfMetrics against Powertools Metrics\' serializeMetrics (and mergeEmf)', () => {
  const cases: [string, Recorded[]][] = [
    ['a first firing', [
      { source: 'github', counts: [['WebhooksReceived', 1], ['WebhooksVerified', 1], ['CasesCreated', 1]], latencies: [12.3456] },
      { source: 'github', extra: { name: 'outcome', value: 'created' }, counts: [['Deliveries', 1]] },
    ]],
    ['a refused webhook', [{ source: 'sentry', extra: { name: 'reason', value: 'invalid_signature' }, counts: [['WebhooksRejected', 1]] }, { source: 'sentry', counts: [['WebhooksReceived', 1]] }]],
    ['a retry batch over two sources, several latencies, two outcomes', [
      { source: 'github', counts: [['RetriesSucceeded', 3], ['RateLimited', 2]], latencies: [100, 250.555, 3] },
      { source: 'github', extra: { name: 'outcome', value: 'created' }, counts: [['Deliveries', 2]] },
      { source: 'github', extra: { name: 'outcome', value: 'dead' }, counts: [['Deliveries', 1]] },
      { source: 'pagerduty', counts: [['DeadLettered', 1]] },
      { source: 'pagerduty', extra: { name: 'outcome', value: 'record' }, counts: [['JournalFailed', 1]] },
    ]],
  ];
  for (const [name, sets] of cases) {
    it(`writes the same documents: ${name}`, () => {
      vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
      vi.stubEnv('POWERTOOLS_DEV', undefined);
      const expected = withoutTimestamp(powertoolsDocuments(sets));
      const actual = withoutTimestamp(ourDocuments(sets));
      expect(actual).toEqual(expected);
      expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
    });
  }
});
