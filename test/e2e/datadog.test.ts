import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { dedupMarker, withMarker } from '../../lambda/ledger/marker.js';
import type { LocalBridgeOptions } from '../../lambda/local/bridge.js';
import { MemoryActionQueue, type ActionQueue, type PendingCase } from '../../lambda/delivery/queue.js';
import { createSecretsProvider, fileSecretLoader } from '../../lambda/shared/secrets.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { signRequest } from '../../lambda/local/sign.js';
import { startTestBridge, TEST_SECRETS, testSecret, type TestBridge } from '../support/local-bridge.js';

// The whole path through real sockets: a signed webhook -> the local bridge (node:http, API Gateway
// v2 events, the middy ingest handler) -> the local Datadog-compatible server.

const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;

const ISSUE_BODY = JSON.stringify({
  action: 'opened',
  issue: { number: 7, title: 'Checkout fails with 500', body: 'Steps to reproduce...', html_url: 'https://github.com/acme/shop/issues/7', state: 'open' },
  repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
});

/** What the preset rule "issue opened" (config/rules.yaml) makes of ISSUE_BODY. */
const EXPECTED_REQUEST: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: {
      title: '[GitHub] acme/shop#7: Checkout fails with 500',
      type_id: '00000000-0000-0000-0000-000000000001',
      description: 'Steps to reproduce...\n\nSource: https://github.com/acme/shop/issues/7',
      priority: 'P4',
    },
    relationships: { project: { data: { id: '00000000-0000-0000-0000-000000000000', type: 'project' } } },
  },
};

const IDENTITY = 'repo/4242:issue/7';

/** What is sent since issue 4: the description carries the alert's dedup marker footer. */
const MARKER = dedupMarker('github', IDENTITY, 0);
const SENT_REQUEST: CaseCreateRequest = {
  data: { ...EXPECTED_REQUEST.data, attributes: { ...EXPECTED_REQUEST.data.attributes, description: withMarker(EXPECTED_REQUEST.data.attributes.description, MARKER) } },
};

