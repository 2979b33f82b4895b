import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { signedS3Put } from '../../lambda/journal/s3-put.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { startSecretsManagerStub, type SecretsManagerStub } from '../support/secrets-manager.js';
import { startLocalSqs, localSqsClient, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { awsConfigFromEnv, AwsServiceError, signedRequester, jsonErrorCode, type AwsConfig } from '../../lambda/shared/aws-request.js';
import { signedDynamo } from '../../lambda/shared/dynamodb-api.js';
import { signedSecretLoader } from '../../lambda/shared/secrets.js';
import { SecretConfigError } from '../../lambda/shared/errors.js';
import { signedSqsSend } from '../../lambda/delivery/sqs-queue.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import type { HttpFetch } from '../../lambda/shared/http.js';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bridge-AbCdEf';

let dynamo: LocalDynamo;
let sqs: LocalSqs;
let secrets: SecretsManagerStub;
const local = (endpoint: string): AwsConfig => ({ region: 'us-east-1', credentials: CREDENTIALS, endpoint });

beforeAll(async () => {
  [dynamo, sqs, secrets] = await Promise.all([startDynalite(), startLocalSqs(), startSecretsManagerStub(SECRET_ID, { GITHUB_WEBHOOK_SECRET: 's3cret' })]);
  await dynamo.createLedgerTable('signed-t');
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), sqs?.close(), secrets?.close()]);
});

