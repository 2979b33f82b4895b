import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../shared/errors.js';
import { DynamoLedger } from './dynamo-ledger.js';

/** The Lambda entries' ledger: DynamoLedger on $CASE_BRIDGE_LEDGER_TABLE (required: no silent in-memory fallback). */
export function ledgerFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): DynamoLedger {
  const tableName = env['CASE_BRIDGE_LEDGER_TABLE'];
  if (tableName === undefined || tableName === '') throw new ConfigError('CASE_BRIDGE_LEDGER_TABLE is not set');
  // The SDK is imported by the first webhook, not at module load (see DynamoLedgerOptions.client).
  const client = async (): Promise<DynamoDBClient> => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({});
  return new DynamoLedger({ client, tableName });
}
