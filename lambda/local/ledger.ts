import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLedger, LEDGER_PARTITION_KEY } from '../ledger/dynamo-ledger.js';

/** The table name `npm run cases` reads by default. */
export const LOCAL_LEDGER_TABLE = 'case-bridge-ledger';

export interface LocalLedger {
  readonly ledger: DynamoLedger;
  /** `http://127.0.0.1:<port>`: `npm run cases -- <source> <identity> --endpoint <this>` */
  readonly endpoint: string;
  readonly tableName: string;
  close(): Promise<void>;
}

/**
 * Creates a ledger-shaped table (string hash key `pk`, on demand) and waits until it is ACTIVE.
 * With `ifMissing`, a table that already exists (a persisted ledger) is kept as it is.
 */
export async function createLedgerTable(client: DynamoDBClient, tableName: string, options: { ifMissing?: boolean } = {}): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: LEDGER_PARTITION_KEY, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: LEDGER_PARTITION_KEY, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(options.ifMissing === true && error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }
  for (let i = 0; ; i += 1) {
    const res = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (res.Table?.TableStatus === 'ACTIVE') return;
    if (i > 100) throw new Error(`ledger table ${tableName} did not become ACTIVE`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A DynamoDB client for the local emulator: fixed region, dummy credentials, one attempt. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}

/**
 * The dedup ledger in an embedded DynamoDB-protocol emulator (dynalite, 127.0.0.1 on a free port), as
 * `npm start` runs it: the same DynamoLedger and conditional writes as deployed. In memory, or with
 * `path` in a LevelDB directory there (kept across restarts; `npm run state`).
 * dynalite is a development dependency, loaded only here.
 */
export async function startLocalLedger(options: { port?: number; tableName?: string; path?: string } = {}): Promise<LocalLedger> {
  const { default: dynalite } = (await import('dynalite')) as { default: (o: Record<string, number | string>) => Server };
  if (options.path !== undefined) mkdirSync(options.path, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path !== undefined ? { path: options.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  const tableName = options.tableName ?? LOCAL_LEDGER_TABLE;
  const close = async (): Promise<void> => {
    client.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  try {
    await createLedgerTable(client, tableName, { ifMissing: options.path !== undefined });
  } catch (error) {
    await close();
    throw error;
  }
  return { ledger: new DynamoLedger({ client, tableName }), endpoint, tableName, close };
}
