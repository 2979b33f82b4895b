import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger, FIRING_COUNT_GRACE_SECONDS, alertPk, deliveryPk, thresholdPk } from '../../lambda/ledger/dynamo-ledger.js';
import { signedDynamo } from '../../lambda/shared/dynamodb-api.js';
import { createLedgerClient } from '../../lambda/ledger/lambda-ledger.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { ledgerContract } from './contract.js';
import type { LedgerEntry } from '../../lambda/ledger/types.js';

const TABLE = 'case-bridge-ledger';
const SIGNED_TABLE = 'case-bridge-ledger-signed';
let dynamo: LocalDynamo;
let ledger: DynamoLedger;
let signedLedger: DynamoLedger;

beforeAll(async () => {
  dynamo = await startDynalite();
  await dynamo.createLedgerTable(TABLE);
  ledger = new DynamoLedger({ client: dynamo.client, tableName: TABLE });
  // The deployed functions' path (#15, cold start): signed requests without the SDK's client.
  await dynamo.createLedgerTable(SIGNED_TABLE);
  signedLedger = new DynamoLedger({ client: signedDynamo({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, endpoint: dynamo.endpoint }), tableName: SIGNED_TABLE });
});
afterAll(async () => {
  await dynamo?.close();
});

ledgerContract('DynamoLedger (dynalite)', () => ledger);
ledgerContract('DynamoLedger over signed requests, as in Lambda (dynalite)', () => signedLedger);

describe('DynamoLedger item layout', () => {
  it('stores alerts under alert#<source>#<identity> and deliveries with an epoch-seconds expiresAt', async () => {
    const now = Date.parse('2026-03-02T00:00:00Z');
    await ledger.beginCreate({ source: 'pagerduty', identity: 'Q1ABCDEF', now });
    await ledger.rememberDelivery('pagerduty', 'wh-1', now);
    const alert = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: alertPk('pagerduty', 'Q1ABCDEF') } } }));
    expect(alert.Item?.['pk']?.S).toBe('alert#pagerduty#Q1ABCDEF');
    expect(alert.Item?.['state']?.S).toBe('creating');
    expect(alert.Item?.['createStartedAt']?.N).toBe(String(now));
    const delivery = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: deliveryPk('pagerduty', 'wh-1') } } }));
    expect(delivery.Item?.['expiresAt']?.N).toBe(String(now / 1000 + 86_400));
  });
});

describe('DynamoLedger occurrence counts (issue 17)', () => {
  it('expire on the bridge clock: a firing whose own time is an hour old (an Alertmanager alert start) is not written already expired', async () => {
    const startedAt = Date.now() - 3_600_000;
    const before = Math.floor(Date.now() / 1000);
    await ledger.countFiring({ source: 'alertmanager', identity: 'g/old-start' }, { key: 'r:1', at: startedAt }, 600_000);
    const item = await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: thresholdPk('alertmanager', 'g/old-start') } } }));
    const expiresAt = Number(item.Item?.['expiresAt']?.N);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 600 + FIRING_COUNT_GRACE_SECONDS);
    // The repeat notification of the same alert, later: counted beside the first, at the alert's start.
    const count = await ledger.countFiring({ source: 'alertmanager', identity: 'g/old-start' }, { key: 'r:2', at: startedAt }, 600_000);
    expect(Object.values(count.firings)).toEqual([startedAt, startedAt]);
  });
});

