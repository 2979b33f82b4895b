import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRules, validateRulesFile } from '../../lambda/mapping/compile-rules.js';
import { parseRulesText, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { MemoryMetrics } from '../../lambda/shared/metrics.js';
import { isAlarmStateChangeEvent } from '../../lambda/sources/cloudwatch.js';
import { CertificateCache, snsUrl } from '../../lambda/sources/sns.js';
import { fakeDatadog } from '../support/fakes.js';
import { CERT_URL, signSnsMessage, snsIngest, startFakeSns, subscriptionConfirmation, TEST_TOPIC, type FakeSns } from '../support/sns.js';

// CloudWatch alarms through the ingest handler: SNS messages signed with the test key, their
// certificate and SubscribeURL served by a local stand-in for sns.<region>.amazonaws.com, and
// EventBridge events through the trusted entry. The presets, with the test topic listed.

const FIXTURES = new URL('../fixtures/cloudwatch/', import.meta.url);
const fixture = (stem: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`${stem}.json`, FIXTURES), 'utf8')) as Record<string, unknown>;
const fixtureHeaders = (stem: string): Record<string, string> => JSON.parse(readFileSync(new URL(`${stem}.headers.json`, FIXTURES), 'utf8')) as Record<string, string>;
const IDENTITY = '111122223333/eu-west-1/arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-api-5xx';
const OTHER_TOPIC = 'arn:aws:sns:eu-west-1:444455556666:someone-elses-topic';

function presetsWithTopic() {
  const file = validateRulesFile(parseRulesText(readFileSync(PRESET_RULES_FILE, 'utf8'), PRESET_RULES_FILE));
  const cloudwatch = { ...file.sources.cloudwatch!, settings: { topics: [TEST_TOPIC] } };
  return compileRules({ ...file, sources: { ...file.sources, cloudwatch } });
}

let sns: FakeSns;
beforeAll(async () => {
  sns = await startFakeSns();
});
afterAll(async () => {
  await sns.close();
});

function setup() {
  const datadog = fakeDatadog();
  const metrics = new MemoryMetrics();
  return { ...snsIngest(presetsWithTopic(), sns.fetch, { datadog, metrics }), datadog, metrics };
}

