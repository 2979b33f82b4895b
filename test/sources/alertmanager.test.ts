import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError, z } from '../../lambda/shared/zod.js';
import { alertmanager, labelsHash } from '../../lambda/sources/alertmanager.js';
import { NOW, bindSource, json, raw, signedHeaders, thrown } from './helpers.js';

const TOKEN = 'am-token-current';
const PREVIOUS = 'am-token-previous';
const BASIC = 'alertmanager:p4ss:with:colons';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const body = '{"version":"4"}\n';

describe('alertmanager verify (bearer, the default)', () => {
  const source = bindSource('alertmanager');
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`BEARER ${TOKEN}`, true],
    [`Bearer  ${TOKEN}`, true],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN.slice(0, -1)}`, false],
    [`Token ${TOKEN}`, false],
    [`Basic ${b64(TOKEN)}`, false],
    [`Bearer${TOKEN}`, false],
    [TOKEN, false],
    ['Bearer ', false],
    ['', false],
  ])('answers %j -> %s', (authorization, valid) => {
    expect(source.verify(raw(body), { authorization }, [TOKEN], NOW)).toBe(valid);
  });

  it('rejects a request without Authorization', () => {
    expect(source.verify(raw(body), { 'user-agent': 'Alertmanager/0.28.1' }, [TOKEN], NOW)).toBe(false);
  });

  it('accepts the previous token during rotation and only then', () => {
    const headers = signedHeaders('alertmanager', PREVIOUS, body);
    expect(headers['authorization']).toBe(`Bearer ${PREVIOUS}`);
    expect(source.verify(raw(body), headers, [TOKEN, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [TOKEN], NOW)).toBe(false);
  });
});

describe('alertmanager verify (basic)', () => {
  const settings = { scheme: 'basic' };
  const source = bindSource('alertmanager', settings);
  it.each([
    [`Basic ${b64(BASIC)}`, true],
    [`basic ${b64(BASIC)}`, true],
    [`Basic ${b64('alertmanager:wrong')}`, false],
    [`Basic ${b64('other:p4ss:with:colons')}`, false],
    [`Bearer ${BASIC}`, false],
    ['Basic !!!not-base64!!!', false],
    ['Basic', false],
  ])('answers %j -> %s', (authorization, valid) => {
    expect(source.verify(raw(body), { authorization }, [BASIC], NOW)).toBe(valid);
  });

  it('signs with Basic credentials and accepts the previous ones during rotation', () => {
    const headers = signedHeaders('alertmanager', 'old:pass', body, { settings });
    expect(headers['authorization']).toBe(`Basic ${b64('old:pass')}`);
    expect(source.verify(raw(body), headers, [BASIC, 'old:pass'], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [BASIC], NOW)).toBe(false);
  });
});

const GROUP_KEY = '{}/{team="db"}:{alertname="DiskFull"}';
function alert(status: string, fingerprint: string | undefined, host: string) {
  return {
    status,
    labels: { alertname: 'DiskFull', host, team: 'db' },
    annotations: {},
    startsAt: '2025-01-01T00:00:00Z',
    endsAt: status === 'resolved' ? '2025-01-01T01:00:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: `http://prom:9090/graph?host=${host}`,
    ...(fingerprint === undefined ? {} : { fingerprint }),
  };
}
function group(status: string, alerts: object[], extra: object = {}) {
  return { version: '4', receiver: 'bridge', status, groupKey: GROUP_KEY, truncatedAlerts: 0, externalURL: 'http://am:9093', alerts, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, ...extra };
}

