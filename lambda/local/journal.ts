import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoJournal } from '../journal/dynamo-journal.js';
import { S3Archive } from '../journal/s3-archive.js';
import { JOURNAL_TABLE } from '../shared/contract.js';
import { JOURNAL_SOURCES } from '../journal/lambda-stores.js';

/** The local journal table and archive bucket (`npm start`, `npm run state`). */
export const LOCAL_JOURNAL_TABLE = 'case-bridge-journal';
export const LOCAL_ARCHIVE_BUCKET = 'case-bridge-archive';

/** Creates the journal table as the stack does (key `id`, index bySourceDay); with `ifMissing`, keeps one that exists. */
export async function createJournalTable(client: DynamoDBClient, tableName: string, options: { ifMissing?: boolean } = {}): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: JOURNAL_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: JOURNAL_TABLE.indexPartitionKey, AttributeType: 'S' },
          { AttributeName: JOURNAL_TABLE.indexSortKey, AttributeType: 'N' },
        ],
        KeySchema: [{ AttributeName: JOURNAL_TABLE.partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: JOURNAL_TABLE.index,
            KeySchema: [
              { AttributeName: JOURNAL_TABLE.indexPartitionKey, KeyType: 'HASH' },
              { AttributeName: JOURNAL_TABLE.indexSortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(options.ifMissing === true && error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }
  for (let i = 0; ; i += 1) {
    const res = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (res.Table?.TableStatus === 'ACTIVE' && (res.Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
    if (i > 100) throw new Error(`journal table ${tableName} did not become ACTIVE`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An S3 client for the local emulator (fauxqs's S3, on the queue emulator's endpoint): path-style, dummy credentials. */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 2 });
}

/** Creates the archive bucket; one that exists (a persisted state) is kept. */
export async function createArchiveBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof Error && (error.name === 'BucketAlreadyOwnedByYou' || error.name === 'BucketAlreadyExists'))) throw error;
  }
}

/** The journal on a local DynamoDB endpoint (the ledger's dynalite), table created if missing. */
export async function localJournal(client: DynamoDBClient, tableName: string, retentionDays?: number): Promise<DynamoJournal> {
  await createJournalTable(client, tableName, { ifMissing: true });
  return new DynamoJournal({ client, tableName, sources: JOURNAL_SOURCES, ...(retentionDays !== undefined ? { retentionDays } : {}) });
}

/** The archive in the local queue emulator's S3, bucket created if missing. */
export async function localArchive(client: S3Client, bucket: string): Promise<S3Archive> {
  await createArchiveBucket(client, bucket);
  return new S3Archive({ client, bucket, sources: JOURNAL_SOURCES });
}
