import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError, z } from '../../lambda/shared/zod.js';
import { standardWebhooks, standardWebhooksKey, standardWebhooksSignature } from '../../lambda/sources/standard-webhooks.js';
import { NOW, bindSource, json, raw, signedHeaders, thrown } from './helpers.js';

const KEY = Buffer.from('standard-webhooks-test-key-32byt');
const SECRET = `whsec_${KEY.toString('base64')}`;
const PREVIOUS = `whsec_${Buffer.from('the-previous-key-also-32-bytes!!').toString('base64')}`;
const ID = 'msg_2zT4hQ9nXc1Lk0';
const body = '{"type":"invoice.payment_failed","timestamp":"2025-01-01T00:00:00Z","data":{"id":"in_123"}}';
const source = bindSource('standard-webhooks');
const headersAt = (ts: number, secret = SECRET) => signedHeaders('standard-webhooks', secret, body, { headers: { 'webhook-id': ID }, now: ts });

describe('standard-webhooks verify', () => {
  it('signs "<id>.<timestamp>.<body>" with the base64-decoded key', () => {
    const headers = headersAt(NOW);
    expect(headers).toMatchObject({ 'webhook-id': ID, 'webhook-timestamp': String(NOW) });
    expect(headers['webhook-signature']).toBe(standardWebhooksSignature(KEY, ID, String(NOW), body));
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(true);
  });

  it.each([
    ['now', 0, true],
    ['300 s old (edge)', -300, true],
    ['301 s old', -301, false],
    ['300 s in the future (edge)', 300, true],
    ['301 s in the future', 301, false],
  ])('with a timestamp %s answers %s', (_name, offset, valid) => {
    expect(source.verify(raw(body), headersAt(NOW + offset), [SECRET], NOW)).toBe(valid);
  });

  it('honours tolerance_seconds', () => {
    const narrow = bindSource('standard-webhooks', { tolerance_seconds: 60 });
    expect(narrow.verify(raw(body), headersAt(NOW - 60), [SECRET], NOW)).toBe(true);
    expect(narrow.verify(raw(body), headersAt(NOW - 61), [SECRET], NOW)).toBe(false);
  });

  it('accepts the secret without the whsec_ prefix', () => {
    expect(source.verify(raw(body), headersAt(NOW), [KEY.toString('base64')], NOW)).toBe(true);
  });

  it('accepts the previous secret during rotation and only then', () => {
    const headers = headersAt(NOW, PREVIOUS);
    expect(source.verify(raw(body), headers, [SECRET, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });

  it.each([
    ['several entries, one valid', (good: string) => `v1,bm90LWl0 v1a,${good.slice(3)} ${good} v2,${good.slice(3)}`, true],
    ['only a v1a (ed25519) entry with the same bytes', (good: string) => `v1a,${good.slice(3)}`, false],
    ['a v1= separator', (good: string) => `v1=${good.slice(3)}`, false],
    ['no version', (good: string) => good.slice(3), false],
    ['an empty v1 entry', () => 'v1,', false],
    ['a signature of another id', () => standardWebhooksSignature(KEY, 'msg_other', String(NOW), body), false],
  ])('with %s answers %s', (_name, signature, valid) => {
    const headers = headersAt(NOW);
    const good = headers['webhook-signature'] ?? '';
    expect(source.verify(raw(body), { ...headers, 'webhook-signature': signature(good) }, [SECRET], NOW)).toBe(valid);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('rejects a request without %s', (name) => {
    expect(source.verify(raw(body), { ...headersAt(NOW), [name]: undefined }, [SECRET], NOW)).toBe(false);
  });

  it.each([['not-a-number'], [`${NOW}.0`], ['-5']])('rejects the timestamp %j', (ts) => {
    expect(source.verify(raw(body), { ...headersAt(NOW), 'webhook-timestamp': ts }, [SECRET], NOW)).toBe(false);
  });

  it('answers false (never throws) for a secret that is not base64', () => {
    expect(standardWebhooksKey('whsec_not base64!')).toBeUndefined();
    expect(source.verify(raw(body), headersAt(NOW), ['whsec_not base64!'], NOW)).toBe(false);
  });
});

describe('standard-webhooks parse', () => {
  const settings = { firing_types: ['invoice.payment_failed'], resolved_types: ['invoice.paid'] };
  const configured = bindSource('standard-webhooks', settings);
  it.each([
    ['invoice.payment_failed', 'firing'],
    ['invoice.paid', 'resolved'],
    ['invoice.updated', 'informational'],
  ])('reads %s as %s with resolved_types/firing_types', (type, signal) => {
    const [e] = configured.parse({ type, data: { id: 'in_123' } }, { 'webhook-id': ID });
    expect(e).toMatchObject({ source: 'standard-webhooks', type, signal, identity: 'invoice/in_123', deliveryId: ID, ping: false });
  });

  it('gives every type the same identity for one data.id, so a resolve type closes what a firing type opened', () => {
    const [opened] = configured.parse({ type: 'invoice.payment_failed', data: { id: 'in_9' } }, {});
    const [paid] = configured.parse({ type: 'invoice.paid', data: { id: 'in_9' } }, {});
    expect(opened?.identity).toBe(paid?.identity);
  });

  it('is informational for every type by default', () => {
    expect(source.parse(json(body), { 'webhook-id': ID })[0]?.signal).toBe('informational');
  });

  it.each([
    [{ type: 'ping', data: { id: 7 } }, 'ping/7'],
    [{ type: 'thing.happened', data: { name: 'x' } }, ID],
    [{ type: 'thing.happened' }, ID],
    [{ type: 'thing.happened', data: null }, ID],
  ])('keys %j as %s', (payload, identity) => {
    expect(source.parse(payload as never, { 'webhook-id': ID })[0]?.identity).toBe(identity);
  });

  it('throws PayloadError without data.id and without webhook-id', () => {
    expect(() => source.parse({ type: 'x.y', data: {} }, {})).toThrow(PayloadError);
  });

  it.each([[{}], [{ type: 3 }], [{ type: '' }], [{ type: 'a.b', data: 'in_1' }]])('throws PayloadError with the zod cause for %j', (bad) => {
    const error = thrown(() => source.parse(bad as never, { 'webhook-id': ID }));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
  });
});

describe('standard-webhooks settings', () => {
  it('fills the defaults', () => {
    expect(z.parse(standardWebhooks.settingsSchema(), {})).toEqual({ secret: 'STANDARD_WEBHOOKS_SECRET', tolerance_seconds: 300, resolved_types: [], firing_types: [] });
  });
  it.each([[{ tolerance_seconds: -1 }], [{ resolved_types: 'x' }], [{ resolved_types: [''] }], [{ signing: 'v1a' }]])('rejects %j', (settings) => {
    expect(() => z.parse(standardWebhooks.settingsSchema(), settings)).toThrow();
  });
});
