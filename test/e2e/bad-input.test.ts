import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBridge, testSecret, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

// Hostile and broken requests through the real local server. Guards after signature verification
// get correctly signed requests, so what is tested is the guard itself and not the signature check.

const GOOD_BODY = JSON.stringify({
  action: 'opened',
  issue: { number: 9, title: 'Search is slow', body: 'p99 above 2 s', html_url: 'https://github.com/acme/shop/issues/9', state: 'open' },
  repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
});

const SECRET_VALUES = Object.values(TEST_SECRETS);
/** A V8 stack frame: "at fn (file:line:col)", "at file:line:col", "at async fn (...)". */
const STACK_FRAME = /\bat (?:async )?(?:[\w$.<>[\] ]+ \()?(?:file:|node:|\/)[^\s)]*:\d+:\d+/;

function hmacHex(secret: string, raw: string | Uint8Array): string {
  return createHmac('sha256', secret).update(raw).digest('hex');
}

function githubHeaders(raw: string | Uint8Array, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': 'issues',
    'x-github-delivery': 'bad-input',
    'x-hub-signature-256': `sha256=${hmacHex(TEST_SECRETS.GITHUB_WEBHOOK_SECRET, raw)}`,
    ...extra,
  };
}

function genericHeaders(raw: string | Uint8Array): Record<string, string> {
  return { 'content-type': 'application/json', 'x-signature': hmacHex(testSecret('generic'), raw) };
}

