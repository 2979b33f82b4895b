import { afterEach, describe, expect, it, vi } from 'vitest';
import { BridgeError, DatadogError } from '../../lambda/shared/errors.js';
import { createLambdaLogger, LOG_SERVICE, resolveLogLevel, type LineWriter } from '../../lambda/shared/lambda-logger.js';
import { REDACTED } from '../../lambda/shared/log.js';

/** The lines written, parsed, each with the stream it would go to. */
function capture(): { write: LineWriter; lines: () => Record<string, unknown>[]; streams: () => string[]; raw: () => string } {
  const out: { line: string; level: string }[] = [];
  return {
    write: (line, level) => void out.push({ line, level }),
    lines: () => out.map((o) => JSON.parse(o.line) as Record<string, unknown>),
    streams: () => out.map((o) => (o.level === 'error' ? 'stderr' : 'stdout')),
    raw: () => out.map((o) => o.line).join('\n'),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const SECRET = 'ghs_super-secret-token-value';
const CONTEXT = { awsRequestId: 'req-1' };

describe('the Lambda entries\' JSON-lines logger', () => {
  it('writes JSON lines with the service, the delivery id as correlation id, and our redaction applied', () => {
    const out = capture();
    const logger = createLambdaLogger({ level: 'debug', fields: { function: 'ingest' }, write: out.write, env: {} });
    const elog = logger.child({ source: 'github', deliveryId: 'delivery-42' });
    elog.info('webhook refused', { reason: 'invalid_signature', headers: { authorization: `Bearer ${SECRET}`, 'x-hub-signature-256': 'sha256=abc' } });
    elog.warn('a value that looks like a credential', { note: `Bearer ${SECRET}`, nested: { apiKey: SECRET, list: [{ token: SECRET }] } });
    elog.error('case dead-lettered', { error: new DatadogError('bad keys', { status: 403, retryable: false }), request: { headers: { 'DD-API-KEY': SECRET } } });
    elog.debug(`Bearer ${SECRET}`);

    const lines = out.lines();
    expect(out.raw()).not.toContain(SECRET);
    expect(out.raw()).not.toContain('sha256=abc');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).toMatchObject({ service: LOG_SERVICE, function: 'ingest', source: 'github', deliveryId: 'delivery-42', correlation_id: 'delivery-42' });
      expect(line['timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    expect(lines.map((l) => l['level'])).toEqual(['INFO', 'WARN', 'ERROR', 'DEBUG']);
    expect(out.streams()).toEqual(['stdout', 'stdout', 'stderr', 'stdout']);
    expect(lines[0]).toMatchObject({ message: 'webhook refused', reason: 'invalid_signature', headers: { authorization: REDACTED, 'x-hub-signature-256': REDACTED } });
    expect(lines[1]).toMatchObject({ note: `Bearer ${REDACTED}`, nested: { apiKey: REDACTED, list: [{ token: REDACTED }] } });
    expect(lines[2]).toMatchObject({ error: { name: 'DatadogError', message: 'bad keys' }, request: { headers: { 'DD-API-KEY': REDACTED } } });
    expect(lines[3]).toMatchObject({ message: `Bearer ${REDACTED}` });
    // The line's own keys first, in Powertools' order, then the fields.
    expect(Object.keys(lines[0]!).slice(0, 4)).toEqual(['level', 'message', 'timestamp', 'service']);
  });

  it('writes ERROR lines to stderr and the others to stdout by default', () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0);
    const logger = createLambdaLogger({ env: {} });
    logger.info('one');
    logger.error('two', { password: SECRET });
    vi.restoreAllMocks();
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(/^\{"level":"INFO","message":"one",.*\}\n$/);
    expect(stderr).toHaveLength(1);
    expect(JSON.parse(stderr[0]!)).toMatchObject({ level: 'ERROR', message: 'two', password: REDACTED });
  });

  it('drops lines below its level and carries the request id after addContext, on children made before too', () => {
    const out = capture();
    const logger = createLambdaLogger({ level: 'warn', write: out.write, env: {} });
    const child = logger.child({ source: 'sentry' });
    logger.addContext(CONTEXT);
    logger.info('not written', { token: SECRET });
    logger.debug('not written either');
    logger.warn('written');
    child.error('from the child');
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'WARN', message: 'written', function_request_id: 'req-1' });
    expect(lines[1]).toMatchObject({ level: 'ERROR', source: 'sentry', function_request_id: 'req-1' });
    // Only the request id of the Lambda context: the log group names the function (issue 15).
    expect(Object.keys(lines[0]!).filter((k) => k.startsWith('function_') || k === 'xray_trace_id' || k === 'sampling_rate')).toEqual(['function_request_id']);
    expect(lines[0]).not.toHaveProperty('correlation_id');
    expect(lines[0]).not.toHaveProperty('cold_start');
  });

  it('marks every line of a container\'s first on-demand invocation with cold_start, and no later one', () => {
    const out = capture();
    const logger = createLambdaLogger({ write: out.write, env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' } });
    logger.info('loaded');
    logger.addContext({ awsRequestId: 'first' });
    logger.info('a');
    logger.child({ source: 'github' }).info('b');
    logger.addContext({ awsRequestId: 'second' });
    logger.info('c');
    logger.addContext({ awsRequestId: 'third' });
    logger.info('d');
    expect(out.lines().map((l) => [l['message'], l['function_request_id'], l['cold_start']])).toEqual([
      ['loaded', undefined, undefined],
      ['a', 'first', true],
      ['b', 'first', true],
      ['c', 'second', undefined],
      ['d', 'third', undefined],
    ]);
  });

  it('never marks cold_start on a container Lambda started ahead (provisioned concurrency) or outside Lambda', () => {
    for (const env of [{ AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' }, {}]) {
      const out = capture();
      const logger = createLambdaLogger({ write: out.write, env });
      logger.addContext(CONTEXT);
      logger.info('a');
      expect(out.lines()[0]).not.toHaveProperty('cold_start');
    }
  });

  it('lets Lambda\'s application log level govern, saying once when it is less verbose than LOG_LEVEL', () => {
    expect(resolveLogLevel('info', {})).toEqual({ threshold: 12 });
    expect(resolveLogLevel('error', {})).toEqual({ threshold: 20 });
    expect(resolveLogLevel('info', { AWS_LAMBDA_LOG_LEVEL: 'DEBUG' })).toEqual({ threshold: 8 });
    expect(resolveLogLevel('info', { AWS_LAMBDA_LOG_LEVEL: 'not-a-level' })).toEqual({ threshold: 12 });
    expect(resolveLogLevel('debug', { AWS_LAMBDA_LOG_LEVEL: 'FATAL' }).threshold).toBe(24);

    const out = capture();
    const logger = createLambdaLogger({ level: 'debug', write: out.write, env: { AWS_LAMBDA_LOG_LEVEL: 'WARN' } });
    logger.debug('dropped');
    logger.info('dropped');
    logger.warn('kept');
    expect(out.lines().map((l) => [l['level'], l['message']])).toEqual([
      ['WARN', 'Current log level (DEBUG) does not match AWS Lambda Advanced Logging Controls minimum log level (WARN). This can lead to data loss, consider adjusting them.'],
      ['WARN', 'kept'],
    ]);

    const debug = capture();
    createLambdaLogger({ level: 'info', write: debug.write, env: { AWS_LAMBDA_LOG_LEVEL: 'DEBUG' } }).debug('kept');
    expect(debug.lines()).toMatchObject([{ level: 'DEBUG', message: 'kept' }]);
  });

  it('serializes errors as their name, message and cause chain, redacted, never their stack or other own fields', () => {
    const out = capture();
    const logger = createLambdaLogger({ write: out.write, env: {} });
    const root = new Error(`connect refused, header Bearer ${SECRET}`);
    const error = new DatadogError('Datadog answered 500', { status: 500, retryable: true, errors: ['internal'], cause: new BridgeError('wrapped', { cause: root }) });
    logger.error('delivery failed', { error, other: new Error('reload failed', { cause: { apiKey: SECRET, items: [{ token: SECRET }] } }) });
    expect(out.raw()).not.toContain(SECRET);
    expect(out.raw()).not.toContain('    at ');
    const line = out.lines()[0]!;
    expect(line['error']).toEqual({ name: 'DatadogError', message: 'Datadog answered 500', cause: { name: 'BridgeError', message: 'wrapped', cause: { name: 'Error', message: `connect refused, header Bearer ${REDACTED}` } } });
    expect(line['other']).toEqual({ name: 'Error', message: 'reload failed', cause: { apiKey: REDACTED, items: [{ token: REDACTED }] } });
  });

  it('drops fields named like the line\'s own keys and top-level fields that are empty, as Powertools did', () => {
    const out = capture();
    const logger = createLambdaLogger({ write: out.write, env: {} });
    logger.info('kept', { level: 'x', message: 'x', service: 'x', timestamp: 'x', sampling_rate: 1, none: undefined, nil: null, empty: '', zero: 0, no: false, big: 12n, at: new Date(0) });
    expect(out.lines()[0]).toEqual({ level: 'INFO', message: 'kept', timestamp: expect.any(String), service: LOG_SERVICE, zero: 0, no: false, big: '12', at: '1970-01-01T00:00:00.000Z' });
  });

  it('never throws when the line cannot be written', () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => {
      throw new Error('EPIPE');
    });
    expect(() => createLambdaLogger({ env: {} }).info('lost')).not.toThrow();
  });
});
