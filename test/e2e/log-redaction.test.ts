import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatadogError } from '../../lambda/shared/errors.js';
import { createLogger, REDACTED } from '../../lambda/shared/log.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { startTestBridge, testSecret, TEST_SECRETS, type TestBridge, postGithubIssue } from '../support/local-bridge.js';

const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;
const WRONG_TOKEN = 'wrong-alertmanager-token-6c1f';

interface LogLine {
  level: string;
  message: string;
  deliveryId?: string;
  [key: string]: unknown;
}

function issueBody(n: number): string {
  return JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Issue ${n}`, body: 'details', html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
}

const ALERTMANAGER_BODY = JSON.stringify({
  version: '4',
  receiver: 'case-bridge',
  status: 'firing',
  groupKey: '{}:{alertname="HighLatency"}',
  groupLabels: { alertname: 'HighLatency' },
  commonLabels: { alertname: 'HighLatency', severity: 'warning' },
  commonAnnotations: { summary: 'p99 above 2 s' },
  externalURL: 'http://alertmanager.example:9093',
  alerts: [{ status: 'firing', labels: { alertname: 'HighLatency', severity: 'warning' }, annotations: { summary: 'p99 above 2 s' }, fingerprint: 'c0ffee' }],
});

/** Every value that must never appear in a log line. */
const FORBIDDEN = [
  ...Object.values(TEST_SECRETS),
  DD_KEYS.DD_API_KEY,
  DD_KEYS.DD_APP_KEY,
  `Bearer ${testSecret('alertmanager')}`,
  `Bearer ${WRONG_TOKEN}`,
  WRONG_TOKEN,
];

describe('log lines of a running bridge', () => {
  let dd: DatadogTestServer;
  let bridge: TestBridge;
  let lines: LogLine[];

  beforeAll(async () => {
    dd = await startDatadogServer();
    bridge = await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000' } });

    const github = async (delivery: string, raw: string, secret?: string) => postGithubIssue(bridge.url, { delivery, body: raw, ...(secret !== undefined ? { secret } : {}) });
    const alertmanager = async (token: string) =>
      fetch(`${bridge.url}/webhooks/alertmanager`, { method: 'POST', body: ALERTMANAGER_BODY, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });

    const statuses: number[] = [];
    statuses.push((await github('delivery-good', issueBody(1))).status);
    statuses.push((await github('delivery-bad-signature', issueBody(2), 'not-the-secret')).status);
    statuses.push((await alertmanager(testSecret('alertmanager'))).status);
    statuses.push((await alertmanager(WRONG_TOKEN)).status);
    dd.failNext(1, { status: 400, body: { errors: [{ status: '400', title: 'Bad Request', detail: 'priority is invalid' }] } });
    statuses.push((await github('delivery-dead', issueBody(3))).status);
    dd.failNext(1, { status: 503 });
    statuses.push((await github('delivery-retry', issueBody(4))).status);
    dd.failNext(2, { status: 403, body: { errors: ['Forbidden'] } });
    statuses.push((await github('delivery-forbidden', issueBody(5))).status);
    // The requests did what they are meant to, so the log lines below cover every path.
    expect(statuses).toEqual([201, 401, 201, 401, 202, 202, 202]);

    lines = bridge.logs.map((l) => JSON.parse(l) as LogLine);
  });
  afterAll(async () => {
    await bridge?.close();
    await dd?.close();
  });

  it('wrote lines for every path', () => {
    const messages = lines.map((l) => l.message);
    expect(messages).toEqual(expect.arrayContaining(['delivery', 'webhook rejected: not authenticated', 'case dead-lettered', 'case deferred to the retry queue']));
    expect(lines.filter((l) => l.message === 'webhook rejected: not authenticated').map((l) => [l.source, l['reason']])).toEqual([
      ['github', 'signature does not match'],
      ['alertmanager', 'credential does not match'],
    ]);
  });

  it('contains no secret, Datadog key, bearer token or Authorization value', () => {
    expect(bridge.logs.length).toBeGreaterThan(0);
    for (const line of bridge.logs) {
      for (const value of FORBIDDEN) expect(line, `log line leaks ${value}`).not.toContain(value);
    }
  });

  it.each([
    ['delivery-good', 'delivery'],
    ['delivery-dead', 'case dead-lettered'],
    ['delivery-retry', 'case deferred to the retry queue'],
    ['delivery-forbidden', 'case dead-lettered'],
  ])('carries the delivery id %s on "%s"', (deliveryId, message) => {
    const line = lines.find((l) => l.deliveryId === deliveryId && l.message === message);
    expect(line).toBeDefined();
    expect(line?.source).toBe('github');
    expect(line?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs Datadog\'s reason on a dead letter', () => {
    const line = lines.find((l) => l.deliveryId === 'delivery-dead' && l.message === 'case dead-lettered');
    expect(line?.level).toBe('error');
    expect(line?.['status']).toBe(400);
    expect(String(line?.['reason'])).toContain('priority is invalid');
  });
});

describe('createLogger redaction', () => {
  function capture(level: 'debug' | 'info' = 'debug') {
    const out: string[] = [];
    const logger = createLogger({ level, write: (l) => out.push(l), now: () => new Date('2025-01-02T03:04:05.000Z') });
    return { logger, out, parsed: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
  }

  it.each([
    ['apiKey'],
    ['api_key'],
    ['DD-API-KEY'],
    ['appKey'],
    ['DD-APPLICATION-KEY'],
    ['authorization'],
    ['Authorization'],
    ['secret'],
    ['clientSecret'],
    ['GITHUB_WEBHOOK_SECRET'],
    ['token'],
    ['accessToken'],
    ['password'],
    ['x-hub-signature-256'],
    ['cookie'],
    ['credentials'],
  ])('replaces the value of a %s key', (key) => {
    const { logger, out, parsed } = capture();

    logger.info('m', { [key]: 'sensitive-value-1', deeper: { [key]: { any: 'sensitive-value-2' } } });

    expect(out[0]).not.toContain('sensitive-value');
    expect(parsed()[0]).toMatchObject({ [key]: REDACTED, deeper: { [key]: REDACTED } });
  });

  it('redacts inside nested objects and arrays, keeping the other fields', () => {
    const { logger, out, parsed } = capture();

    logger.warn('request failed', {
      deliveryId: 'd-42',
      request: {
        headers: { 'content-type': 'application/json', Authorization: 'Bearer abc.def.ghi', 'DD-API-KEY': 'k-api', 'DD-APPLICATION-KEY': 'k-app' },
        attempts: [{ status: 403, apiKey: 'k-old' }, [{ secret: 's-1' }], 'Bearer tok-in-array', 'Basic dXNlcjpwYXNz'],
      },
    });

    for (const value of ['abc.def.ghi', 'k-api', 'k-app', 'k-old', 's-1', 'tok-in-array', 'dXNlcjpwYXNz']) expect(out[0]).not.toContain(value);
    expect(parsed()[0]).toEqual({
      level: 'warn',
      time: '2025-01-02T03:04:05.000Z',
      message: 'request failed',
      deliveryId: 'd-42',
      request: {
        headers: { 'content-type': 'application/json', Authorization: REDACTED, 'DD-API-KEY': REDACTED, 'DD-APPLICATION-KEY': REDACTED },
        attempts: [{ status: 403, apiKey: REDACTED }, [{ secret: REDACTED }], `Bearer ${REDACTED}`, `Basic ${REDACTED}`],
      },
    });
  });

  it('redacts the same keys however many field names it has logged before (its key checks are kept per key, bounded)', () => {
    const { logger, out, parsed } = capture();
    logger.info('first', { apiKey: 'k-1', status: 'ok' });
    // More distinct names than are kept: the credential keys are still told apart afterwards.
    for (let i = 0; i < 1200; i++) logger.info('many', { [`field${i}`]: 'v', [`field${i}Token`]: `t-${i}` });
    logger.info('last', { apiKey: 'k-2', status: 'ok' });
    for (const value of ['k-1', 'k-2', 't-0', 't-700', 't-1199']) expect(out.join('\n')).not.toContain(value);
    const lines = parsed();
    expect(lines[0]).toMatchObject({ apiKey: REDACTED, status: 'ok' });
    expect(lines[700]).toMatchObject({ field699: 'v', field699Token: REDACTED });
    expect(lines.at(-1)).toMatchObject({ apiKey: REDACTED, status: 'ok' });
  });

  it('cuts Authorization-looking values under innocent keys to their scheme', () => {
    const { logger, parsed } = capture();

    logger.info('m', { header: 'Bearer xyz', other: 'token Tk-1', plain: 'Bearer', text: 'not a Bearer x' });

    expect(parsed()[0]).toMatchObject({ header: `Bearer ${REDACTED}`, other: `token ${REDACTED}`, plain: 'Bearer', text: 'not a Bearer [REDACTED]' });
  });

  it('writes errors as name, message and a redacted cause chain, never the stack or other own fields', () => {
    const { logger, out, parsed } = capture();
    const root = Object.assign(new Error('socket hang up'), { headers: { 'DD-API-KEY': 'k-in-error-field' } });
    const middle = new DatadogError('Datadog POST /api/v2/cases answered 403: Forbidden', { status: 403, retryable: false, cause: root });
    const outer = new Error('delivery failed', { cause: middle });
    const withObjectCause = new Error('reload failed', { cause: { apiKey: 'k-in-cause', items: [{ token: 't-in-cause' }] } });

    logger.error('boom', { error: outer, other: withObjectCause });

    for (const value of ['k-in-error-field', 'k-in-cause', 't-in-cause', '    at ']) expect(out[0]).not.toContain(value);
    expect(parsed()[0]).toMatchObject({
      error: {
        name: 'Error',
        message: 'delivery failed',
        cause: { name: 'DatadogError', message: 'Datadog POST /api/v2/cases answered 403: Forbidden', cause: { name: 'Error', message: 'socket hang up' } },
      },
      other: { name: 'Error', message: 'reload failed', cause: { apiKey: REDACTED, items: [{ token: REDACTED }] } },
    });
    const error = parsed()[0]?.['error'] as Record<string, unknown>;
    expect(Object.keys(error).sort()).toEqual(['cause', 'message', 'name']);
  });

  it('redacts the fields of a child logger and keeps its context on every line', () => {
    const { logger, out, parsed } = capture();

    const child = logger.child({ deliveryId: 'd-7', token: 'child-token' }).child({ source: 'github' });
    child.info('one');
    child.error('two', { secret: 'child-secret' });

    expect(out.join('\n')).not.toMatch(/child-token|child-secret/);
    expect(parsed()).toEqual([
      { level: 'info', time: '2025-01-02T03:04:05.000Z', message: 'one', deliveryId: 'd-7', token: REDACTED, source: 'github' },
      { level: 'error', time: '2025-01-02T03:04:05.000Z', message: 'two', deliveryId: 'd-7', token: REDACTED, source: 'github', secret: REDACTED },
    ]);
  });

  it('drops lines below the level', () => {
    const { logger, out } = capture('info');

    logger.debug('hidden');
    logger.info('shown');

    expect(out.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['shown']);
  });
});

describe('createLogger redaction of error messages', () => {
  it('cuts a credential quoted inside an error message and its cause', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });

    logger.error('failed', { error: new Error('upstream said: Authorization: Basic dXNlcjpzM2NyZXQ= rejected', { cause: new Error('retry with Bearer tok-123') }) });

    expect(lines[0]).not.toContain('dXNlcjpzM2NyZXQ=');
    expect(lines[0]).not.toContain('tok-123');
    expect(lines[0]).toContain('Basic [REDACTED]');
  });
});