describe('bad input through the local server', () => {
  let bridge: TestBridge;
  const errorBodies: unknown[] = [];

  beforeAll(async () => {
    // No Datadog keys: a good request is a dry run, answered 202 without any outbound call.
    bridge = await startTestBridge();
  });
  afterAll(async () => {
    await bridge.close();
  });

  async function post(source: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Response> {
    return fetch(`${bridge.url}/webhooks/${source}`, { method: 'POST', body, headers });
  }

  /** Asserts status and error code, that nothing leaks, and returns the message. */
  async function expectError(res: Response, status: number, code: string): Promise<string> {
    const body = (await res.json()) as { error?: string; message?: string };
    errorBodies.push(body);
    expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
    expect(res.headers.get('content-type')).toBe('application/json');
    expectNoLeak(body);
    return body.message ?? '';
  }

  function expectNoLeak(body: unknown): void {
    const text = JSON.stringify(body);
    expect(text).not.toMatch(STACK_FRAME);
    expect(text).not.toContain('node_modules');
    expect(text).not.toContain('/work/');
    for (const secret of SECRET_VALUES) expect(text).not.toContain(secret);
  }

  /** The server still works: a good signed request is answered as usual. */
  async function expectStillUp(): Promise<void> {
    const res = await post('github', GOOD_BODY, githubHeaders(GOOD_BODY, { 'x-github-delivery': 'good-after' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'dry_run', deliveryId: 'good-after', rule: 'issue opened' });
  }

  it('answers a good signed request (baseline)', async () => {
    await expectStillUp();
  });

  it.each([
    ['invalid JSON', '{"action": "opened",', /^body is not JSON: /],
    ['an empty body', '', /^body is empty$/],
    ['a JSON array', '[{"action":"opened"}]', /^body must be a JSON object, got an array$/],
    ['a JSON string', '"opened"', /^body must be a JSON object, got string$/],
    ['JSON null', 'null', /^body must be a JSON object, got null$/],
    ['10,000-deep nesting', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`, /^body nests deeper than 64 levels$/],
  ])('answers 400 malformed_payload to %s (signed)', async (_label, raw, message) => {
    const res = await post('github', raw, githubHeaders(raw));

    expect(await expectError(res, 400, 'malformed_payload')).toMatch(message);
    await expectStillUp();
  });

  it.each([
    ['top level', '{"type":"alert","id":"1","title":"t","__proto__":{"polluted":"yes"}}'],
    ['nested', '{"type":"alert","id":"1","title":"t","labels":{"a":[{"__proto__":{"polluted":"yes"}}]}}'],
  ])('answers 400 to a __proto__ key (%s) and the prototype stays clean', async (_label, raw) => {
    const res = await post('generic', raw, genericHeaders(raw));

    expect(await expectError(res, 400, 'malformed_payload')).toBe('body has a "__proto__" key');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    await expectStillUp();
  });

  it('answers 400 to invalid UTF-8 bytes (signed over the raw bytes)', async () => {
    const raw = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

    const res = await post('github', raw, githubHeaders(raw));

    expect(await expectError(res, 400, 'malformed_payload')).toBe('body is not valid UTF-8');
    await expectStillUp();
  });

  it('answers 400 to a signed GitHub request without X-GitHub-Event', async () => {
    const headers = githubHeaders(GOOD_BODY);
    delete headers['x-github-event'];

    const res = await post('github', GOOD_BODY, headers);

    expect(await expectError(res, 400, 'malformed_payload')).toBe('missing X-GitHub-Event header');
    await expectStillUp();
  });

  it('answers 413 to a 6 MB body before reading the signature, and stays up', async () => {
    const raw = `{"pad":"${'x'.repeat(6 * 1024 * 1024)}"}`;

    const res = await post('github', raw, { 'content-type': 'application/json', 'x-github-event': 'issues' });

    expect(await expectError(res, 413, 'body_too_large')).toMatch(/the limit is 1048576$/);
    await expectStillUp();
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }, '"text/plain"'],
    ['form-encoded', { 'content-type': 'application/x-www-form-urlencoded' }, '"application/x-www-form-urlencoded"'],
    ['JSON in another charset', { 'content-type': 'application/json; charset=latin1' }, '"application/json; charset=latin1"'],
    ['missing', {}, 'null'],
  ])('answers 415 to a %s content type', async (_label, contentType, shown) => {
    // A Uint8Array body makes fetch send no content type of its own.
    const raw = new TextEncoder().encode(GOOD_BODY);
    const headers: Record<string, string> = { ...githubHeaders(GOOD_BODY), ...contentType };
    if (!('content-type' in contentType)) delete headers['content-type'];

    const res = await post('github', raw, headers);

    expect(await expectError(res, 415, 'unsupported_content_type')).toBe(`content type must be application/json, got ${shown}`);
    await expectStillUp();
  });

  it('answers 404 not_found, in the documented {error, message} shape, to GET /webhooks/github', async () => {
    const res = await fetch(`${bridge.url}/webhooks/github`);

    expect(res.status).toBe(404);
    const body: unknown = await res.json();
    expect(body).toEqual({ error: 'not_found', message: 'no route GET /webhooks/github: the bridge serves POST /webhooks/{source} and GET /health' });
    expectNoLeak(body);
    await expectStillUp();
  });

  it('answers 404 unknown_source to a source that is not configured', async () => {
    const res = await post('jira', GOOD_BODY, githubHeaders(GOOD_BODY));

    expect(await expectError(res, 404, 'unknown_source')).toMatch(/^no source "jira" is configured/);
    await expectStillUp();
  });

  it.each(['%E0%A4%A', '%', '%ZZgithub', '%C0%AF'])('answers 404 unknown_source, not 500, to malformed percent-encoding in the path (%s)', async (segment) => {
    const res = await post(segment, GOOD_BODY, githubHeaders(GOOD_BODY));

    expect(await expectError(res, 404, 'unknown_source')).toBe('the source in the path is not valid percent-encoding');
    expect(bridge.logs.filter((l) => l.includes('local server failure'))).toEqual([]);
    await expectStillUp();
  });

  it('answers 401 to an unsigned request, naming the header, without echoing the expected signature', async () => {
    const headers = githubHeaders(GOOD_BODY);
    delete headers['x-hub-signature-256'];

    const res = await post('github', GOOD_BODY, headers);
    const message = await expectError(res, 401, 'invalid_signature');

    expect(message).toBe('missing X-Hub-Signature-256 header');
    await expectStillUp();
  });

  it('collected error answers that are all free of stack frames and secrets', () => {
    expect(errorBodies.length).toBeGreaterThanOrEqual(15);
    for (const body of errorBodies) expectNoLeak(body);
  });
});
