import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { DynamoLedger } from './dynamo-ledger.js';

/**
 * The ledger's DynamoDB client: bounded attempts and per-attempt deadlines (lambda/shared/budgets.ts),
 * so a ledger that stops answering fails the call instead of holding the function to its timeout.
 * `config` adds to it (tests and `npm start` give an endpoint, a region and credentials).
 */
export async function createLedgerClient(config: DynamoDBClientConfig = {}): Promise<DynamoDBClient> {
  const { DynamoDBClient } = await import('../shared/sdk-dynamodb.js');
  return new DynamoDBClient({ ...AWS_CLIENT_BOUNDS, ...config });
}

let shared: Promise<DynamoDBClient> | undefined;

/**
 * The Lambda entries' one DynamoDB client, made on first use: the ledger and the rate budget share it
 * and its open connections (one client to build at a cold start, not two). A failed import is tried
 * again on the next call.
 */
export function lambdaLedgerClient(): Promise<DynamoDBClient> {
  shared ??= createLedgerClient().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** The Lambda entries' ledger: a DynamoLedger on the stack's table (ENV.ledgerTable, required by parseLambdaEnv). */
export function lambdaLedger(tableName: string): DynamoLedger {
  // The SDK is imported by the first webhook, not at module load (see DynamoLedgerOptions.client).
  return new DynamoLedger({ client: lambdaLedgerClient, tableName });
}
