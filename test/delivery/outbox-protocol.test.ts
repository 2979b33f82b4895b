import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatadogClient, type DatadogClient } from '../../lambda/datadog/client.js';
import { runOutbox, type OutboxDeps } from '../../lambda/delivery/outbox.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { runLifecycle } from '../../lambda/delivery/run.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { WATCHDOG_DELAY_SECONDS } from '../../lambda/shared/budgets.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { firing, resolved, T0 } from '../support/crash.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';

// The outbox over the real protocols (issue 15): the local Datadog server over HTTP, the ledger on dynalite.

const KEY = { source: 'alertmanager', identity: 'group/disk' };
const KEYS = { apiKey: 'test-api-key', appKey: 'test-app-key' };

let dynamo: LocalDynamo;
let server: DatadogTestServer;
beforeAll(async () => {
  dynamo = await startDynalite();
  server = await startDatadogServer();
});
afterAll(async () => {
  await server?.close();
  await dynamo?.close();
});

describe('the outbox over HTTP and DynamoDB (#15)', () => {
  it("a resolve's comment posted, then its close answered 429 while the retry queue refuses the message: the comment is recorded, so the watchdog's run neither reads the timeline for it nor posts it again", async () => {
    await dynamo.createLedgerTable('outbox-protocol');
    const ledger = new DynamoLedger({ client: dynamo.client, tableName: 'outbox-protocol' });
    const client = createDatadogClient({ baseUrl: server.url, timeoutMs: 2000 });
    // The close, right after the comment went, is answered 429.
    const datadog: DatadogClient = {
      ...client,
      addComment: async (...a: Parameters<DatadogClient['addComment']>) => {
        const posted = await client.addComment(...a);
        server.failNextUpdates(1, { status: 429, headers: { 'X-RateLimit-Reset': '1' } });
        return posted;
      },
    };
    let clock = T0;
    const queue = new MemoryActionQueue();
    const deps: OutboxDeps = { datadog: client, keys: { get: async () => KEYS, refresh: async () => KEYS }, queue, ledger, logger: silentLogger, now: () => clock, random: () => 0 };
    await runLifecycle(firing(), deps);
    clock += 60_000;
    const refusing = Object.assign(Object.create(queue) as MemoryActionQueue, {
      retry: async () => {
        throw new Error('SQS unavailable');
      },
    });
    await expect(runLifecycle(resolved(), { ...deps, datadog, queue: refusing })).rejects.toThrow('SQS unavailable');
    const caseId = (await ledger.get(KEY.source, KEY.identity))?.caseId;
    expect(caseId).toBeDefined();

    // The watchdog's run, after the claim: the close only.
    clock += WATCHDOG_DELAY_SECONDS * 1000;
    const before = server.requests.length;
    expect((await runOutbox(KEY, deps)).status).toBe('done');
    const calls = server.requests.slice(before).map((r) => `${r.method} ${r.path.split('?')[0]}`);
    expect(calls).toEqual([`POST /api/v2/cases/${caseId}/status`]);
    const c = server.cases.find((x) => x.id === caseId)!;
    expect(c.comments).toHaveLength(1);
    expect(c.response.data.attributes.status).toBe('CLOSED');
  });
});
