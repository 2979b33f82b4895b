import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger, alertPk, deliveryPk } from '../../lambda/ledger/dynamo-ledger.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { ledgerContract } from './contract.js';

const TABLE = 'case-bridge-ledger';
let dynamo: LocalDynamo;
let ledger: DynamoLedger;

beforeAll(async () => {
  dynamo = await startDynalite();
  await dynamo.createLedgerTable(TABLE);
  ledger = new DynamoLedger({ client: dynamo.client, tableName: TABLE });
});
afterAll(async () => {
  await dynamo?.close();
});

ledgerContract('DynamoLedger (dynalite)', () => ledger);

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
