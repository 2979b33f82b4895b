import { Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_MODES, ENV, JOURNAL_TABLE, RETENTION_DEFAULTS, type ArchiveMode } from '../lambda/shared/contract.js';
import { isIntIn, type PropCheck } from './validate-props.js';

/** The calls the functions make on the journal (a conditional put, and a read when it finds a record). */
export const JOURNAL_WRITE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem'] as const;
/** The one call the ingest function makes on the archive. */
export const ARCHIVE_WRITE_ACTIONS = ['s3:PutObject'] as const;

/** What replay reads (the ingest function; issue 16): the archived bytes, and the index to list a source's deliveries. */
export const ARCHIVE_REPLAY_ACTIONS = ['s3:GetObject'] as const;
export const JOURNAL_REPLAY_ACTIONS = ['dynamodb:Query'] as const;

export interface JournalProps {
  /** Days a journal record is kept (DynamoDB TTL). @default 14 */
  readonly journalRetentionDays?: number;
  /** Days an archived delivery is kept (S3 lifecycle expiry). @default 30 */
  readonly archiveRetentionDays?: number;
  /** Archive refused deliveries too (bad signature, malformed…). @default false */
  readonly archiveRejected?: boolean;
  /** Which deliveries the archive keeps: all, failed (not done when answered), off (ARCHIVE_MODES; cost in docs/cost.md). @default 'all' */
  readonly archive?: ArchiveMode;
}

/** The checks on Journal's props (BridgeStack runs them with the others, before anything is built). */
export function journalChecks(props: JournalProps): PropCheck[] {
  const journalDays = props.journalRetentionDays ?? RETENTION_DEFAULTS.journalDays;
  const archiveDays = props.archiveRetentionDays ?? RETENTION_DEFAULTS.archiveDays;
  return [
    [isIntIn(journalDays, 1, 3650), `journalRetentionDays must be a whole number of days from 1 to 3650 (got ${journalDays})`],
    [isIntIn(archiveDays, 1, 3650), `archiveRetentionDays must be a whole number of days from 1 to 3650 (got ${archiveDays})`],
    [props.archive === undefined || ARCHIVE_MODES.includes(props.archive), `archive must be one of ${ARCHIVE_MODES.join(', ')} (got ${JSON.stringify(props.archive)})`],
  ];
}

/**
 * The delivery journal and the raw archive (issue 16).
 * - Journal: a DynamoDB table, one item per delivery by `id`, the index `bySourceDay` for listing,
 *   TTL on `expiresAt` (journalRetentionDays), on demand, AWS-managed encryption. Destroyed with the
 *   stack: it is a record of what happened, not the bridge's memory (the ledger is).
 * - Archive: an S3 bucket, SSE-S3, every public access blocked, TLS only, objects expire after
 *   archiveRetentionDays (and failed multipart uploads after a day), bucket-owner objects only.
 *   Retained on stack deletion with what it holds (S3 refuses to delete a bucket that is not empty).
 * The functions get only what they call (grantWriters); reading (npm run deliveries) is an operator's.
 */
export class Journal extends Construct {
  readonly table: TableV2;
  readonly bucket: Bucket;
  readonly journalRetentionDays: number;
  readonly archiveRetentionDays: number;
  private readonly archiveRejected: boolean;
  readonly archiveMode: ArchiveMode;

  constructor(scope: Construct, id: string, props: JournalProps = {}) {
    super(scope, id);
    this.journalRetentionDays = props.journalRetentionDays ?? RETENTION_DEFAULTS.journalDays;
    this.archiveRetentionDays = props.archiveRetentionDays ?? RETENTION_DEFAULTS.archiveDays;
    this.archiveRejected = props.archiveRejected === true;
    this.archiveMode = props.archive ?? 'all';

    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: JOURNAL_TABLE.partitionKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: JOURNAL_TABLE.index,
          partitionKey: { name: JOURNAL_TABLE.indexPartitionKey, type: AttributeType.STRING },
          sortKey: { name: JOURNAL_TABLE.indexSortKey, type: AttributeType.NUMBER },
        },
      ],
      billing: Billing.onDemand(),
      timeToLiveAttribute: JOURNAL_TABLE.ttlAttribute,
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason: 'The journal is a record of what happened to each webhook, kept journalRetentionDays; losing it loses no alert (the ledger, which has point-in-time recovery, is the bridge\'s memory).',
    });

    this.bucket = new Bucket(this, 'Archive', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-archived-deliveries', enabled: true, expiration: Duration.days(this.archiveRetentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Server access logs would need a second bucket; only the ingest function writes here (its role is the only writer) and CloudTrail data events can record reads.',
    });
  }

  /** The ingest function: writes records and archives deliveries (with `archive: 'off'` none: no PutObject; replay still reads the bucket). */
  grantIngest(fn: LambdaFunction & IGrantable): void {
    this.grantJournal(fn);
    fn.addEnvironment(ENV.archiveBucket, this.bucket.bucketName);
    if (this.archiveMode !== 'all') fn.addEnvironment(ENV.archiveMode, this.archiveMode);
    if (this.archiveMode === 'off') return;
    fn.addToRolePolicy(new PolicyStatement({ actions: [...ARCHIVE_WRITE_ACTIONS], resources: [this.bucket.arnForObjects('*')] }));
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
    // On the role, whose policy holds the statement (the role is not always the function's child).
    Validations.of(fn.role ?? fn).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      reason: 'The ingest function writes one object per delivery under keys it makes (<source>/<day>/<delivery id>): PutObject on the archive bucket\'s objects only.',
    });
    if (this.archiveRejected) fn.addEnvironment(ENV.archiveRejected, 'true');
  }

  /**
   * The ingest function's replay (issue 16, `npm run replay -- --stack`): reads archived deliveries
   * and lists a source's records by day (the index only). Not the functions' webhook path.
   */
  grantReplay(fn: LambdaFunction & IGrantable): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: [...ARCHIVE_REPLAY_ACTIONS], resources: [this.bucket.arnForObjects('*')] }));
    fn.addToRolePolicy(new PolicyStatement({ actions: [...JOURNAL_REPLAY_ACTIONS], resources: [`${this.table.tableArn}/index/${JOURNAL_TABLE.index}`] }));
  }

  /** The retry function: adds what it finishes to the records (no archive). */
  grantJournal(fn: LambdaFunction & IGrantable): void {
    // The table only: the functions never query the index.
    fn.addToRolePolicy(new PolicyStatement({ actions: [...JOURNAL_WRITE_ACTIONS], resources: [this.table.tableArn] }));
    fn.addEnvironment(ENV.journalTable, this.table.tableName);
    fn.addEnvironment(ENV.journalRetentionDays, String(this.journalRetentionDays));
  }
}
