import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DatadogError } from '../../lambda/shared/errors.js';
import { REDACTED } from '../../lambda/shared/log.js';
import { createPowertoolsLogger, LOG_SERVICE } from '../../lambda/shared/powertools-logger.js';

/** Powertools writes with its own Console: info/debug/warn lines to stdout, error lines to stderr. */
function capture(): { lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const grab = (chunk: string | Uint8Array): boolean => {
    chunks.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(grab);
  vi.spyOn(process.stderr, 'write').mockImplementation(grab);
  const raw = (): string => chunks.join('');
  return {
    raw,
    lines: () =>
      raw()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const SECRET = 'ghs_super-secret-token-value';

describe('the Powertools logger adapter (Lambda entries)', () => {
  it('writes Powertools JSON lines with the service, the delivery id as correlation id, and our redaction applied', () => {
    const out = capture();
    const { logger } = createPowertoolsLogger({ level: 'debug', fields: { function: 'ingest' } });
    const elog = logger.child({ source: 'github', deliveryId: 'delivery-42' });
    elog.info('webhook refused', { reason: 'invalid_signature', headers: { authorization: `Bearer ${SECRET}`, 'x-hub-signature-256': 'sha256=abc' } });
    elog.warn('a value that looks like a credential', { note: `Bearer ${SECRET}`, nested: { apiKey: SECRET, list: [{ token: SECRET }] } });
    elog.error('case dead-lettered', { error: new DatadogError('bad keys', { status: 403, retryable: false }), request: { headers: { 'DD-API-KEY': SECRET } } });
    elog.debug(`Bearer ${SECRET}`);

    const lines = out.lines();
    vi.restoreAllMocks();
    expect(out.raw()).not.toContain(SECRET);
    expect(out.raw()).not.toContain('sha256=abc');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).toMatchObject({ service: LOG_SERVICE, function: 'ingest', source: 'github', deliveryId: 'delivery-42', correlation_id: 'delivery-42' });
      expect(typeof line['timestamp']).toBe('string');
    }
    expect(lines.map((l) => l['level'])).toEqual(['INFO', 'WARN', 'ERROR', 'DEBUG']);
    expect(lines[0]).toMatchObject({ message: 'webhook refused', reason: 'invalid_signature', headers: { authorization: REDACTED, 'x-hub-signature-256': REDACTED } });
    expect(lines[1]).toMatchObject({ note: `Bearer ${REDACTED}`, nested: { apiKey: REDACTED, list: [{ token: REDACTED }] } });
    expect(lines[2]).toMatchObject({ error: { name: 'DatadogError', message: 'bad keys' }, request: { headers: { 'DD-API-KEY': REDACTED } } });
    expect(lines[3]).toMatchObject({ message: `Bearer ${REDACTED}` });
  });

  it('drops lines below its level and carries the Lambda context after addContext', () => {
    const out = capture();
    const { logger, powertools } = createPowertoolsLogger({ level: 'warn' });
    powertools.addContext({ functionName: 'ingest-fn', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ingest-fn', memoryLimitInMB: '256', awsRequestId: 'req-1' } as Context);
    logger.info('not written', { token: SECRET });
    logger.warn('written');
    const lines = out.lines();
    vi.restoreAllMocks();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'WARN', message: 'written', function_request_id: 'req-1' });
    // Only the request id of the Lambda context: the log group names the function (issue 15).
    expect(Object.keys(lines[0]!).filter((k) => k.startsWith('function_') || k === 'xray_trace_id' || k === 'sampling_rate')).toEqual(['function_request_id']);
    expect(lines[0]).not.toHaveProperty('correlation_id');
  });

  it('uses a given Powertools logger', () => {
    const powertools = new PowertoolsLogger({ serviceName: 'other', logLevel: 'INFO' });
    const info = vi.spyOn(powertools, 'info').mockImplementation(() => undefined);
    createPowertoolsLogger({ powertools }).logger.info('hello', { password: 'p' });
    expect(info).toHaveBeenCalledWith('hello', { password: REDACTED });
  });
});
