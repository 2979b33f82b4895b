import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError, z } from '../../lambda/shared/zod.js';
import { hmacSha256 } from '../../lambda/sources/crypto.js';
import { grafana } from '../../lambda/sources/grafana.js';
import { NOW, bindSource, json, raw, signedHeaders, thrown } from './helpers.js';

const SECRET = 'grafana-hmac-secret';
const PREVIOUS = 'grafana-hmac-previous';
const body = '{"receiver":"bridge","status":"firing","orgId":1,"version":"1","groupKey":"{}:{}","alerts":[],"message":"a \\u0026 b"}';
const TS_HEADER = 'X-Grafana-Alerting-Timestamp';

describe('grafana verify without a timestamp header (default)', () => {
  const source = bindSource('grafana');
  const digest = hmacSha256(SECRET, body).toString('hex');

  it('accepts the bare hex digest in X-Grafana-Alerting-Signature', () => {
    const headers = signedHeaders('grafana', SECRET, body);
    expect(headers['x-grafana-alerting-signature']).toBe(digest);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(true);
  });

  it.each([
    ['a sha256= prefix', `sha256=${digest}`],
    ['upper-case hex', digest.toUpperCase()],
    ['a truncated digest', digest.slice(0, 63)],
    ['a digest over "<ts>:<body>"', hmacSha256(SECRET, `${NOW}:`, body).toString('hex')],
  ])('rejects %s', (_name, value) => {
    expect(source.verify(raw(body), { 'x-grafana-alerting-signature': value }, [SECRET], NOW)).toBe(false);
  });

  it('accepts the previous secret during rotation and only then', () => {
    const headers = signedHeaders('grafana', PREVIOUS, body);
    expect(source.verify(raw(body), headers, [SECRET, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });

  it('reads a custom signature header', () => {
    const settings = { signature_header: 'X-Hook-Sig' };
    const headers = signedHeaders('grafana', SECRET, body, { settings });
    expect(headers['x-hook-sig']).toBe(digest);
    expect(bindSource('grafana', settings).verify(raw(body), headers, [SECRET], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });
});

describe('grafana verify with a timestamp header', () => {
  const settings = { timestamp_header: TS_HEADER };
  const source = bindSource('grafana', settings);

  it.each([
    ['signed now', 0, true],
    ['signed 300 s ago (edge)', -300, true],
    ['signed 301 s ago', -301, false],
    ['signed 300 s in the future (edge)', 300, true],
    ['signed 301 s in the future', 301, false],
  ])('%s -> %s', (_name, offset, valid) => {
    const headers = signedHeaders('grafana', SECRET, body, { settings, now: NOW + offset });
    expect(headers['x-grafana-alerting-timestamp']).toBe(String(NOW + offset));
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(valid);
  });

  it('honours tolerance_seconds', () => {
    const narrow = bindSource('grafana', { ...settings, tolerance_seconds: 10 });
    expect(narrow.verify(raw(body), signedHeaders('grafana', SECRET, body, { settings, now: NOW - 10 }), [SECRET], NOW)).toBe(true);
    expect(narrow.verify(raw(body), signedHeaders('grafana', SECRET, body, { settings, now: NOW - 11 }), [SECRET], NOW)).toBe(false);
  });

  it('rejects a timestamp changed after signing', () => {
    const headers = signedHeaders('grafana', SECRET, body, { settings });
    expect(source.verify(raw(body), { ...headers, 'x-grafana-alerting-timestamp': String(NOW + 1) }, [SECRET], NOW)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['not a number', 'yesterday'],
    ['negative', '-1'],
    ['fractional', `${NOW}.5`],
  ])('rejects a timestamp that is %s', (_name, ts) => {
    const headers = signedHeaders('grafana', SECRET, body, { settings });
    expect(source.verify(raw(body), { ...headers, 'x-grafana-alerting-timestamp': ts }, [SECRET], NOW)).toBe(false);
  });

  it('rejects a body-only signature when a timestamp is expected', () => {
    const headers = { 'x-grafana-alerting-signature': hmacSha256(SECRET, body).toString('hex'), 'x-grafana-alerting-timestamp': String(NOW) };
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });
});

const GK = '{}/{team="web"}:{alertname="Latency"}';
function alert(status: string, fingerprint: string) {
  return { status, labels: { alertname: 'Latency', fp: fingerprint }, annotations: {}, startsAt: '2025-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: `https://grafana.example/alerting/${fingerprint}/view`, fingerprint, silenceURL: '', dashboardURL: '', panelURL: '' };
}
function v1(status: string, state: string, alerts: object[] = [alert(status, 'f1')]) {
  return { receiver: 'bridge', status, orgId: 7, alerts, groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'https://grafana.example/', version: '1', groupKey: GK, truncatedAlerts: 0, title: 't', state, message: 'm' };
}

describe('grafana parse', () => {
  const source = bindSource('grafana');
  it.each([
    ['firing', 'alerting', 'alert.firing', 'firing'],
    ['resolved', 'ok', 'alert.resolved', 'resolved'],
    ['firing', 'ok', 'alert.resolved', 'resolved'],
  ])('reads status %s / state %s as %s', (status, state, type, signal) => {
    const [e] = source.parse(json(JSON.stringify(v1(status, state))), {});
    expect(e).toMatchObject({ source: 'grafana', type, signal, identity: `7/bridge/${GK}`, link: 'https://grafana.example/', deliveryId: undefined, ping: false });
  });

  it('splits per alert with group_by alert', () => {
    const events = bindSource('grafana', { group_by: 'alert' }).parse(json(JSON.stringify(v1('firing', 'alerting', [alert('firing', 'f1'), alert('resolved', 'f2')]))), {});
    expect(events.map((e) => [e.identity, e.signal])).toEqual([
      [`7/bridge/${GK}/f1`, 'firing'],
      [`7/bridge/${GK}/f2`, 'resolved'],
    ]);
    expect(events[0]?.alert).toMatchObject({ fingerprint: 'f1' });
  });

  it('parses a version "4" body without orgId (Mimir-style receiver) like Alertmanager', () => {
    const mimir = { receiver: 'mimir', status: 'resolved', alerts: [alert('resolved', 'f9')], groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'https://mimir.example/am', version: '4', groupKey: GK, truncatedAlerts: 0 };
    const [e] = source.parse(json(JSON.stringify(mimir)), {});
    expect(e).toMatchObject({ source: 'grafana', type: 'alert.resolved', signal: 'resolved', identity: `mimir/${GK}`, link: 'https://mimir.example/am' });
  });

  it.each([
    ['a v1 body without orgId', { ...v1('firing', 'alerting'), orgId: undefined }],
    ['a v1 body without groupKey', { ...v1('firing', 'alerting'), groupKey: undefined }],
    ['an unknown version', { ...v1('firing', 'alerting'), version: '2' }],
    ['a Mimir body without receiver', { version: '4', status: 'firing', groupKey: GK, alerts: [] }],
    ['a legacy (pre-unified) alert body', { ruleName: 'x', state: 'alerting', evalMatches: [] }],
  ])('throws PayloadError for %s', (_name, bad) => {
    const error = thrown(() => source.parse(json(JSON.stringify(bad)), {}));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
  });
});

describe('grafana settings', () => {
  it('fills the defaults and leaves timestamp_header unset', () => {
    expect(z.parse(grafana.settingsSchema(), {})).toEqual({ secret: 'GRAFANA_WEBHOOK_SECRET', signature_header: 'X-Grafana-Alerting-Signature', tolerance_seconds: 300, group_by: 'group' });
  });
  it.each([[{ tolerance_seconds: 0 }], [{ tolerance_seconds: 1.5 }], [{ timestamp_header: 'bad header' }], [{ hmac: true }]])('rejects %j', (settings) => {
    expect(() => z.parse(grafana.settingsSchema(), settings)).toThrow();
  });
});