function githubSignature(secret: string, raw: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

interface Answer {
  status?: string;
  error?: string;
  message?: string;
  deliveryId?: string;
  rule?: string;
  identity?: string;
  reason?: string;
  retryInSeconds?: number;
  case?: { id: string; key: string };
}

describe('ingest -> Datadog through the local servers', () => {
  let dd: DatadogTestServer | undefined;
  let bridge: TestBridge | undefined;

  afterEach(async () => {
    await bridge?.close();
    await dd?.close();
    bridge = undefined;
    dd = undefined;
  });

  async function start(options: {
    secrets?: Record<string, string>;
    env?: Record<string, string>;
    overrides?: Omit<LocalBridgeOptions, 'env' | 'logger'>;
  } = {}): Promise<{ dd: DatadogTestServer; bridge: TestBridge }> {
    dd = await startDatadogServer();
    bridge = await startTestBridge({
      secrets: options.secrets ?? { ...TEST_SECRETS, ...DD_KEYS },
      env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000', ...options.env },
      ...(options.overrides ? { overrides: options.overrides } : {}),
    });
    return { dd, bridge };
  }

  function memoryQueue(b: TestBridge): MemoryActionQueue {
    expect(b.queue).toBeInstanceOf(MemoryActionQueue);
    return b.queue as MemoryActionQueue;
  }

  async function sendIssue(b: TestBridge, options: { delivery?: string; secret?: string; body?: string } = {}): Promise<{ status: number; answer: Answer }> {
    const body = options.body ?? ISSUE_BODY;
    const res = await fetch(`${b.url}/webhooks/github`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': options.delivery ?? 'delivery-1',
        'x-hub-signature-256': githubSignature(options.secret ?? TEST_SECRETS.GITHUB_WEBHOOK_SECRET, body),
      },
    });
    return { status: res.status, answer: (await res.json()) as Answer };
  }

  const creates = (server: DatadogTestServer) => server.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/cases');

  it('creates exactly one case for a signed GitHub issues.opened and answers 201 with its id and key', async () => {
    const { dd, bridge } = await start();

    const { status, answer } = await sendIssue(bridge, { delivery: 'delivery-created' });

    expect(status).toBe(201);
    expect(dd.cases).toHaveLength(1);
    const [stored] = dd.cases;
    expect(answer).toEqual({
      status: 'created',
      deliveryId: 'delivery-created',
      rule: 'issue opened',
      identity: IDENTITY,
      case: { id: stored?.id, key: 'DDFC-1' },
      delivery: expect.stringMatching(/^d[0-9a-z]{19}$/),
      trace: 'verified; rule "issue opened"; created DDFC-1 (new_alert)',
    });
    expect(answer.case?.key).toMatch(/^DDFC-\d+$/);
    expect(stored?.request).toEqual(SENT_REQUEST);
    const [sent] = creates(dd);
    expect(creates(dd)).toHaveLength(1);
    expect(sent?.headers['dd-api-key']).toBe('test-api-key');
    expect(sent?.headers['dd-application-key']).toBe('test-app-key');
    expect(JSON.parse(sent?.body ?? '{}')).toEqual(SENT_REQUEST);
    const queue = memoryQueue(bridge);
    expect(queue.retries).toEqual([]);
    expect(queue.deadLetters).toEqual([]);
  });

  it('answers 401 to a wrong signature and never calls Datadog', async () => {
    const { dd, bridge } = await start();

    const { status, answer } = await sendIssue(bridge, { secret: 'not-the-secret' });

    expect(status).toBe(401);
    expect(answer.error).toBe('invalid_signature');
    expect(dd.requests).toHaveLength(0);
    expect(dd.cases).toHaveLength(0);
  });

  it('dead-letters a case Datadog rejects with 400, with Datadog\'s detail, after one attempt', async () => {
    const { dd, bridge } = await start();
    dd.failNext(1, { status: 400, body: { errors: [{ status: '400', title: 'Bad Request', detail: 'type_id 00000000-0000-0000-0000-000000000001 is not a case type of this org' }] } });

    const { status, answer } = await sendIssue(bridge, { delivery: 'delivery-400' });

    expect(status).toBe(202);
    expect(answer.status).toBe('dead_lettered');
    expect(answer.deliveryId).toBe('delivery-400');
    expect(answer.reason).toContain('400');
    expect(answer.reason).toContain('is not a case type of this org');
    const queue = memoryQueue(bridge);
    expect(queue.retries).toHaveLength(0);
    expect(queue.deadLetters).toHaveLength(1);
    expect(queue.deadLetters[0]?.reason).toBe(answer.reason);
    expect(queue.deadLetters[0]?.action).toMatchObject({ kind: 'create_case', source: 'github', deliveryId: 'delivery-400', identity: IDENTITY, rule: 'issue opened', request: SENT_REQUEST, marker: MARKER });
    // Not retried: one create reached Datadog and nothing was created.
    expect(creates(dd)).toHaveLength(1);
    expect(dd.cases).toHaveLength(0);
  });

  it('a GitHub body captured and sent again with a new X-GitHub-Delivery changes nothing: keyed by a hash of the signed body (#13)', async () => {
    const { dd, bridge } = await start();
    expect((await sendIssue(bridge, { delivery: 'original' })).status).toBe(201);
    const replay = await sendIssue(bridge, { delivery: 'forged-new-id' });
    expect(replay.status).toBe(200);
    expect(replay.answer.status).toBe('duplicate');
    expect(creates(dd)).toHaveLength(1);
    expect(dd.cases).toHaveLength(1);
  });

  it('a GitHub body captured and sent again without any X-GitHub-Delivery changes nothing either (#13)', async () => {
    const { dd, bridge } = await start();
    expect((await sendIssue(bridge, { delivery: 'original' })).status).toBe(201);
    const body = ISSUE_BODY;
    const res = await fetch(`${bridge.url}/webhooks/github`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-hub-signature-256': githubSignature(TEST_SECRETS.GITHUB_WEBHOOK_SECRET, body) },
    });
    expect(((await res.json()) as Answer).status).toBe('duplicate');
    expect(creates(dd)).toHaveLength(1);
  });

  it('a Sentry body captured and sent again with a new Request-ID and a fresh Sentry-Hook-Timestamp (neither signed) does not reopen its closed case (#13)', async () => {
    const { dd, bridge } = await start();
    const fixture = (name: string): string => readFileSync(new URL(`../fixtures/sentry/${name}`, import.meta.url), 'utf8');
    const send = async (name: string, requestId: string, at: number): Promise<{ status: number; answer: Answer }> => {
      const body = fixture(`${name}.json`);
      const headers = { ...(JSON.parse(fixture(`${name}.headers.json`)) as Record<string, string>), 'Request-ID': requestId, 'Sentry-Hook-Timestamp': String(Math.floor(at / 1000)) };
      const res = await fetch(`${bridge.url}/webhooks/sentry`, { method: 'POST', body, headers: signRequest({ source: 'sentry', secret: testSecret('sentry'), body, headers }) });
      return { status: res.status, answer: (await res.json()) as Answer };
    };
    const now = Date.now();
    expect((await send('issue.created', 'created-1', now - 60_000)).status).toBe(201);
    expect((await send('issue.resolved', 'resolved-1', now - 30_000)).answer.reason).toBe('resolved_closed');
    expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED']);
    const replay = await send('issue.created', 'forged-new-id', now);
    expect(replay.answer.status).toBe('duplicate');
    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED']);
  });

  it('queues a rate-limited case for X-RateLimit-Reset seconds plus jitter, without counting an attempt', async () => {
    const { dd, bridge } = await start();
    dd.failNext(1, { status: 429, headers: { 'X-RateLimit-Reset': '7', 'X-RateLimit-Limit': '30', 'X-RateLimit-Remaining': '0' } });

    const { status, answer } = await sendIssue(bridge, { delivery: 'delivery-429' });

    expect(status).toBe(202);
    expect(answer.status).toBe('queued');
    expect(answer.reason).toContain('429');
    expect(answer.retryInSeconds).toBeGreaterThanOrEqual(7);
    expect(answer.retryInSeconds).toBeLessThanOrEqual(9);
    const queue = memoryQueue(bridge);
    expect(queue.deadLetters).toHaveLength(0);
    expect(queue.retries).toHaveLength(1);
    const [retry] = queue.retries;
    expect(retry?.delaySeconds).toBe(answer.retryInSeconds);
    expect(retry?.delaySeconds).toBeGreaterThanOrEqual(7);
    expect(retry?.delaySeconds).toBeLessThanOrEqual(9);
    // The message is a trigger (#13): the work, with the marked request, is on the alert's ledger entry.
    expect(retry?.action).toEqual({ kind: 'outbox', source: 'github', deliveryId: 'delivery-429', identity: IDENTITY, rule: undefined, attempt: 0, firstSeen: expect.any(Number) });
    const entry = await bridge.ledger.get('github', IDENTITY);
    expect(entry).toMatchObject({ state: 'creating', marker: MARKER, outbox: [{ kind: 'create', request: SENT_REQUEST, rule: 'issue opened', deliveryId: 'delivery-429', tries: 0 }] });
    expect(creates(dd)).toHaveLength(1);
    expect(dd.cases).toHaveLength(0);
  });

  it('uses the injected random for the 429 jitter: 7 + floor(0.75 * 2) = 8', async () => {
    const { dd, bridge } = await start({ overrides: { random: () => 0.75 } });
    dd.failNext(1, { status: 429, headers: { 'X-RateLimit-Reset': '7' } });

    const { answer } = await sendIssue(bridge);

    expect(answer.retryInSeconds).toBe(8);
    expect(memoryQueue(bridge).retries[0]?.delaySeconds).toBe(8);
  });

  it('queues a case after a Datadog 500 as attempt 1 with a backoff inside the first window', async () => {
    const { dd, bridge } = await start({ overrides: { random: () => 0.5 } });
    dd.failNext(1, { status: 500 });

    const { status, answer } = await sendIssue(bridge, { delivery: 'delivery-500' });

    expect(status).toBe(202);
    expect(answer.status).toBe('queued');
    expect(answer.reason).toContain('answered 500');
    // Attempt 1: full jitter over 2^1 * 5 = 10 s; random 0.5 -> 5 s.
    expect(answer.retryInSeconds).toBe(5);
    const queue = memoryQueue(bridge);
    expect(queue.retries).toHaveLength(1);
    expect(queue.retries[0]?.action.kind).toBe('outbox');
    expect(await bridge.ledger.get('github', IDENTITY)).toMatchObject({ outbox: [{ kind: 'create', tries: 1, request: SENT_REQUEST }] });
    expect(queue.deadLetters).toHaveLength(0);
    expect(creates(dd)).toHaveLength(1);
  });

  it('queues a case when Datadog does not answer before DD_TIMEOUT_MS', async () => {
    const { dd, bridge } = await start({ env: { DD_TIMEOUT_MS: '500' } });
    dd.hangNext(1);

    const started = Date.now();
    const { status, answer } = await sendIssue(bridge, { delivery: 'delivery-timeout' });
    const elapsed = Date.now() - started;

    expect(status).toBe(202);
    expect(answer.status).toBe('queued');
    expect(answer.reason).toContain('timed out after 500 ms');
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(5000);
    const queue = memoryQueue(bridge);
    expect(queue.retries).toHaveLength(1);
    expect(await bridge.ledger.get('github', IDENTITY)).toMatchObject({ outbox: [{ kind: 'create', tries: 1 }] });
    expect(queue.retries[0]?.delaySeconds).toBeGreaterThanOrEqual(1);
    expect(queue.retries[0]?.delaySeconds).toBeLessThanOrEqual(10);
    expect(dd.cases).toHaveLength(0);
  });

  it('re-reads the keys once after a 403 and creates the case with the refreshed keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-rotation-'));
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ ...TEST_SECRETS, DD_API_KEY: 'revoked-api-key', DD_APP_KEY: 'revoked-app-key' }));
    let loads = 0;
    const load = fileSecretLoader(file);
    const secrets = createSecretsProvider({
      origin: file,
      load: () => {
        loads += 1;
        return load();
      },
    });
    const { dd, bridge } = await start({ overrides: { secrets } });
    expect(loads).toBe(1); // read at start
    // The keys are rotated after the bridge cached the old ones.
    writeFileSync(file, JSON.stringify({ ...TEST_SECRETS, ...DD_KEYS }));

    const { status, answer } = await sendIssue(bridge, { delivery: 'delivery-rotated' });

    expect(status).toBe(201);
    expect(answer.case?.key).toBe('DDFC-1');
    expect(loads).toBe(2);
    expect(creates(dd).map((r) => [r.headers['dd-api-key'], r.headers['dd-application-key'], r.status])).toEqual([
      ['revoked-api-key', 'revoked-app-key', 403],
      ['test-api-key', 'test-app-key', 201],
    ]);
    expect(dd.cases).toHaveLength(1);
    expect(memoryQueue(bridge).retries).toHaveLength(0);
    expect(memoryQueue(bridge).deadLetters).toHaveLength(0);

    // The refreshed keys are now the cached ones: the next webhook goes through first time.
    // Another issue (the same one again would be deduplicated since issue 4).
    const second = await sendIssue(bridge, { delivery: 'delivery-after-rotation', body: ISSUE_BODY.replace('"number":7', '"number":8') });
    expect(second.status).toBe(201);
    expect(loads).toBe(2);
    expect(creates(dd)).toHaveLength(3);
  });

  it('retries once after a single 403 with the same keys', async () => {
    const { dd, bridge } = await start();
    dd.failNext(1, { status: 403 });

    const { status, answer } = await sendIssue(bridge);

    expect(status).toBe(201);
    expect(answer.case?.key).toBe('DDFC-1');
    expect(creates(dd).map((r) => r.status)).toEqual([403, 201]);
    expect(dd.cases).toHaveLength(1);
  });

  it('dead-letters after a refresh when the keys stay wrong (403 twice, no third call)', async () => {
    const { dd, bridge } = await start({ secrets: { ...TEST_SECRETS, DD_API_KEY: 'wrong-api-key', DD_APP_KEY: 'wrong-app-key' } });

    const { status, answer } = await sendIssue(bridge);

    expect(status).toBe(202);
    expect(answer.status).toBe('dead_lettered');
    expect(answer.reason).toContain('403');
    expect(creates(dd).map((r) => r.status)).toEqual([403, 403]);
    expect(memoryQueue(bridge).deadLetters).toHaveLength(1);
    expect(memoryQueue(bridge).retries).toHaveLength(0);
  });

  it('answers 503 queue_unavailable when the retry queue cannot store a rate-limited case', async () => {
    const calls: string[] = [];
    const queue: ActionQueue = {
      retry: () => {
        calls.push('retry');
        return Promise.reject(new Error('down'));
      },
      deadLetter: () => {
        calls.push('deadLetter');
        return Promise.reject(new Error('down'));
      },
      arm: () => Promise.resolve(),
    };
    const { dd, bridge } = await start({ overrides: { queue } });
    dd.failNext(1, { status: 429, headers: { 'X-RateLimit-Reset': '7' } });

    const { status, answer } = await sendIssue(bridge);

    expect(status).toBe(503);
    expect(answer.error).toBe('queue_unavailable');
    expect(calls).toEqual(['retry']);
    expect(bridge.logs.some((l) => (JSON.parse(l) as { message: string }).message === 'webhook not accepted: the retry queue failed')).toBe(true);
  });

  it('answers 503 queue_unavailable when the dead-letter store fails too', async () => {
    const queue: ActionQueue = { retry: () => Promise.reject(new Error('down')), deadLetter: () => Promise.reject(new Error('down')), arm: () => Promise.resolve() };
    const { dd, bridge } = await start({ overrides: { queue } });
    dd.failNext(1, { status: 400 });

    const { status, answer } = await sendIssue(bridge);

    expect(status).toBe(503);
    expect(answer.error).toBe('queue_unavailable');
  });

  it.each([
    ['missing', {}],
    ['empty', { GITHUB_WEBHOOK_SECRET: '' }],
  ])('fails closed with 500 not_configured when the webhook secret is %s', async (_label, extra) => {
    const { GITHUB_WEBHOOK_SECRET: _omitted, ...rest } = TEST_SECRETS;
    const { dd, bridge } = await start({ secrets: { ...rest, ...DD_KEYS, ...extra } });

    // Signed with the usual secret, and also with an empty one: neither may pass.
    for (const secret of [TEST_SECRETS.GITHUB_WEBHOOK_SECRET, '']) {
      const { status, answer } = await sendIssue(bridge, { secret });
      expect(status).toBe(500);
      expect(answer.error).toBe('not_configured');
      expect(answer.message).toContain('GITHUB_WEBHOOK_SECRET');
    }
    expect(dd.requests).toHaveLength(0);
    expect(memoryQueue(bridge).retries).toHaveLength(0);
  });
});
