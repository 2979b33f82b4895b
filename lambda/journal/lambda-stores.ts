import type { DynamoSource } from '../shared/dynamodb-api.js';
import { AWS_CLIENT_BOUNDS } from '../shared/budgets.js';
import { UNKNOWN_SOURCE } from '../shared/metrics.js';
import { SOURCE_NAMES } from '../sources/index.js';
import { DynamoJournal } from './dynamo-journal.js';
import { S3Archive } from './s3-archive.js';
import { signedS3PutFromEnv } from './s3-put.js';

/** Every source a delivery can be journaled or archived under: the registry's and `unknown` (a path naming none). */
export const JOURNAL_SOURCES: readonly string[] = [...SOURCE_NAMES, UNKNOWN_SOURCE];

/**
 * The Lambda entries' journal (CASE_BRIDGE_JOURNAL_TABLE); none without a table. `client` is the
 * entry's DynamoDB access, the ledger's (lambdaDynamo).
 */
export function lambdaJournal(tableName: string | undefined, retentionDays: number, client: DynamoSource): DynamoJournal | undefined {
  if (tableName === undefined) return undefined;
  return new DynamoJournal({ client, tableName, sources: JOURNAL_SOURCES, retentionDays });
}

/**
 * The Lambda entries' archive (CASE_BRIDGE_ARCHIVE_BUCKET); none without a bucket. Its put is signed
 * from the function's environment without the SDK's S3 client (lambda/journal/s3-put.ts), which is
 * made, by the first read (replay), only for the reads, or for the puts where the environment
 * names no credentials.
 */
export function lambdaArchive(bucket: string | undefined, env: NodeJS.ProcessEnv = process.env): S3Archive | undefined {
  if (bucket === undefined) return undefined;
  const client = async () => new (await import('../shared/sdk-s3.js')).S3Client({ ...AWS_CLIENT_BOUNDS });
  const put = signedS3PutFromEnv(bucket, env);
  return new S3Archive({ client, bucket, sources: JOURNAL_SOURCES, ...(put === undefined ? {} : { put }) });
}
