import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { awsConfigFromEnv } from '../shared/aws-request.js';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { signedDynamo, type DynamoApi, type DynamoSource } from '../shared/dynamodb-api.js';
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

let signed: DynamoApi | undefined;

/**
 * The Lambda entries' one DynamoDB access, shared by the ledger, the rate budget and the journal:
 * signed requests from the function's environment (lambda/shared/dynamodb-api.ts: no SDK client to
 * load and build at a cold start), or, where the environment does not name plain AWS credentials
 * and region (awsConfigFromEnv), the SDK client lambdaLedgerClient makes on first use.
 */
export function lambdaDynamo(env: NodeJS.ProcessEnv = process.env): DynamoSource {
  if (signed !== undefined) return signed;
  const config = awsConfigFromEnv(env, 'DYNAMODB');
  if (config === undefined) return lambdaLedgerClient;
  signed = signedDynamo(config);
  return signed;
}

/** The Lambda entries' ledger: a DynamoLedger on the stack's table (ENV.ledgerTable, required by parseLambdaEnv). */
export function lambdaLedger(tableName: string): DynamoLedger {
  return new DynamoLedger({ client: lambdaDynamo(), tableName });
}
