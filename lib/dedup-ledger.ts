import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV, LEDGER_TABLE } from '../lambda/shared/contract.js';

/** The only calls DynamoLedger makes (no Query, no Scan, no batch, no table admin). */
export const LEDGER_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

/**
 * The dedup ledger (issue 4): one item per alert (source + dedup identity) and one per remembered
 * delivery id. On-demand, TTL on `expiresAt` (delivery ids expire after a day), point-in-time
 * recovery, AWS-managed encryption. Retained on stack deletion: it is the memory of which alert has which case.
 */
export class DedupLedger extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: LEDGER_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Least privilege: the four item calls on this table only, and the table name in the environment. */
  grantTo(fn: LambdaFunction & IGrantable): void {
    this.table.grant(fn, ...LEDGER_ACTIONS);
    fn.addEnvironment(ENV.ledgerTable, this.table.tableName);
  }
}
