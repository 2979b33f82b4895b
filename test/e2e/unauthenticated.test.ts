import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSamples, readSample } from '../../lambda/local/samples.js';
import { signRequest } from '../../lambda/local/sign.js';
import type { SourceName } from '../../lambda/sources/types.js';
import { startTestBridge, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

// A 401 says what the source expects: the header that is missing, or that the credential sent does
// not match. It never repeats what was received. Same status and error shape as before.

const WRONG_SECRET = `whsec_${Buffer.from('not-the-secret-of-this-bridge').toString('base64')}`;

const EXPECTED: [SourceName, missing: string, mismatch: string][] = [
  ['github', 'missing X-Hub-Signature-256 header', 'signature does not match'],
  ['pagerduty', 'missing X-PagerDuty-Signature header', 'signature does not match'],
  ['alertmanager', 'missing Authorization header', 'credential does not match'],
  ['grafana', 'missing X-Grafana-Alerting-Signature header', 'signature does not match'],
  ['sentry', 'missing Sentry-Hook-Signature header', 'signature does not match'],
  ['opsgenie', 'missing Authorization header', 'credential does not match'],
  ['standard-webhooks', 'missing webhook-id, webhook-timestamp and webhook-signature headers', 'signature does not match, or webhook-timestamp is not within 300 s of now'],
  ['generic', 'missing X-Signature header', 'signature does not match'],
];

interface LogLine {
  message: string;
  source?: string;
  reason?: string;
}

describe('401 answers name what the source expects', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(async () => {
    await bridge.close();
  });

  function request(source: SourceName, secret: string): { body: string; headers: Record<string, string> } {
    const sample = readSample(source, listSamples(source)[0]!);
    const settings = bridge.rules.sources.get(source)!.source.settings;
    return { body: sample.body, headers: signRequest({ source, settings, secret, body: sample.body, headers: sample.headers }) };
  }

  async function post(source: SourceName, body: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${bridge.url}/webhooks/${source}`, { method: 'POST', body, headers });
    return { status: res.status, body: await res.json() };
  }

  function rejections(source: SourceName): LogLine[] {
    return bridge.logs.map((l) => JSON.parse(l) as LogLine).filter((l) => l.source === source && l.message === 'webhook rejected: not authenticated');
  }

  it.each(EXPECTED)('%s: an absent credential header is named, in the answer and the log', async (source, missing) => {
    const { body, headers } = request(source, TEST_SECRETS[bridge.rules.sources.get(source)!.source.settings.secret as keyof typeof TEST_SECRETS]);
    const expected = bridge.rules.sources.get(source)!.source.credential.headers.map((h) => h.toLowerCase());
    const unsigned = Object.fromEntries(Object.entries(headers).filter(([name]) => !expected.includes(name.toLowerCase())));

    expect(await post(source, body, unsigned)).toEqual({ status: 401, body: { error: 'invalid_signature', message: missing } });
    expect(rejections(source).at(-1)?.reason).toBe(missing);
  });

  it.each(EXPECTED)('%s: a present but wrong credential "does not match", without echoing it', async (source, _missing, mismatch) => {
    const { body, headers } = request(source, WRONG_SECRET);
    const sent = bridge.rules.sources.get(source)!.source.credential.headers.map((h) => Object.entries(headers).find(([name]) => name.toLowerCase() === h.toLowerCase())?.[1] ?? '');

    const answer = await post(source, body, headers);

    expect(answer).toEqual({ status: 401, body: { error: 'invalid_signature', message: mismatch } });
    expect(rejections(source).at(-1)?.reason).toBe(mismatch);
    const credential = sent.at(-1)!;
    expect(credential.length).toBeGreaterThan(10);
    expect(JSON.stringify(answer)).not.toContain(credential);
    for (const line of bridge.logs) expect(line).not.toContain(credential);
  });

  it('names only the headers that are absent', async () => {
    const { body, headers } = request('standard-webhooks', TEST_SECRETS.STANDARD_WEBHOOKS_SECRET);
    delete headers['webhook-signature'];

    expect(await post('standard-webhooks', body, headers)).toEqual({ status: 401, body: { error: 'invalid_signature', message: 'missing webhook-signature header' } });
  });

  it('counts an empty header as absent', async () => {
    const { body, headers } = request('github', TEST_SECRETS.GITHUB_WEBHOOK_SECRET);

    expect(await post('github', body, { ...headers, 'X-Hub-Signature-256': '' })).toEqual({ status: 401, body: { error: 'invalid_signature', message: 'missing X-Hub-Signature-256 header' } });
  });
});
