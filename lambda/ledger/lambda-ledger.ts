import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLedger } from './dynamo-ledger.js';

/** The Lambda entries' ledger: a DynamoLedger on the stack's table (ENV.ledgerTable, required by parseLambdaEnv). */
export function lambdaLedger(tableName: string): DynamoLedger {
  // The SDK is imported by the first webhook, not at module load (see DynamoLedgerOptions.client).
  const client = async (): Promise<DynamoDBClient> => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({});
  return new DynamoLedger({ client, tableName });
}
