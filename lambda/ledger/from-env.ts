import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { ConfigError } from '../shared/errors.js';
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

/** The Lambda entries' ledger: DynamoLedger on $CASE_BRIDGE_LEDGER_TABLE (required: no silent in-memory fallback). */
export function ledgerFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DynamoLedger {
  const tableName = env['CASE_BRIDGE_LEDGER_TABLE'];
  if (tableName === undefined || tableName === '') throw new ConfigError('CASE_BRIDGE_LEDGER_TABLE is not set');
  // The SDK is imported by the first webhook, not at module load (see DynamoLedgerOptions.client).
  return new DynamoLedger({ client: () => createLedgerClient(), tableName });
}
