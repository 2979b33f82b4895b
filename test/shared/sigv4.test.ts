import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { HttpRequest } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { sigV4 } from '../../lambda/shared/sigv4.js';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' };

/** The request an SDK client signed (its handler never sends it). */
async function signedBySdk(send: (handler: { handle(request: HttpRequest): Promise<never> }) => Promise<unknown>): Promise<HttpRequest> {
  let captured: HttpRequest | undefined;
  await send({
    handle: async (request) => {
      captured = request;
      throw new Error('not sent');
    },
  }).catch(() => undefined);
  if (captured === undefined) throw new Error('the SDK sent nothing');
  return captured;
}

/** The same request signed by sigV4 at the SDK's time: the headers the SDK adds itself are signed too, and compared. */
async function resigned(service: string, request: HttpRequest): Promise<string | undefined> {
  const amzDate = request.headers['x-amz-date']!;
  const at = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !['authorization', 'x-amz-date', 'x-amz-security-token'].includes(name)));
  const url = new URL(`${request.protocol}//${request.hostname}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, String(value));
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body as Uint8Array);
  return (await sigV4({ service, region: 'eu-west-1', credentials: CREDENTIALS })(url, request.method, headers, body, at))['authorization'];
}

describe('sigV4', () => {
  it('signs an S3 PutObject as the SDK S3 client does', async () => {
    const request = await signedBySdk((requestHandler) =>
      new S3Client({ region: 'eu-west-1', credentials: CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', requestHandler }).send(
        new PutObjectCommand({ Bucket: 'case-bridge-archive', Key: 'github/2026-04-01/d0abc', Body: 'hello', ContentType: 'application/octet-stream', Metadata: { source: 'github' } }),
      ),
    );
    expect(request.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/);
    expect(await resigned('s3', request)).toBe(request.headers['authorization']);
  });

  it('signs a DynamoDB PutItem as the SDK DynamoDB client does', async () => {
    const request = await signedBySdk((requestHandler) =>
      new DynamoDBClient({ region: 'eu-west-1', credentials: CREDENTIALS, requestHandler }).send(new PutItemCommand({ TableName: 'ledger', Item: { pk: { S: 'alert#github#1' } }, ConditionExpression: 'attribute_not_exists(pk)' })),
    );
    expect(await resigned('dynamodb', request)).toBe(request.headers['authorization']);
  });
});
