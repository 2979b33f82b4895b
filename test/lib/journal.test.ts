import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BridgeStack } from '../../lib/bridge-stack.js';
import { stackFromContext } from '../../lib/app-context.js';
import { fastApp, policyStatements, PRESETS } from './support.js';

// Issue 16: the delivery journal (DynamoDB, TTL) and the raw archive (S3), least privilege, outputs, dashboard.

const asList = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

function template(props: Partial<ConstructorParameters<typeof BridgeStack>[2]> = {}): Template {
  return Template.fromStack(new BridgeStack(fastApp(), 'Journaled', { rulesFile: PRESETS, ...props }));
}

/** The statements of the policy attached to the role of the function whose logical id starts with `prefix`. */
function statementsOf(t: Template, prefix: string) {
  const fnId = Object.keys(t.findResources('AWS::Lambda::Function')).find((id) => id.startsWith(prefix))!;
  const roleRef = JSON.stringify([{ Ref: (t.findResources('AWS::Lambda::Function')[fnId]!.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] }]);
  return policyStatements(Object.fromEntries(Object.entries(t.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p.Properties.Roles) === roleRef)));
}

describe('BridgeStack delivery journal and raw archive (issue 16)', () => {
  const t = template();

  it('keeps the journal in an on-demand table keyed by id, listed by source and day, with TTL on expiresAt', () => {
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'bySourceDay',
          KeySchema: [
            { AttributeName: 'sourceDay', KeyType: 'HASH' },
            { AttributeName: 'receivedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ],
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('keeps the archive in an encrypted, private, TLS-only bucket whose objects expire after 30 days', () => {
    t.resourceCountIs('AWS::S3::Bucket', 1);
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [Match.objectLike({ Status: 'Enabled', ExpirationInDays: 30, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })] },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } })]) },
    });
  });

  it('takes the retention from -c journalRetentionDays and -c archiveRetentionDays', () => {
    const { props } = stackFromContext((key) => ({ journalRetentionDays: '3', archiveRetentionDays: '90', archiveRejected: 'true' })[key], PRESETS);
    const custom = template(props);
    custom.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] } });
    const ingest = Object.entries(custom.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('IngestApi'))![1];
    expect(ingest.Properties.Environment.Variables).toMatchObject({ CASE_BRIDGE_JOURNAL_RETENTION_DAYS: '3', CASE_BRIDGE_ARCHIVE_REJECTED: 'true' });
    expect(() => template({ journalRetentionDays: 0 })).toThrow(/journalRetentionDays must be a whole number of days/);
  });

  it('archives only failed deliveries with -c archive=failed, and none (no PutObject; replay still reads the bucket) with -c archive=off', () => {
    const ingestOf = (tt: Template) => Object.entries(tt.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('IngestApi'))![1].Properties.Environment.Variables as Record<string, unknown>;
    const failed = template(stackFromContext((key) => ({ archive: 'failed' })[key], PRESETS).props);
    expect(ingestOf(failed)).toMatchObject({ CASE_BRIDGE_ARCHIVE: 'failed', CASE_BRIDGE_ARCHIVE_BUCKET: { Ref: expect.stringMatching(/^JournalArchive/) } });
    expect(ingestOf(t)['CASE_BRIDGE_ARCHIVE']).toBeUndefined();
    const off = template(stackFromContext((key) => ({ archive: 'off' })[key], PRESETS).props);
    expect(ingestOf(off)).toMatchObject({ CASE_BRIDGE_ARCHIVE: 'off', CASE_BRIDGE_ARCHIVE_BUCKET: { Ref: expect.stringMatching(/^JournalArchive/) } });
    expect(statementsOf(off, 'IngestApi').flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetObject']);
    expect(() => stackFromContext((key) => ({ archive: 'some' })[key], PRESETS)).toThrow(/context archive must be one of all, failed, off/);
  });

  it('lets the ingest function put objects and read/put journal items, the retry function only the journal, nothing more', () => {
    const ingest = statementsOf(t, 'IngestApi');
    const retry = statementsOf(t, 'Retry');
    const journalActions = (statements: ReturnType<typeof statementsOf>) => statements.filter((s) => JSON.stringify(s.Resource).includes('JournalTable')).flatMap((s) => asList(s.Action)).sort();
    const s3Actions = (statements: ReturnType<typeof statementsOf>) => statements.flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('s3:'));
    // Replay (npm run replay -- --stack) reads the archive and queries the index, through the ingest function only.
    expect(journalActions(ingest)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(JSON.stringify(ingest.find((s) => asList(s.Action).includes('dynamodb:Query'))?.Resource)).toMatch(/\/index\/bySourceDay/);
    expect(journalActions(retry)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(s3Actions(ingest).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(ingest.find((s) => asList(s.Action).includes('s3:PutObject'))?.Resource)).toMatch(/JournalArchive.*\/\*/);
    expect(s3Actions(retry)).toEqual([]);
  });

  it('names the table and the bucket to both functions and in the outputs', () => {
    for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.CASE_BRIDGE_JOURNAL_TABLE).toEqual({ Ref: expect.stringMatching(/^JournalTable/) });
      if (id.startsWith('IngestApi')) expect(fn.Properties.Environment.Variables.CASE_BRIDGE_ARCHIVE_BUCKET).toEqual({ Ref: expect.stringMatching(/^JournalArchive/) });
      else expect(fn.Properties.Environment.Variables.CASE_BRIDGE_ARCHIVE_BUCKET).toBeUndefined();
    }
    expect(t.findOutputs('JournalTableName').JournalTableName?.Value).toEqual({ Ref: expect.stringMatching(/^JournalTable/) });
    expect(t.findOutputs('ArchiveBucketName').ArchiveBucketName?.Value).toEqual({ Ref: expect.stringMatching(/^JournalArchive/) });
  });

  it('shows deliveries by outcome on the dashboard', () => {
    const body = JSON.stringify(t.findResources('AWS::CloudWatch::Dashboard'));
    expect(body).toContain('Deliveries by outcome');
    expect(body).toContain('MetricName=\\\\\\"Deliveries\\\\\\"');
  });
});