describe('DynamoLedger with a client made on first use (the Lambda entries)', () => {
  it('makes the client once, on the first call, and works as with a client', async () => {
    let made = 0;
    const lazy = new DynamoLedger({
      client: async () => {
        made += 1;
        return dynamo.client;
      },
      tableName: TABLE,
    });
    expect(made).toBe(0);
    const now = Date.parse('2026-03-03T00:00:00Z');
    expect(await lazy.rememberDelivery('github', 'lazy-delivery', now)).toBe(true);
    expect(await lazy.rememberDelivery('github', 'lazy-delivery', now)).toBe(false);
    const claim = await lazy.beginCreate({ source: 'github', identity: 'lazy/1', now });
    expect(claim.won).toBe(true);
    expect((await lazy.get('github', 'lazy/1'))?.state).toBe('creating');
    expect(made).toBe(1);
  });

  it('does not keep a failed client factory: the next call tries again', async () => {
    let calls = 0;
    const flaky = new DynamoLedger({
      client: async () => {
        calls += 1;
        if (calls === 1) throw new Error('credentials not ready');
        return dynamo.client;
      },
      tableName: TABLE,
    });
    await expect(flaky.get('github', 'flaky/1')).rejects.toThrow('credentials not ready');
    expect(await flaky.get('github', 'flaky/1')).toBeUndefined();
    expect(calls).toBe(2);
  });
});

/**
 * DynamoDB in front of dynalite that, for the operations `drop` names (once each), lets the write
 * happen and then closes the connection instead of answering: an answer lost to a reset or a timeout,
 * which the SDK's retry and the signed requests' alike send again.
 */
async function losingAnswers(target: string, drop: Set<string>): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target']).split('.').pop()!;
      const forward = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          if (drop.delete(operation)) {
            req.socket.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 500, answer.headers).end(Buffer.concat(body));
        });
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

describe('DynamoLedger when a conditional write happened but its answer was lost (sent again by the retry)', () => {
  const clients = {
    'signed requests': (endpoint: string) => signedDynamo({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, endpoint }),
    "the SDK's client (the Lambda functions' bounds: one retry)": (endpoint: string) => async () => createLedgerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  };
  for (const [name, client] of Object.entries(clients)) {
    it(`${name}: the delivery claimed and the create begun are its own, not another request's`, async () => {
      const proxy = await losingAnswers(dynamo.endpoint, new Set(['PutItem']));
      try {
        const lossy = new DynamoLedger({ client: client(proxy.endpoint), tableName: SIGNED_TABLE });
        const now = Date.now();
        expect(await lossy.claimDelivery('github', `lost-${name}`, now, 20_000)).toBe('claimed');
        const again = await losingAnswers(dynamo.endpoint, new Set(['PutItem']));
        try {
          const create = await new DynamoLedger({ client: client(again.endpoint), tableName: SIGNED_TABLE }).beginCreate({ source: 'github', identity: `lost/${name}`, now });
          expect(create.won).toBe(true);
          expect(create.entry.state).toBe('creating');
        } finally {
          await again.close();
        }
      } finally {
        await proxy.close();
      }
    });

    it(`${name}: a transition whose write landed is known as written, whether it made the entry or moved it`, async () => {
      const now = Date.now();
      const identity = `lost-swap/${name}`;
      const plain = new DynamoLedger({ client: client(dynamo.endpoint), tableName: SIGNED_TABLE });
      const proxy = await losingAnswers(dynamo.endpoint, new Set(['PutItem', 'UpdateItem']));
      try {
        const lossy = new DynamoLedger({ client: client(proxy.endpoint), tableName: SIGNED_TABLE });
        const seed = await plain.beginCreate({ source: 'github', identity: `${identity}-seed`, now });
        const first: LedgerEntry = { ...seed.entry, identity, state: 'open', caseId: 'case-1', caseKey: 'DDFC-1' };
        // Its put happened, its answer was lost; the retry's put is refused by the entry it made.
        expect(await lossy.swap(undefined, first)).toBe(true);
        const stored = await plain.get('github', identity);
        expect(stored).toMatchObject({ state: 'open', caseKey: 'DDFC-1' });
        // Its update happened, its answer was lost; the retry is refused by the rev it moved.
        expect(await lossy.swap(stored, { ...stored!, state: 'closed' })).toBe(true);
        expect(await plain.get('github', identity)).toMatchObject({ state: 'closed', rev: (stored!.rev ?? 0) + 1 });
        // Another worker's write is still another's: a swap from the old entry is refused.
        expect(await plain.swap(stored, { ...stored!, state: 'resolved' })).toBe(false);
      } finally {
        await proxy.close();
      }
    });
  }
});
