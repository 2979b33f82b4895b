import { createServer, type Server, type Socket } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { createLedgerClient } from '../../lambda/ledger/lambda-ledger.js';
import {
  AWS_CALL_WORST_CASE_MS,
  AWS_CLIENT_BOUNDS,
  AWS_MAX_ATTEMPTS,
  DATADOG_TIMEOUT_MS,
  INGEST_FUNCTION_TIMEOUT_SECONDS,
} from '../../lambda/shared/budgets.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { LedgerError, QueueError } from '../../lambda/shared/errors.js';
import { SqsActionQueue } from '../../lambda/delivery/sqs-queue.js';
import { startDatadogServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, pendingCase } from '../support/fauxqs.js';
import { postGithubIssue, startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';

// A ledger or queue that accepts connections and never answers must fail the call within its bound,
// with a typed error, instead of holding the function until its timeout. What proves the bound without
// measuring it: each attempt ends on the SDK's own deadline (the cause is a TimeoutError), there are
// exactly AWS_MAX_ATTEMPTS of them (one connection each), and the client runs with the deadlines
// budgets.ts sums into AWS_CALL_WORST_CASE_MS (whose fit in the function is the first test). How long
// the call takes on a given machine is a wall-time number: `npm run bench` territory, not `npm test`.
// The one clock reading kept is the promise itself, with room for a loaded machine: the call ends
// before the ingest function's timeout (10 s; the bound is 4 s), i.e. it does not hold the function.

/** The sanity bound on a failing call: the ingest function's timeout, two and a half times AWS_CALL_WORST_CASE_MS. */
const FUNCTION_TIMEOUT_MS = INGEST_FUNCTION_TIMEOUT_SECONDS * 1000;

/**
 * The attempts and deadlines an SDK client runs with, in AWS_CLIENT_BOUNDS' shape. Read after a call:
 * the request handler resolves its options on its first request.
 */
async function boundsOf(client: DynamoDBClient | SQSClient): Promise<unknown> {
  const handler = client.config.requestHandler as unknown as { httpHandlerConfigs(): Record<string, unknown> };
  const { connectionTimeout, requestTimeout, socketTimeout, throwOnRequestTimeout } = handler.httpHandlerConfigs();
  return { maxAttempts: await client.config.maxAttempts(), requestHandler: { connectionTimeout, requestTimeout, socketTimeout, throwOnRequestTimeout } };
}

interface SilentServer {
  readonly endpoint: string;
  /** Connections accepted so far (one per attempt: a timed-out socket is not reused). */
  connections(): number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that accepts every connection, reads the request and never answers. */
async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

let silent: SilentServer | undefined;
afterEach(async () => {
  await silent?.close();
  silent = undefined;
});

async function timed<T>(work: () => Promise<T>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

describe('time budgets', () => {
  it('one Datadog call at its deadline and one ledger call at its bound fit the ingest function, with a second to spare', () => {
    expect(parseEnv({}).DD_TIMEOUT_MS).toBe(DATADOG_TIMEOUT_MS);
    expect(DATADOG_TIMEOUT_MS + AWS_CALL_WORST_CASE_MS + 1_000).toBeLessThanOrEqual(INGEST_FUNCTION_TIMEOUT_SECONDS * 1000);
  });

  it('a ledger that accepts and never answers fails the call on the budgeted deadlines, as a LedgerError, after the bounded attempts', async () => {
    silent = await startSilentServer();
    let client: DynamoDBClient | undefined;
    const ledger = new DynamoLedger({ client: async () => (client = await createLedgerClient({ ...LOCAL, endpoint: silent!.endpoint })), tableName: 'case-bridge-ledger' });

    const { error, ms } = await timed(() => ledger.get('github', 'repo/1:issue/1'));

    expect(error).toBeInstanceOf(LedgerError);
    expect((error as Error).message).toMatch(/^the dedup ledger failed \(GetItem\): /);
    expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
    expect(silent.connections()).toBe(AWS_MAX_ATTEMPTS);
    expect(await boundsOf(client!)).toEqual(AWS_CLIENT_BOUNDS);
    expect(ms).toBeLessThan(FUNCTION_TIMEOUT_MS);
  });

  it('a webhook whose ledger never answers is answered 503 ledger_unavailable within the bound, so the sender retries', async () => {
    silent = await startSilentServer();
    const dd = await startDatadogServer();
    const bridge = await startTestBridge({
      secrets: { ...TEST_SECRETS, ...DD_KEYS },
      env: { DD_API_URL: dd.url },
      overrides: { ledger: new DynamoLedger({ client: () => createLedgerClient({ ...LOCAL, endpoint: silent!.endpoint }), tableName: 'case-bridge-ledger' }) },
    });
    try {
      const body = JSON.stringify({ action: 'opened', issue: { number: 1, title: 'Search is slow', html_url: 'https://github.com/acme/shop/issues/1', state: 'open' }, repository: { id: 4242, full_name: 'acme/shop' } });
      let res: Response | undefined;
      const { ms } = await timed(async () => {
        res = await postGithubIssue(bridge.url, { delivery: 'ledger-down', body });
      });

      expect(res?.status).toBe(503);
      expect(await res?.json()).toEqual({ error: 'ledger_unavailable', message: 'the dedup ledger could not be reached; send it again' });
      expect(dd.requests.filter((r) => r.method === 'POST')).toEqual([]);
      expect(silent.connections()).toBe(AWS_MAX_ATTEMPTS);
      expect(ms).toBeLessThan(FUNCTION_TIMEOUT_MS);
    } finally {
      await bridge.close();
      await dd.close();
    }
  });

  it('a conditional write that loses stays a condition failure, not a LedgerError (the ledger answered)', async () => {
    const { startDynalite } = await import('../support/dynalite.js');
    const dynamo = await startDynalite();
    try {
      await dynamo.createLedgerTable('ledger-t');
      const ledger = new DynamoLedger({ client: () => createLedgerClient({ ...LOCAL, endpoint: dynamo.endpoint }), tableName: 'ledger-t' });
      const input = { source: 'github' as const, identity: 'repo/1:issue/1', rule: 'r', now: 1 };
      expect((await ledger.beginCreate(input)).won).toBe(true);
      expect((await ledger.beginCreate(input)).won).toBe(false);
    } finally {
      await dynamo.close();
    }
  });

  it('a queue that accepts and never answers fails the send on the budgeted deadlines, as a QueueError, after the bounded attempts', async () => {
    silent = await startSilentServer();
    const client = new SQSClient({ ...AWS_CLIENT_BOUNDS, ...LOCAL, endpoint: silent.endpoint, useQueueUrlAsEndpoint: false });
    const queue = new SqsActionQueue({ client, retryQueueUrl: `${silent.endpoint}/000000000000/case-bridge-retry`, dlqUrl: `${silent.endpoint}/000000000000/case-bridge-dlq` });
    try {
      const { error, ms } = await timed(() => queue.retry(pendingCase(1), { delaySeconds: 0, reason: 'first try answered 503' }));

      expect(error).toBeInstanceOf(QueueError);
      expect((error as Error).cause).toMatchObject({ name: 'TimeoutError' });
      expect(silent.connections()).toBe(AWS_MAX_ATTEMPTS);
      expect(await boundsOf(client)).toEqual(AWS_CLIENT_BOUNDS);
      expect(ms).toBeLessThan(FUNCTION_TIMEOUT_MS);
    } finally {
      client.destroy();
    }
  });
});
