import type {
  DeleteItemCommandInput,
  DeleteItemCommandOutput,
  DynamoDBClient,
  GetItemCommandInput,
  GetItemCommandOutput,
  PutItemCommandInput,
  PutItemCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  UpdateItemCommandInput,
  UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { awsJsonClient, type AwsConfig } from './aws-request.js';

/** The DynamoDB operations the ledger, the rate budget and the journal use. */
export interface DynamoApi {
  getItem(input: GetItemCommandInput): Promise<GetItemCommandOutput>;
  putItem(input: PutItemCommandInput): Promise<PutItemCommandOutput>;
  updateItem(input: UpdateItemCommandInput): Promise<UpdateItemCommandOutput>;
  deleteItem(input: DeleteItemCommandInput): Promise<DeleteItemCommandOutput>;
  query(input: QueryCommandInput): Promise<QueryCommandOutput>;
}

/** What the DynamoDB stores are given: an SDK client, a function making one on first use, or the signed requests of the Lambda functions. */
export type DynamoSource = DynamoDBClient | (() => Promise<DynamoDBClient>) | DynamoApi;

export function isDynamoApi(source: DynamoSource): source is DynamoApi {
  return typeof source === 'object' && 'getItem' in source;
}

/** Binary values (`B`, `BS`) travel as base64 in DynamoDB's JSON, as the SDK sends and reads them. */
function toBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : value;
}

function fromBase64(key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64'));
  if (key === 'BS' && Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v: string) => new Uint8Array(Buffer.from(v, 'base64')));
  return value;
}

/**
 * DynamoDB over signed requests (lambda/shared/aws-request.ts): the JSON the SDK's client sends
 * (`X-Amz-Target: DynamoDB_20120810.<operation>`), its answers as the client's outputs, an error
 * answer as an error named by its code (`ConditionalCheckFailedException`), as the SDK's are.
 */
export function signedDynamo(config: AwsConfig): DynamoApi {
  const call = awsJsonClient(config, { service: 'dynamodb', endpointHost: 'dynamodb', targetPrefix: 'DynamoDB_20120810', jsonVersion: '1.0', what: 'DynamoDB', replacer: toBase64, reviver: fromBase64 });
  return {
    getItem: async (input) => (await call('GetItem', input)) as GetItemCommandOutput,
    putItem: async (input) => (await call('PutItem', input)) as PutItemCommandOutput,
    updateItem: async (input) => (await call('UpdateItem', input)) as UpdateItemCommandOutput,
    deleteItem: async (input) => (await call('DeleteItem', input)) as DeleteItemCommandOutput,
    query: async (input) => (await call('Query', input)) as QueryCommandOutput,
  };
}