describe('alertmanager parse, group_by group (default)', () => {
  const source = bindSource('alertmanager');
  it.each([
    ['firing', 'alert.firing', 'firing'],
    ['resolved', 'alert.resolved', 'resolved'],
  ])('reads a %s group as one %s event', (status, type, signal) => {
    const events = source.parse(json(JSON.stringify(group(status, [alert(status, 'aa11', 'h1'), alert(status, 'bb22', 'h2')]))), {});
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'alertmanager', type, signal, identity: `bridge/${GROUP_KEY}`, deliveryId: undefined, ping: false, link: 'http://am:9093' });
    expect(events[0]?.alert).toBeUndefined();
  });

  it('keeps a firing group firing when some of its alerts resolved', () => {
    const [e] = source.parse(json(JSON.stringify(group('firing', [alert('firing', 'aa11', 'h1'), alert('resolved', 'bb22', 'h2')]))), {});
    expect(e?.signal).toBe('firing');
  });

  it('trusts an explicit resolved group status even when alerts were truncated', () => {
    const [e] = source.parse(json(JSON.stringify(group('resolved', [alert('resolved', 'aa11', 'h1')], { truncatedAlerts: 3 }))), {});
    expect(e?.signal).toBe('resolved');
  });

  it('falls back to the first generatorURL without externalURL', () => {
    const [e] = source.parse(json(JSON.stringify(group('firing', [alert('firing', 'aa11', 'h1')], { externalURL: '' }))), {});
    expect(e?.link).toBe('http://prom:9090/graph?host=h1');
  });
});

describe('alertmanager parse, group_by alert', () => {
  const source = bindSource('alertmanager', { group_by: 'alert' });
  it('returns one event per alert with its own identity, signal and alert', () => {
    const events = source.parse(json(JSON.stringify(group('firing', [alert('firing', 'aa11', 'h1'), alert('resolved', 'bb22', 'h2')]))), {});
    expect(events.map((e) => [e.identity, e.type, e.signal, e.link])).toEqual([
      [`bridge/${GROUP_KEY}/aa11`, 'alert.firing', 'firing', 'http://prom:9090/graph?host=h1'],
      [`bridge/${GROUP_KEY}/bb22`, 'alert.resolved', 'resolved', 'http://prom:9090/graph?host=h2'],
    ]);
    expect(events[1]?.alert).toMatchObject({ fingerprint: 'bb22', labels: { host: 'h2' } });
  });

  it('reports only the alerts present in a truncated group (no resolve inferred from absence)', () => {
    const events = source.parse(json(JSON.stringify(group('firing', [alert('firing', 'aa11', 'h1')], { truncatedAlerts: 5 }))), {});
    expect(events.map((e) => [e.identity, e.signal])).toEqual([[`bridge/${GROUP_KEY}/aa11`, 'firing']]);
  });

  it('hashes the labels when an alert has no fingerprint, independent of label order', () => {
    const [e] = source.parse(json(JSON.stringify(group('firing', [alert('firing', undefined, 'h1')]))), {});
    const hash = labelsHash({ team: 'db', host: 'h1', alertname: 'DiskFull' });
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(hash).not.toBe(labelsHash({ team: 'db', host: 'h2', alertname: 'DiskFull' }));
    expect(e?.identity).toBe(`bridge/${GROUP_KEY}/${hash}`);
  });
});

describe('alertmanager parse errors', () => {
  const source = bindSource('alertmanager');
  it.each([
    ['no groupKey', { ...group('firing', []), groupKey: undefined }],
    ['version 3', group('firing', [], { version: '3' })],
    ['an unknown status', group('pending', [])],
    ['an alert without labels', group('firing', [{ status: 'firing' }])],
    ['alerts not an array', group('firing', [], { alerts: {} })],
  ])('throws PayloadError for %s', (_name, bad) => {
    const error = thrown(() => source.parse(json(JSON.stringify(bad)), {}));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
  });
});

describe('alertmanager settings', () => {
  it('fills the defaults', () => {
    expect(z.parse(alertmanager.settingsSchema(), {})).toEqual({ secret: 'ALERTMANAGER_BEARER_TOKEN', scheme: 'bearer', group_by: 'group' });
  });
  it.each([[{ scheme: 'oauth2' }], [{ group_by: 'fingerprint' }], [{ token: 'x' }], [{ secret: 'lower_case' }]])('rejects %j', (settings) => {
    expect(() => z.parse(alertmanager.settingsSchema(), settings)).toThrow();
  });
});
