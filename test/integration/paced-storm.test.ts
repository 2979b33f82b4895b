import { describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { MemoryActionQueue, WATCHDOG_REASON, type PendingAction } from '../../lambda/delivery/queue.js';
import { WATCHDOG_DELAY_SECONDS } from '../../lambda/shared/budgets.js';
import { RateBudget } from '../../lambda/delivery/rate-budget.js';
import { MemoryRateBudgetStore } from '../../lambda/ledger/rate-budget-store.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { startDatadogServer } from '../../lambda/local/datadog-server.js';
import { queuedRecord } from '../support/fakes.js';
import { DD_KEYS } from '../support/fauxqs.js';
import { postGithubIssue, startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';
import { closeAfterEach } from '../support/per-test.js';

// A storm through the real ingest handler and retry handler with the shared rate budget, on a fake
// clock (no wall time): the clock moves only when the bridge waits for a slot, or when the test,
// standing in for SQS, hands a queued action back at the time its delay ends.

const ALERTS = 40;
const LIMIT = 10;
const PERIOD_MS = 2000;
const T0 = Date.parse('2026-03-02T09:00:00.000Z');

/** The local Datadog server and the bridge a test starts, closed after it. */
const closing = closeAfterEach();

function issueBody(n: number): string {
  return JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Paced ${n}`, body: `Paced issue ${n}`, html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
}


describe(`paced storm: ${ALERTS} distinct alerts against ${LIMIT} creates per ${PERIOD_MS / 1000} s, budget unknown at first`, () => {
  it('meets one 429 (it states the budget), then queues every create for a slot and makes each case once, at the limit rate', async () => {
    let clock = T0;
    const now = () => clock;
    const sleep = async (ms: number) => {
      clock += ms;
    };
    const dd = closing(await startDatadogServer({ now }));
    dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_MS / 1000 });
    const queue = new MemoryActionQueue();
    // The client tells the budget nothing of its successful answers here: only the 429 states the limit.
    const pace = new RateBudget({ store: new MemoryRateBudgetStore() });
    const bridge = closing(await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url }, overrides: { queue, now, sleep, pace, datadog: createDatadogClient({ baseUrl: dd.url }) } }));
    const retry = createRetryHandler({
      datadog: createDatadogClient({ baseUrl: dd.url }),
      secrets: createSecretsProvider({ load: async () => JSON.stringify({ ...TEST_SECRETS, ...DD_KEYS }), origin: 'test secret' }),
      queue,
      ledger: bridge.ledger,
      now,
      sleep,
      pace,
      logger: silentLogger,
    });

    const answers: string[] = [];
    for (let n = 1; n <= ALERTS; n += 1) {
      const res = await postGithubIssue(bridge.url, { delivery: `paced-${n}`, body: issueBody(n) });
      answers.push(`${res.status} ${((await res.json()) as { status?: string }).status ?? ''}`);
    }
    // The budget is unknown: calls go until Datadog refuses one, which states the limit.
    expect(answers.filter((a) => a === '201 created')).toHaveLength(LIMIT);
    expect(answers.filter((a) => a === '202 queued')).toHaveLength(ALERTS - LIMIT);
    expect(dd.requests.filter((r) => r.status === 429)).toHaveLength(1);

    // SQS: each queued action (a trigger of its alert's outbox: a retry after the 429, or a re-arm for
    // a refused slot) comes back when its delay ends (whole seconds, so up to a second before its slot).
    // The watchdogs (one per alert, armed before each create) come back after the storm, below.
    let handed = 0;
    const watchdogs: { action: PendingAction; reason: string }[] = [];
    const taken = (): { action: PendingAction; delaySeconds: number; reason: string; at: number }[] => {
      const armed = queue.armed.splice(0).map((a) => ({ action: a.trigger as PendingAction, delaySeconds: a.delaySeconds, reason: a.reason }));
      watchdogs.push(...armed.filter((a) => a.reason === WATCHDOG_REASON));
      return [...queue.retries.splice(0), ...armed.filter((a) => a.reason !== WATCHDOG_REASON)].map((r) => ({ ...r, at: clock + r.delaySeconds * 1000 }));
    };
    const pending = taken();
    while (pending.length > 0 && handed < 10 * ALERTS) {
      pending.sort((a, b) => a.at - b.at);
      const next = pending.shift()!;
      clock = Math.max(clock, next.at);
      const result = await retry({ Records: [queuedRecord(String(handed++), next.action, next.reason, clock)] });
      expect(result.batchItemFailures).toEqual([]);
      pending.push(...taken());
    }
    const stormEnd = clock;

    const titles = dd.cases.map((c) => c.request.data.attributes.title);
    expect(new Set(titles).size).toBe(ALERTS);
    expect(titles).toHaveLength(ALERTS);
    // No window went over: Datadog refused nothing more.
    expect(dd.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(queue.deadLetters).toEqual([]);
    // Each queued create came back once, at its slot: within 5% of the limit's minimum time.
    expect(handed).toBe(ALERTS - LIMIT);
    expect(stormEnd - T0).toBeLessThanOrEqual(1.05 * ((ALERTS / LIMIT) * PERIOD_MS));

    // The watchdogs find every outbox empty: no call to Datadog, nothing queued.
    expect(watchdogs).toHaveLength(ALERTS);
    const calls = dd.requests.length;
    for (const [i, w] of watchdogs.entries()) {
      clock = Math.max(clock, T0 + WATCHDOG_DELAY_SECONDS * 1000);
      expect((await retry({ Records: [queuedRecord(`w${i}`, w.action, w.reason, clock)] })).batchItemFailures).toEqual([]);
    }
    expect(dd.requests).toHaveLength(calls);
    expect([...queue.retries, ...queue.armed]).toEqual([]);
  });
});
