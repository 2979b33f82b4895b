import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError, z } from '../../lambda/shared/zod.js';
import { hmacSha256 } from '../../lambda/sources/crypto.js';
import { generic, genericHeaderName } from '../../lambda/sources/generic.js';
import { NOW, bindSource, raw, signedHeaders, thrown } from './helpers.js';

const SECRET = 'generic-secret';
const PREVIOUS = 'generic-secret-old';
const body = '{"type":"check.down","id":"chk-1","status":"firing"}';
const digest = hmacSha256(SECRET, body);
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('generic verify, hmac-sha256 (default)', () => {
  const source = bindSource('generic');
  it.each([
    ['lower-case hex in X-Signature', { 'x-signature': digest.toString('hex') }, true],
    ['upper-case hex', { 'x-signature': digest.toString('hex').toUpperCase() }, true],
    ['base64 while hex is configured', { 'x-signature': digest.toString('base64') }, false],
    ['a sha256= prefix while none is configured', { 'x-signature': `sha256=${digest.toString('hex')}` }, false],
    ['the digest in another header', { 'x-hub-signature-256': digest.toString('hex') }, false],
    ['no header', {}, false],
  ])('with %s answers %s', (_name, headers, valid) => {
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(valid);
  });

  it('accepts the previous secret during rotation and only then', () => {
    const headers = signedHeaders('generic', PREVIOUS, body);
    expect(source.verify(raw(body), headers, [SECRET, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });

  it('uses header, prefix and base64 encoding when configured', () => {
    const settings = { header: 'X-Hub-Signature-256', prefix: 'sha256=', encoding: 'base64' };
    const headers = signedHeaders('generic', SECRET, body, { settings });
    expect(headers['x-hub-signature-256']).toBe(`sha256=${digest.toString('base64')}`);
    const configured = bindSource('generic', settings);
    expect(configured.verify(raw(body), headers, [SECRET], NOW)).toBe(true);
    expect(configured.verify(raw(body), { 'x-hub-signature-256': digest.toString('base64') }, [SECRET], NOW)).toBe(false);
    expect(configured.verify(raw(`${body} `), headers, [SECRET], NOW)).toBe(false);
  });
});

describe('generic verify, bearer and basic', () => {
  it.each([
    ['bearer', `Bearer ${SECRET}`, SECRET, true],
    ['bearer', `bearer ${SECRET}`, SECRET, true],
    ['bearer', `Bearer ${PREVIOUS}`, SECRET, false],
    ['bearer', SECRET, SECRET, false],
    ['basic', `Basic ${b64('hook:pw')}`, 'hook:pw', true],
    ['basic', `Basic ${b64('hook:nope')}`, 'hook:pw', false],
    ['basic', 'Bearer hook:pw', 'hook:pw', false],
  ])('%s: Authorization %j with secret %j -> %s', (scheme, authorization, secret, valid) => {
    expect(bindSource('generic', { scheme }).verify(raw(body), { authorization }, [secret], NOW)).toBe(valid);
  });

  it.each(['bearer', 'basic'])('%s: signs what it verifies, in a custom header too, with rotation', (scheme) => {
    const settings = { scheme, header: 'X-Auth' };
    const headers = signedHeaders('generic', 'u:old', body, { settings });
    expect(headers['authorization']).toBeUndefined();
    const source = bindSource('generic', settings);
    expect(source.verify(raw(body), headers, ['u:new', 'u:old'], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, ['u:new'], NOW)).toBe(false);
  });
});

describe('generic parse', () => {
  it('reads type and id by default and fires', () => {
    const [e] = bindSource('generic').parse({ type: 'check.down', id: 'chk-1' }, { 'x-delivery-id': 'd1' });
    expect(e).toMatchObject({ source: 'generic', type: 'check.down', identity: 'chk-1', signal: 'firing', deliveryId: undefined, link: undefined, ping: false });
  });

  it('reads dot paths, array indexes, numbers, the delivery header and the link', () => {
    const source = bindSource('generic', { event_type: 'event.kind', identity: 'alerts.0.key', delivery_header: 'X-Delivery-Id', link_path: 'meta.url' });
    const [e] = source.parse({ event: { kind: 'down' }, alerts: [{ key: 4711 }], meta: { url: 'https://status.example/4711' } }, { 'x-delivery-id': 'd1' });
    expect(e).toMatchObject({ type: 'down', identity: '4711', deliveryId: 'd1', link: 'https://status.example/4711' });
  });

  it.each([
    ['resolved', 'resolved'],
    ['OK', 'resolved'],
    ['Recovered', 'resolved'],
    ['firing', 'firing'],
    ['ALERTING', 'firing'],
    ['acknowledged', 'informational'],
    [undefined, 'informational'],
  ])('maps signal_path value %j to %s', (status, signal) => {
    const source = bindSource('generic', { signal_path: 'state.status' });
    expect(source.parse({ type: 't', id: 'i', state: status === undefined ? {} : { status } }, {})[0]?.signal).toBe(signal);
  });

  it('uses custom resolved_values and firing_values', () => {
    const source = bindSource('generic', { signal_path: 'level', resolved_values: ['green'], firing_values: ['red'] });
    expect(['green', 'red', 'resolved'].map((level) => source.parse({ type: 't', id: 'i', level }, {})[0]?.signal)).toEqual(['resolved', 'firing', 'informational']);
  });

  it.each([
    ['no type', { id: 'i' }],
    ['no id', { type: 't' }],
    ['an object id', { type: 't', id: { nested: true } }],
    ['a boolean type', { type: true, id: 'i' }],
  ])('throws PayloadError with the zod cause for %s', (_name, bad) => {
    const error = thrown(() => bindSource('generic').parse(bad as never, {}));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
    expect((error as PayloadError).message).toMatch(/setting (event_type|identity)/);
  });
});

describe('generic settings', () => {
  it('fills the defaults', () => {
    expect(z.parse(generic.settingsSchema(), {})).toEqual({
      secret: 'GENERIC_WEBHOOK_SECRET',
      scheme: 'hmac-sha256',
      prefix: '',
      encoding: 'hex',
      event_type: 'type',
      identity: 'id',
      resolved_values: ['resolved', 'ok', 'closed', 'recovered'],
      firing_values: ['firing', 'alerting', 'triggered', 'open', 'critical', 'error'],
    });
  });

  it.each([
    ['hmac-sha256', undefined, 'X-Signature'],
    ['bearer', undefined, 'Authorization'],
    ['basic', undefined, 'Authorization'],
    ['bearer', 'X-Token', 'X-Token'],
  ] as const)('reads %s from %s -> %s', (scheme, header, expected) => {
    expect(genericHeaderName({ scheme, header })).toBe(expected);
  });

  it.each([[{ scheme: 'hmac-sha1' }], [{ encoding: 'base32' }], [{ identity: '' }], [{ identity: 'a..b' }], [{ event_type: '.type' }], [{ header: 'X Sig' }], [{ jsonata: '$' }]])('rejects %j', (settings) => {
    expect(() => z.parse(generic.settingsSchema(), settings)).toThrow();
  });
});
