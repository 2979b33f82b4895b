import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createLedgerTable, localDynamoClient } from '../../lambda/local/ledger.js';

// A real DynamoDB protocol endpoint for tests: dynalite 4.0.0 (in memory), bound to 127.0.0.1 on a free port.
// It does conditional put/update/delete, ADD/SET/REMOVE and ReturnValues ALL_NEW; it has no UpdateTimeToLive
// (TTL is a table setting made by the CDK stack; DynamoLedger treats an expired delivery item as absent).

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A client for the emulator (fake credentials, region us-east-1). */
  readonly client: DynamoDBClient;
  /** Creates a ledger-shaped table (pk string hash key, on-demand) and waits until it is ACTIVE. */
  createLedgerTable(name: string): Promise<void>;
  close(): Promise<void>;
}

// One client and one table creation for npm start and the tests.
export { createLedgerTable, localDynamoClient };

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  return {
    endpoint,
    client,
    createLedgerTable: (name) => createLedgerTable(client, name),
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}