const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('cloudwatch over SNS (HTTPS subscription)', () => {
  it.each(['1', '2'] as const)('SignatureVersion %s: a signed ALARM notification makes the case, with reason, metric, threshold and console link', async (version) => {
    const { post, datadog, metrics } = setup();
    const answer = await post(signSnsMessage(fixture('alarm.sns'), { version }), fixtureHeaders('alarm.sns'));

    expect(answer).toMatchObject({ status: 201, body: { status: 'created', identity: IDENTITY } });
    const attributes = datadog.cases[0]!.request.data.attributes;
    expect(attributes.title).toBe('[CloudWatch] checkout-api-5xx (111122223333, eu-west-1)');
    expect(attributes.priority).toBe('P3');
    expect(attributes.description).toContain('Reason: Threshold Crossed: 3 out of the last 3 datapoints');
    expect(attributes.description).toContain('Metric: AWS/ApiGateway 5XXError (ApiName=checkout)');
    expect(attributes.description).toContain('Threshold: GreaterThanThreshold 0.05');
    expect(attributes.description).toContain('https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/checkout-api-5xx');
    expect(metrics.get('WebhooksVerified', { source: 'cloudwatch' })).toBe(1);
  });

  it('OK closes the case the ALARM opened; INSUFFICIENT_DATA makes none', async () => {
    const { post, datadog } = setup();
    await post(signSnsMessage(fixture('alarm.sns')));
    const ok = await post(signSnsMessage(fixture('ok.sns')));
    const insufficient = await post(signSnsMessage(fixture('insufficient_data.sns')));

    expect(ok).toMatchObject({ status: 202, body: { status: 'updated', caseKey: 'CASE-1' } });
    expect(datadog.cases).toHaveLength(1);
    expect(datadog.cases[0]!.status).toBe('CLOSED');
    expect(insufficient.status).toBe(202);
    expect(insufficient.body['status']).not.toBe('created');
  });

  it('a redelivered message (same MessageId) is answered duplicate', async () => {
    const { post, datadog } = setup();
    const signed = signSnsMessage(fixture('alarm.sns'));
    await post(signed);
    expect(await post(signed)).toMatchObject({ status: 200, body: { status: 'duplicate' } });
    expect(datadog.cases).toHaveLength(1);
  });

  it('refuses 401 a signature by another key, and a field changed after signing', async () => {
    const { post, datadog, metrics } = setup();
    const wrongKey = await post(signSnsMessage(fixture('alarm.sns'), { key: otherKey }));
    const signed = signSnsMessage(fixture('alarm.sns'));
    const tampered = await post({ ...signed, Message: String(signed['Message']).replace('"ALARM"', '"OK"') });
    const garbage = await post({ Type: 'Notification', hello: 'world' });

    for (const answer of [wrongKey, tampered, garbage]) expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_signature' } });
    expect(wrongKey.body['message']).toBe('signature does not match');
    expect(datadog.cases).toHaveLength(0);
    expect(metrics.get('WebhooksVerified', { source: 'cloudwatch' })).toBe(0);
  });

  it('refuses 401 a validly signed message sent again hours later (a replay), whatever its MessageId', async () => {
    const { post, datadog } = setup();
    const old = new Date(Date.now() - 3 * 60 * 60 * 1000).toISOString();
    const answer = await post(signSnsMessage({ ...fixture('alarm.sns'), MessageId: randomUUID() }, { timestamp: old }));
    expect(answer).toMatchObject({ status: 401, body: { message: 'Timestamp is not within 2 hours of now' } });
    expect(datadog.cases).toHaveLength(0);
  });

  it.each([
    ['another host', 'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem'],
    ['a look-alike host', 'https://sns-eu-west-1.amazonaws.com/cert.pem'],
    ['plain HTTP', 'http://sns.eu-west-1.amazonaws.com/cert.pem'],
    ['user info', 'https://sns.eu-west-1.amazonaws.com@evil.example/cert.pem'],
    ['user info before the SNS host', 'https://evil.example@sns.eu-west-1.amazonaws.com/cert.pem'],
    ['a port', 'https://sns.eu-west-1.amazonaws.com:8443/cert.pem'],
    ['not a certificate', 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe'],
  ])('refuses 401 a SigningCertURL on %s, without fetching it', async (_name, certUrl) => {
    const { post } = setup();
    const before = sns.requests.length;
    const answer = await post(signSnsMessage(fixture('alarm.sns'), { certUrl }));
    expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_signature', message: 'SigningCertURL is not an Amazon SNS certificate URL' } });
    expect(sns.requests.slice(before)).toEqual([]);
  });

  it('refuses 401 a validly signed message of a topic not listed in the settings, without fetching anything', async () => {
    const { post, datadog } = setup();
    const before = sns.requests.length;
    const answer = await post(signSnsMessage({ ...fixture('alarm.sns'), TopicArn: OTHER_TOPIC }));
    expect(answer).toMatchObject({ status: 401, body: { message: 'topic is not listed in the cloudwatch source settings' } });
    expect(sns.requests.slice(before)).toEqual([]);
    expect(datadog.cases).toHaveLength(0);
  });

  it('confirms the subscription of a listed topic by visiting its SubscribeURL', async () => {
    const { post, datadog } = setup();
    const message = subscriptionConfirmation(TEST_TOPIC);
    const answer = await post(signSnsMessage(message, { version: '2' }));
    expect(answer).toEqual({ status: 200, body: { status: 'subscription_confirmed', topic: TEST_TOPIC, delivery: expect.stringMatching(/^d[0-9a-z]{19}$/), trace: 'verified; subscription_confirmed' } });
    expect(sns.requests).toContain(message['SubscribeURL']);
    expect(datadog.cases).toHaveLength(0);
  });

  it('does not confirm the subscription of a topic not listed (401, no visit)', async () => {
    const { post } = setup();
    const message = subscriptionConfirmation(OTHER_TOPIC);
    const before = sns.requests.length;
    const answer = await post(signSnsMessage(message));
    expect(answer.status).toBe(401);
    expect(sns.requests.slice(before)).toEqual([]);
  });

  it('does not visit a SubscribeURL off the SNS host, even when signed', async () => {
    const { post } = setup();
    const message = subscriptionConfirmation(TEST_TOPIC, { SubscribeURL: 'https://evil.example/?Action=ConfirmSubscription' });
    const answer = await post(signSnsMessage(message));
    expect(answer).toMatchObject({ status: 401, body: { message: 'SubscribeURL is not an Amazon SNS URL' } });
    expect(sns.requests).not.toContain(message['SubscribeURL']);
  });

  it('does not confirm a subscription whose signature does not verify', async () => {
    const { post } = setup();
    const message = subscriptionConfirmation(TEST_TOPIC);
    const before = sns.requests.length;
    const answer = await post(signSnsMessage(message, { key: otherKey }));
    expect(answer.status).toBe(401);
    expect(sns.requests.slice(before).filter((url) => url.includes('ConfirmSubscription'))).toEqual([]);
  });

  it('accepts an unsubscribe notice (200, logged), and makes no case', async () => {
    const { post, datadog } = setup();
    const message = subscriptionConfirmation(TEST_TOPIC, { Type: 'UnsubscribeConfirmation', Message: `You have chosen to deactivate subscription ${TEST_TOPIC}.` });
    expect(await post(signSnsMessage(message))).toEqual({ status: 200, body: { status: 'unsubscribed', topic: TEST_TOPIC, delivery: expect.stringMatching(/^d[0-9a-z]{19}$/), trace: 'verified; unsubscribed' } });
    expect(datadog.cases).toHaveLength(0);
  });
});

describe('cloudwatch by EventBridge (the trusted entry)', () => {
  it('carries the alarm state change time as the event time (CloudWatch writes +0000)', () => {
    const bound = presetsWithTopic().sources.get('cloudwatch')!.source;
    const [byEvent] = bound.parse(fixture('alarm.eventbridge') as never, {});
    const [bySns] = bound.parse(fixture('alarm.sns') as never, {});
    expect(byEvent?.occurredAt).toBe(Date.parse('2026-12-04T10:03:12.480Z'));
    expect(bySns?.occurredAt).toBe(Date.parse('2026-12-04T10:03:12.480Z'));
  });

  it('recognises only CloudWatch alarm state changes', () => {
    expect(isAlarmStateChangeEvent(fixture('alarm.eventbridge'))).toBe(true);
    expect(isAlarmStateChangeEvent({ 'detail-type': 'CloudWatch Alarm State Change', source: 'not.aws' })).toBe(false);
    expect(isAlarmStateChangeEvent({ version: '2.0', routeKey: 'POST /webhooks/{source}' })).toBe(false);
  });

  it('an ALARM event makes the case and an OK by SNS closes the same one (one identity for both transports)', async () => {
    const { handler, post, datadog, metrics } = setup();
    const created = await handler.handleTrusted('cloudwatch', fixture('alarm.eventbridge') as never, 'req-eb');
    expect(created.statusCode).toBe(201);
    expect(JSON.parse(String(created.body))).toMatchObject({ identity: IDENTITY });
    expect(datadog.cases[0]!.request.data.attributes.description).toContain('Threshold: 0.05');
    expect(metrics.get('WebhooksVerified', { source: 'cloudwatch' })).toBe(1);

    const ok = await post(signSnsMessage(fixture('ok.sns')));
    expect(ok.body).toMatchObject({ status: 'updated', caseKey: 'CASE-1' });
    expect(datadog.cases).toHaveLength(1);
  });

  it('an OK event closes its case; a malformed event throws so that EventBridge retries', async () => {
    const { handler, datadog } = setup();
    await handler.handleTrusted('cloudwatch', fixture('alarm.eventbridge') as never, 'a');
    const ok = await handler.handleTrusted('cloudwatch', fixture('ok.eventbridge') as never, 'b');
    expect(ok.statusCode).toBe(202);
    expect(datadog.cases[0]!.status).toBe('CLOSED');
    const broken = { ...fixture('alarm.eventbridge'), detail: { state: {} } };
    await expect(handler.handleTrusted('cloudwatch', broken as never, 'c')).rejects.toThrow(/not a CloudWatch alarm state change event/);
  });
});

describe('SNS URLs and the certificate cache', () => {
  it('accepts only https://sns.<region>.amazonaws.com[.cn]/', () => {
    expect(snsUrl(CERT_URL)?.hostname).toBe('sns.eu-west-1.amazonaws.com');
    expect(snsUrl('https://sns.cn-north-1.amazonaws.com.cn/x.pem')).toBeDefined();
    expect(snsUrl('https://sns.us-gov-west-1.amazonaws.com/x.pem')).toBeDefined();
    for (const bad of ['https://sns.amazonaws.com/x.pem', 'https://SNS.eu-west-1.amazonaws.com.cn.evil/x.pem', 'https://sns.eu-west-1.amazonaws.co/x.pem', 'ftp://sns.eu-west-1.amazonaws.com/x.pem', 'not a url', 'https://a:b@sns.eu-west-1.amazonaws.com/x.pem']) {
      expect(snsUrl(bad)).toBeUndefined();
    }
  });

  it('fetches each certificate once and keeps at most its limit', async () => {
    const cache = new CertificateCache(2);
    const fetched: string[] = [];
    const fetcher: typeof sns.fetch = async (url, init) => {
      fetched.push(url.href);
      return sns.fetch(url, init);
    };
    const url = (n: number) => new URL(`https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${n}.pem`);
    await Promise.all([cache.get(url(1), fetcher), cache.get(url(1), fetcher)]);
    await cache.get(url(2), fetcher);
    await cache.get(url(3), fetcher);
    expect(fetched).toEqual([url(1).href, url(2).href, url(3).href]);
    expect(cache.size).toBe(2);
  });

  it('does not keep a failed fetch', async () => {
    const cache = new CertificateCache();
    let calls = 0;
    const failing: typeof sns.fetch = async () => {
      calls++;
      return { ok: false, status: 503, text: async () => '' };
    };
    const url = new URL(CERT_URL);
    await expect(cache.get(url, failing)).rejects.toThrow(/503/);
    await expect(cache.get(url, failing)).rejects.toThrow(/503/);
    expect(calls).toBe(2);
    expect(cache.size).toBe(0);
  });
});

describe('cloudwatch when SNS does not answer', () => {
  it('answers 503 (SNS retries) when the certificate cannot be fetched, and when the confirmation fails', async () => {
    // SNS serves the test certificate, but neither this one certificate URL nor any SubscribeURL.
    const unreachable: FakeSns['fetch'] = async (url, init) => {
      if (url.pathname.endsWith('-unreachable.pem') || url.search.includes('ConfirmSubscription')) throw new TypeError('fetch failed');
      return sns.fetch(url, init);
    };
    const { post } = snsIngest(presetsWithTopic(), unreachable);
    // A certificate URL no other test fetched: not in the process-wide cache.
    const uncached = signSnsMessage(fixture('alarm.sns'), { certUrl: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-unreachable.pem' });
    expect(await post(uncached)).toMatchObject({ status: 503, body: { error: 'authentication_unavailable' } });

    expect((await post(signSnsMessage(subscriptionConfirmation(TEST_TOPIC)))).status).toBe(503);
  });
});
