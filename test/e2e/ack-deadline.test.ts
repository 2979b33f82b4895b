import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDatadogClient, type CallOptions, type DatadogClient } from '../../lambda/datadog/client.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { ACK_MARGIN_MS, ANSWER_NETWORK_MS } from '../../lambda/ingest/handler.js';
import { JOURNAL_WAIT_MS } from '../../lambda/ingest/record.js';
import { createLogger } from '../../lambda/shared/log.js';
import { signRequest } from '../../lambda/local/sign.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { DEFAULT_ACK_DEADLINE_MS } from '../../lambda/sources/index.js';
import { startDatadogServer } from '../../lambda/local/datadog-server.js';
import { queuedRecord } from '../support/fakes.js';
import { DD_KEYS } from '../support/fauxqs.js';
import { startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';
import { closeAfterEach } from '../support/per-test.js';
import { createIngestHandler } from '../../lambda/ingest/handler.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { loadRulesFile, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { fakeDatadog, webhookEvent } from '../support/fakes.js';
import type { Context } from 'aws-lambda';

// Deadline-aware answers (issue 15): Sentry gives up after 1 s. With Datadog taking 3 s, the ingest
// gives the create only what is left of that second less the margin, answers `202 queued` before
// Datadog has answered, and the create given up in flight is queued as ambiguous: the retry looks
// the case up by its marker first and does not make a second one. No assertion on elapsed time: the
// call's deadline is read from what the client was given, and "before Datadog answered" is an order.

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sentry/${name}`, import.meta.url), 'utf8');

/** The local Datadog server and the bridge a test starts, closed after it. */
const closing = closeAfterEach();

describe('a Sentry webhook while Datadog takes 3 s per call', () => {
  it('is answered 202 queued within its 1 s deadline, before Datadog answers, and its case is created once', async () => {
    const dd = closing(await startDatadogServer());
    dd.delayNext(1, 3000);
    const real = createDatadogClient({ baseUrl: dd.url, timeoutMs: 5000 });
    const given: (number | undefined)[] = [];
    const datadog: DatadogClient = {
      ...real,
      createCase: (request, keys, options?: CallOptions) => {
        given.push(options?.timeoutMs);
        return real.createCase(request, keys, options);
      },
    };
    const queue = new MemoryActionQueue();
    const bridge = closing(await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url }, overrides: { queue, datadog, markerSearchSettleSeconds: 0 } }));

    const body = fixture('issue.created.json');
    const headers = signRequest({ source: 'sentry', secret: TEST_SECRETS['SENTRY_CLIENT_SECRET'] ?? '', body, headers: JSON.parse(fixture('issue.created.headers.json')) as Record<string, string> });
    const res = await fetch(`${bridge.url}/webhooks/sentry`, { method: 'POST', body, headers });
    const answer = (await res.json()) as { status?: string };
    const casesWhenAnswered = dd.cases.length;

    expect(DEFAULT_ACK_DEADLINE_MS.sentry).toBe(1000);
    expect({ status: res.status, answer: answer.status }).toEqual({ status: 202, answer: 'queued' });
    // Datadog had not answered yet (it creates the case at the end of its 3 s).
    expect(casesWhenAnswered).toBe(0);
    // The create was given at most the deadline less the margin.
    expect(given).toHaveLength(1);
    expect(given[0]).toBeGreaterThan(0);
    expect(given[0]).toBeLessThanOrEqual(DEFAULT_ACK_DEADLINE_MS.sentry - ACK_MARGIN_MS);
    // Queued (a trigger of the alert's outbox) as a create whose outcome is unknown: it stays claimed
    // by the worker that sent it, so the next worker looks it up by its marker before any new create.
    expect(queue.retries).toHaveLength(1);
    const queued = queue.retries[0]!.action;
    expect(queued).toMatchObject({ kind: 'outbox', source: 'sentry' });
    const pending = await bridge.ledger.get('sentry', queued.identity);
    expect(pending).toMatchObject({ state: 'creating' });
    expect(pending?.outbox).toHaveLength(1);
    expect(pending?.outbox?.[0]).toMatchObject({ kind: 'create', claimedBy: expect.any(String), sentAt: expect.any(Number) });

    // Datadog finishes the create it was given; then the retry finds it by its marker.
    for (let i = 0; i < 100 && dd.cases.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(dd.cases).toHaveLength(1);
    const retry = createRetryHandler({
      datadog: real,
      secrets: createSecretsProvider({ load: async () => JSON.stringify({ ...TEST_SECRETS, ...DD_KEYS }), origin: 'test secret' }),
      queue,
      ledger: bridge.ledger,
      logger: silentLogger,
      markerSearchSettleSeconds: 0,
      // The trigger comes back when its delay ends (the action's notBefore on the ledger entry).
      now: () => Date.now() + queue.retries[0]!.delaySeconds * 1000,
    });
    expect(await retry({ Records: [queuedRecord('1', queued, queue.retries[0]!.reason, Date.now())] })).toEqual({ batchItemFailures: [] });
    expect(dd.cases).toHaveLength(1);
    expect(dd.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/cases')).toHaveLength(1);
    const entry = await bridge.ledger.get('sentry', queued.identity);
    expect(entry).toMatchObject({ state: 'open', caseId: dd.cases[0]!.id });
  });
});

describe("the sender's deadline runs from when API Gateway received the request", () => {
  it('a cold start that took 500 ms of Sentry\'s second leaves the create only the rest of it, less the margin', async () => {
    const T = Date.parse('2026-03-02T09:00:00.000Z');
    const given: (number | undefined)[] = [];
    const datadog = fakeDatadog({
      createCase: async (_request, _keys, options?: CallOptions) => {
        given.push(options?.timeoutMs);
        return { id: 'case-1', key: 'CASE-1', statusName: 'Open' };
      },
    });
    const secrets = { ...TEST_SECRETS, ...DD_KEYS };
    const handler = createIngestHandler({
      rules: loadRulesFile(PRESET_RULES_FILE),
      secrets: { get: async () => secrets, refresh: async () => secrets },
      datadog,
      queue: new MemoryActionQueue(),
      ledger: new MemoryLedger(),
      logger: silentLogger,
      maxBodyBytes: 1_000_000,
      // The handler starts 500 ms after API Gateway received the request (a cold container's start).
      now: () => T + 500,
    });
    const body = fixture('issue.created.json');
    const headers = signRequest({ source: 'sentry', secret: TEST_SECRETS['SENTRY_CLIENT_SECRET'] ?? '', body, headers: JSON.parse(fixture('issue.created.headers.json')) as Record<string, string> });
    const event = webhookEvent('sentry', body, headers);
    const received = { ...event, requestContext: { ...event.requestContext, timeEpoch: T } };
    const res = await handler(received, { getRemainingTimeInMillis: () => 10_000 } as unknown as Context);
    expect(res.statusCode).toBe(201);
    expect(given).toHaveLength(1);
    expect(given[0]).toBeLessThanOrEqual(DEFAULT_ACK_DEADLINE_MS.sentry - ACK_MARGIN_MS - 500);
  });

  it('a slow archive holds the answer only until the sender\'s deadline less the answer\'s way back, not JOURNAL_WAIT_MS past it', async () => {
    const T = Date.parse('2026-03-02T09:00:00.000Z');
    const secrets = { ...TEST_SECRETS, ...DD_KEYS };
    // The work ends 950 ms into the sender's wait (the create took what the deadline gave it, and more).
    let clock = T;
    const lines: string[] = [];
    const hanging = new Promise<never>(() => undefined);
    const handler = createIngestHandler({
      rules: loadRulesFile(PRESET_RULES_FILE),
      secrets: { get: async () => secrets, refresh: async () => secrets },
      datadog: fakeDatadog({
        createCase: async () => {
          clock = T + 950;
          return { id: 'case-1', key: 'CASE-1', statusName: 'Open' };
        },
      }),
      queue: new MemoryActionQueue(),
      ledger: new MemoryLedger(),
      logger: createLogger({ level: 'info', write: (line) => lines.push(line) }),
      maxBodyBytes: 1_000_000,
      archive: { put: async () => hanging, get: async () => undefined, list: async () => [] },
      now: () => clock,
    });
    const waited = (): unknown[] => lines.filter((l) => l.includes('journal or archive write not finished')).map((l) => (JSON.parse(l) as { waitMs?: unknown }).waitMs);

    // Sentry (1 s): 50 ms past the deadline less the answer's way back: no wait at all.
    const body = fixture('issue.created.json');
    const headers = signRequest({ source: 'sentry', secret: TEST_SECRETS['SENTRY_CLIENT_SECRET'] ?? '', body, headers: JSON.parse(fixture('issue.created.headers.json')) as Record<string, string> });
    const event = webhookEvent('sentry', body, headers);
    const sentry = await handler({ ...event, requestContext: { ...event.requestContext, timeEpoch: T } }, { getRemainingTimeInMillis: () => 10_000 } as unknown as Context);
    expect(sentry.statusCode).toBe(201);
    expect(T + DEFAULT_ACK_DEADLINE_MS.sentry - ANSWER_NETWORK_MS - clock).toBe(-50);
    expect(waited()).toEqual([0]);

    // GitHub (10 s) at the same point of its wait: the whole JOURNAL_WAIT_MS.
    clock = T;
    const issue = JSON.stringify({ action: 'opened', issue: { number: 5, title: 'Slow archive', html_url: 'https://github.com/acme/shop/issues/5' }, repository: { id: 1, full_name: 'acme/shop' } });
    const github = webhookEvent('github', issue, signRequest({ source: 'github', secret: TEST_SECRETS.GITHUB_WEBHOOK_SECRET, body: issue, headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'issues', 'X-GitHub-Delivery': 'slow-archive-1' } }));
    const answered = await handler({ ...github, requestContext: { ...github.requestContext, timeEpoch: T } }, { getRemainingTimeInMillis: () => 10_000 } as unknown as Context);
    expect(answered.statusCode).toBe(201);
    expect(waited()).toEqual([0, JOURNAL_WAIT_MS]);
  });

  it('the local bridge dates its API Gateway event on its own clock: a test clock 15 s ahead of the wall leaves Sentry its second', async () => {
    const dd = closing(await startDatadogServer());
    const ahead = Date.now() + 15_000;
    const bridge = closing(await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url }, overrides: { now: () => ahead } }));
    const body = fixture('issue.created.json');
    const headers = signRequest({ source: 'sentry', secret: TEST_SECRETS['SENTRY_CLIENT_SECRET'] ?? '', body, headers: JSON.parse(fixture('issue.created.headers.json')) as Record<string, string> });
    const res = await fetch(`${bridge.url}/webhooks/sentry`, { method: 'POST', body, headers });
    expect(res.status).toBe(201);
    expect(dd.cases).toHaveLength(1);
  });
});
