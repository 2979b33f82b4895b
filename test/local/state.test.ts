import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localSqsClient } from '../../lambda/local/fauxqs.js';
import { LOCAL_LEDGER_TABLE, localDynamoClient } from '../../lambda/local/ledger.js';
import { parseLocalState, type LocalState } from '../../lambda/local/state.js';
import { children, npmRun, startState, stateAndStarter, untilLine } from '../support/npm-run.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { ConfigError } from '../../lambda/shared/errors.js';
import { readQueuedMessage } from '../../lambda/delivery/queue.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, queueDepth, receive, waitFor } from '../support/fauxqs.js';
import { postGithubIssue, startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';

// `npm run state` keeps the ledger and the queues on disk in their own process; `npm start` on it
// models a Lambda crash when killed: the state survives, as DynamoDB and SQS do in AWS.

/** A 429 whose limit resets in this many seconds: the case waits on the retry queue at least that long. */
const RESET_SECONDS = 6;
const RATE_LIMITED = { status: 429, body: { errors: ['Too many requests'] }, headers: { 'X-RateLimit-Reset': String(RESET_SECONDS), 'X-RateLimit-Limit': '10', 'X-RateLimit-Period': '10' } } as const;

function issueBody(n: number): string {
  return JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Durable ${n}`, body: 'details', html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
}

async function queuedIdentities(state: LocalState): Promise<string[]> {
  const client = localSqsClient(state.sqsEndpoint);
  try {
    // Long enough for the delayed message to become visible; visibility 0 leaves it for the next reader.
    const identities: string[] = [];
    await waitFor(async () => {
      for (const m of await receive(client, state.retryQueueUrl, { waitTimeSeconds: 1, visibilityTimeout: 0 })) {
        const read = readQueuedMessage(m.Body ?? '');
        if (read.ok && !identities.includes(read.message.action.identity)) identities.push(read.message.action.identity);
      }
      return identities.length > 0;
    }, (RESET_SECONDS + 5) * 1000);
    return identities;
  } finally {
    client.destroy();
  }
}

let dd: DatadogTestServer;
beforeAll(async () => {
  dd = await startDatadogServer();
});
afterEach(async () => {
  for (const child of [...children]) await child.kill();
});
afterAll(async () => {
  await dd?.close();
});

describe('npm run state', () => {
  it('prints one JSON line, and a ledger entry and a queued case made through the bridge survive kill -9 and a restart on the same directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-state-'));
    const first = await startState(dir);
    expect(first.state).toMatchObject({ tableName: LOCAL_LEDGER_TABLE, dir, ledgerEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), sqsEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });

    const bridge = await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url }, overrides: { state: first.state } });
    let identity: string;
    try {
      expect(bridge.persistent).toBe(true);
      dd.failNext(1, RATE_LIMITED);
      const res = await postGithubIssue(bridge.url, { delivery: 'durable-1', body: issueBody(1) });
      const answer = (await res.json()) as { status: string; identity: string };
      expect({ status: res.status, answer: answer.status }).toEqual({ status: 202, answer: 'queued' });
      identity = answer.identity;
    } finally {
      // Before the limit resets: the case is still waiting on the retry queue.
      await bridge.close();
    }

    await first.child.kill();
    const second = await startState(dir);

    expect(second.state).toEqual(first.state);
    const entry = await new DynamoLedger({ client: localDynamoClient(second.state.ledgerEndpoint), tableName: second.state.tableName }).get('github', identity);
    expect(entry).toMatchObject({ source: 'github', identity, state: 'creating' });
    expect(await queuedIdentities(second.state)).toEqual([identity]);
    expect(dd.cases.filter((c) => c.request.data.attributes.title.includes('Durable 1'))).toEqual([]);
  }, 120_000);
});

describe('npm start with CASE_BRIDGE_STATE', () => {
  it('uses the given ledger and queues: after kill -9 of npm start the queued case is still there, and a new npm start delivers it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-state-'));
    const { state, start: startBridge } = await stateAndStarter(dir, { ...TEST_SECRETS, ...DD_KEYS }, dd.url);

    const bridge = await startBridge();
    expect(bridge.child.stderr.join('\n')).toContain('state:   ledger and queues in npm run state');
    expect(bridge.child.stderr.join('\n')).toContain(`retries: SQS emulator ${state.sqsEndpoint}`);
    expect(bridge.child.stderr.join('\n')).toContain(`ledger:  DynamoDB emulator ${state.ledgerEndpoint}`);

    dd.failNext(1, RATE_LIMITED);
    const res = await postGithubIssue(bridge.url, { delivery: 'durable-2', body: issueBody(2) });
    const answer = (await res.json()) as { status: string; identity: string };
    expect({ status: res.status, answer: answer.status }).toEqual({ status: 202, answer: 'queued' });

    // The crash: the queued case is in the state process, not in the killed one.
    await bridge.child.kill();
    const sqs = localSqsClient(state.sqsEndpoint);
    try {
      expect((await queueDepth(sqs, state.retryQueueUrl)).total).toBe(2); // the watchdog and the retry trigger (#13)
    } finally {
      sqs.destroy();
    }
    expect(dd.cases.filter((c) => c.request.data.attributes.title.includes('Durable 2'))).toEqual([]);

    // A new npm start on the same state delivers it once the limit has reset.
    await startBridge();
    expect(await waitFor(() => dd.cases.some((c) => c.request.data.attributes.title.includes('Durable 2')), (RESET_SECONDS + 15) * 1000)).toBe(true);
    expect(dd.cases.filter((c) => c.request.data.attributes.title.includes('Durable 2'))).toHaveLength(1);
  }, 120_000);

  it('refuses to start when the state it names does not answer (npm run state is not running)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const endpoint = `http://127.0.0.1:${port}`;
    const state = parseLocalState(JSON.stringify({ ledgerEndpoint: endpoint, tableName: LOCAL_LEDGER_TABLE, sqsEndpoint: endpoint, retryQueueUrl: `${endpoint}/000000000000/case-bridge-retry`, retryQueueArn: 'arn:aws:sqs:us-east-1:000000000000:case-bridge-retry', dlqUrl: `${endpoint}/000000000000/case-bridge-dlq` }));

    await expect(startTestBridge({ overrides: { state } })).rejects.toThrow(new ConfigError(`CASE_BRIDGE_STATE names a ledger at ${endpoint} that does not answer: is npm run state running?`));
    expect(() => parseLocalState('{"ledgerEndpoint": "http://example.com:1"}')).toThrow(ConfigError);
  });

  it('plain npm start says that its ledger and queues are in memory and how to keep them', async () => {
    const child = npmRun('start', { PORT: '0' });
    const line = await untilLine(child, 'stderr', (l) => l.includes('state:'));
    expect(line).toContain('IN MEMORY: lost when npm start stops; keep them on disk with npm run state');
  }, 60_000);
});
