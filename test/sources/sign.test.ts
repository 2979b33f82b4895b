import { describe, expect, it } from 'vitest';
import { signRequest } from '../../lambda/local/sign.js';
import { hmacSha256 } from '../../lambda/sources/crypto.js';
import { SOURCE_NAMES, SOURCES } from '../../lambda/sources/index.js';

// Trailing newline as Go's json.Encoder writes it: signing must keep every byte.
const body = '{"hello":"world"}\n';
const hex = (secret: string, ...parts: string[]) => hmacSha256(secret, ...parts).toString('hex');
const NOW = 1_700_000_123;

describe('signRequest', () => {
  it.each([
    ['github', 's', { 'X-Hub-Signature-256': `sha256=${hex('s', body)}` }],
    ['pagerduty', 's', { 'X-PagerDuty-Signature': `v1=${hex('s', body)}` }],
    ['sentry', 's', { 'Sentry-Hook-Signature': hex('s', body) }],
    ['grafana', 's', { 'X-Grafana-Alerting-Signature': hex('s', body) }],
    ['alertmanager', 'tok', { Authorization: 'Bearer tok' }],
    ['opsgenie', 'tok', { Authorization: 'Bearer tok' }],
    ['generic', 's', { 'X-Signature': hex('s', body) }],
  ] as const)('adds the %s headers with default settings', (source, secret, added) => {
    expect(signRequest({ source, settings: {}, secret, body, headers: { 'Content-Type': 'application/json' }, now: NOW })).toEqual({ 'Content-Type': 'application/json', ...added });
  });

  it('adds the Grafana timestamp header and signs "<ts>:<body>" when one is configured', () => {
    const headers = signRequest({ source: 'grafana', settings: { timestamp_header: 'X-Ts' }, secret: 's', body, now: NOW });
    expect(headers).toEqual({ 'X-Ts': String(NOW), 'X-Grafana-Alerting-Signature': hex('s', `${NOW}:`, body) });
  });

  it('generates a Standard Webhooks id when missing and keeps a given one', () => {
    const secret = `whsec_${Buffer.from('k'.repeat(32)).toString('base64')}`;
    const generated = signRequest({ source: 'standard-webhooks', settings: {}, secret, body, now: NOW });
    expect(generated['webhook-id']).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(generated['webhook-timestamp']).toBe(String(NOW));
    const kept = signRequest({ source: 'standard-webhooks', settings: {}, secret, body, headers: { 'Webhook-Id': 'msg_given' }, now: NOW });
    expect(kept['webhook-id']).toBe('msg_given');
    expect(kept['Webhook-Id']).toBeUndefined();
    expect(kept['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('replaces a stale signature header whatever its case and leaves the input untouched', () => {
    const input = { 'x-hub-signature-256': 'sha256=stale' };
    const headers = signRequest({ source: 'github', secret: 's', body, headers: input });
    expect(headers).toEqual({ 'X-Hub-Signature-256': `sha256=${hex('s', body)}` });
    expect(input).toEqual({ 'x-hub-signature-256': 'sha256=stale' });
  });

  it('signs Buffers and strings alike', () => {
    for (const source of SOURCE_NAMES) {
      const secret = SOURCES[source].exampleSecret('secret-key');
      const headers = { 'webhook-id': 'msg_1' };
      expect(signRequest({ source, secret, body: Buffer.from(body), headers, now: NOW })).toEqual(signRequest({ source, secret, body, headers, now: NOW }));
    }
  });

  it('rejects settings the source does not know', () => {
    expect(() => signRequest({ source: 'opsgenie', settings: { headr: 'X' }, secret: 's', body })).toThrow();
  });
});
