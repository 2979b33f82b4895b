import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { DynamoLedger } from './dynamo-ledger.js';

/**
 * The ledger's DynamoDB client: bounded attempts and per-attempt deadlines (lambda/shared/budgets.ts),
 * so a ledger that stops answering fails the call instead of holding the function to its timeout.
 * `config` adds to it (tests and `npm start` give an endpoint, a region and credentials).
 */
export async function createLedgerClient(config: DynamoDBClientConfig = {}): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  return new DynamoDBClient({ ...AWS_CLIENT_BOUNDS, ...config });
}

/** The Lambda entries' ledger: a DynamoLedger on the stack's table (ENV.ledgerTable, required by parseLambdaEnv). */
export function lambdaLedger(tableName: string): DynamoLedger {
  // The SDK is imported by the first webhook, not at module load (see DynamoLedgerOptions.client).
  return new DynamoLedger({ client: () => createLedgerClient(), tableName });
}