describe('signed requests without the SDK clients', () => {
  it('DynamoDB: items with binary values round-trip, a failed condition is named as the SDK names it, and the ledger runs on it', async () => {
    const db = signedDynamo(local(dynamo.endpoint));
    const blob = new Uint8Array([0, 1, 2, 250, 255]);
    await db.putItem({ TableName: 'signed-t', Item: { pk: { S: 'x' }, b: { B: blob }, bs: { BS: [blob, new Uint8Array([7])] }, n: { N: '5' } } });
    const got = await db.getItem({ TableName: 'signed-t', Key: { pk: { S: 'x' } } });
    expect(got.Item?.['b']?.B).toEqual(blob);
    expect(got.Item?.['bs']?.BS).toHaveLength(2);
    expect(got.Item?.['n']).toEqual({ N: '5' });
    const refused = await db.putItem({ TableName: 'signed-t', Item: { pk: { S: 'x' } }, ConditionExpression: 'attribute_not_exists(pk)' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AwsServiceError);
    expect(refused).toMatchObject({ name: 'ConditionalCheckFailedException', status: 400 });
    expect((await db.query({ TableName: 'signed-t', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'x' } } })).Count).toBe(1);

    const ledger = new DynamoLedger({ client: db, tableName: 'signed-t' });
    expect(await ledger.rememberDelivery('github', 'delivery-1', Date.now())).toBe(true);
    expect(await ledger.rememberDelivery('github', 'delivery-1', Date.now())).toBe(false);
  });

  it('SQS: the message and its attributes arrive as sent, to the queue URL', async () => {
    const send = signedSqsSend(local(sqs.endpoint));
    await send({ QueueUrl: sqs.retryQueueUrl, MessageBody: '{"hello":1}', MessageAttributes: { source: { DataType: 'String', StringValue: 'github' } } });
    const out = await localSqsClient(sqs.endpoint).send(new ReceiveMessageCommand({ QueueUrl: sqs.retryQueueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }));
    expect(out.Messages?.[0]?.Body).toBe('{"hello":1}');
    expect(out.Messages?.[0]?.MessageAttributes?.['source']?.StringValue).toBe('github');
    // Non-ASCII text (its bytes counted and signed), a number attribute and a delay, as the retry queue's messages have them.
    // (Within the BMP: fauxqs refuses characters beyond U+FFFF, which SQS takes.)
    const body = '{"title":"Störung ✓ 日本"}';
    await send({ QueueUrl: sqs.dlqUrl, MessageBody: body, DelaySeconds: 1, MessageAttributes: { attempt: { DataType: 'Number', StringValue: '3' }, reason: { DataType: 'String', StringValue: 'Datadog answered 503…' } } });
    const delayed = await localSqsClient(sqs.endpoint).send(new ReceiveMessageCommand({ QueueUrl: sqs.dlqUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 3 }));
    expect(delayed.Messages?.[0]?.Body).toBe(body);
    expect(delayed.Messages?.[0]?.MessageAttributes?.['attempt']).toMatchObject({ DataType: 'Number', StringValue: '3' });
    expect(delayed.Messages?.[0]?.MessageAttributes?.['reason']?.StringValue).toBe('Datadog answered 503…');
  });

  it('Secrets Manager: the secret text; a secret that does not exist is a configuration error, not tried again', async () => {
    expect(JSON.parse(await signedSecretLoader(SECRET_ID, local(secrets.endpoint))())).toEqual({ GITHUB_WEBHOOK_SECRET: 's3cret' });
    await expect(signedSecretLoader('nope', local(secrets.endpoint))()).rejects.toThrow(SecretConfigError);
  });

  it('tries once more after a 5xx, throttling or no answer, never after a refusal', async () => {
    const statuses: number[] = [];
    const answering = (answers: { status: number; body: string }[]): HttpFetch => async () => {
      const a = answers.shift() ?? { status: 200, body: '{}' };
      statuses.push(a.status);
      return { ok: a.status < 300, status: a.status, headers: { get: () => null }, text: async () => a.body };
    };
    const request = (fetch: HttpFetch) => signedRequester({ region: 'us-east-1', credentials: CREDENTIALS, fetch }, 'dynamodb', jsonErrorCode)({ url: new URL('https://dynamodb.us-east-1.amazonaws.com/'), method: 'POST', headers: {}, body: new Uint8Array(), what: 'DynamoDB GetItem' });

    expect(await request(answering([{ status: 400, body: '{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}' }]))).toBe('{}');
    expect(statuses).toEqual([400, 200]);
    statuses.length = 0;
    await expect(request(answering([{ status: 400, body: '{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}' }]))).rejects.toThrow('DynamoDB GetItem answered 400 ValidationException: bad');
    expect(statuses).toEqual([400]);
    statuses.length = 0;
    await expect(request(answering([{ status: 503, body: '' }, { status: 500, body: '' }]))).rejects.toMatchObject({ name: 'Http500', status: 500 });
    let calls = 0;
    const down: HttpFetch = async () => {
      calls++;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    await expect(request(down)).rejects.toThrow('connect ECONNREFUSED');
    expect(calls).toBe(2);
  });

  it('is configured from a Lambda environment only where it knows the endpoint', () => {
    const lambda = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' };
    expect(awsConfigFromEnv(lambda, 'DYNAMODB')).toEqual({ region: 'eu-west-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 't' } });
    expect(awsConfigFromEnv({ ...lambda, AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://b:2' }, 'DYNAMODB')?.endpoint).toBe('http://b:2');
    expect(awsConfigFromEnv({ ...lambda, AWS_SECRET_ACCESS_KEY: '' }, 'DYNAMODB')).toBeUndefined();
    expect(awsConfigFromEnv({ ...lambda, AWS_REGION: 'eu-isoe-west-1' }, 'DYNAMODB')).toBeUndefined();
    expect(awsConfigFromEnv({ ...lambda, AWS_USE_DUALSTACK_ENDPOINT: 'true' }, 'DYNAMODB')).toBeUndefined();
  });

  it("sends each request to the host the SDK's clients resolve, in every partition it builds endpoints for", async () => {
    /** The URL an SDK client would send its first request to (a handler that keeps it and answers nothing). */
    const sdkUrl = async (send: (requestHandler: { handle(request: { hostname: string; path: string }): Promise<never> }) => Promise<unknown>): Promise<string> => {
      let url = '';
      await send({
        handle: async (request) => {
          url = `https://${request.hostname}${request.path}`;
          throw new Error('kept');
        },
      }).catch(() => undefined);
      return url;
    };
    /** The URL a signed request is sent to. */
    const signedUrl = async (send: (fetch: HttpFetch) => Promise<unknown>): Promise<string> => {
      let url = '';
      await send(async (to) => {
        url = to;
        return { ok: true, status: 200, headers: { get: () => null }, text: async () => '{"SecretString":"{}"}' };
      });
      return url;
    };
    for (const region of ['us-east-1', 'us-gov-west-1', 'cn-north-1', 'eu-central-2', 'ap-southeast-7', 'mx-central-1', 'il-central-1']) {
      const sdk = { region, credentials: CREDENTIALS, maxAttempts: 1 };
      const config = (fetch: HttpFetch): AwsConfig => ({ region, credentials: CREDENTIALS, fetch });
      expect(await signedUrl((fetch) => signedDynamo(config(fetch)).getItem({ TableName: 't', Key: {} }))).toBe(await sdkUrl((requestHandler) => new DynamoDBClient({ ...sdk, requestHandler }).send(new GetItemCommand({ TableName: 't', Key: {} }))));
      expect(await signedUrl((fetch) => signedSecretLoader('s', config(fetch))())).toBe(await sdkUrl((requestHandler) => new SecretsManagerClient({ ...sdk, requestHandler }).send(new GetSecretValueCommand({ SecretId: 's' }))));
      expect(await signedUrl((fetch) => signedS3Put('bucket', config(fetch))({ Key: 'github/2026-04-01/d1', Body: 'x', ContentType: 'text/plain' }))).toBe(
        await sdkUrl((requestHandler) => new S3Client({ ...sdk, requestHandler }).send(new PutObjectCommand({ Bucket: 'bucket', Key: 'github/2026-04-01/d1', Body: 'x' }))),
      );
    }
  });
});
