import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { createArchiveBucket, localS3Client } from '../../lambda/local/journal.js';
import { S3Archive } from '../../lambda/journal/s3-archive.js';
import { signedS3Put, signedS3PutFromEnv } from '../../lambda/journal/s3-put.js';
import { JOURNAL_SOURCES } from '../../lambda/journal/lambda-stores.js';
import { ArchiveError, newDeliveryId } from '../../lambda/journal/types.js';
import type { HttpFetch, HttpRequestInit } from '../../lambda/shared/http.js';

const NOW = Date.UTC(2026, 3, 1, 12);
const BUCKET = 'signed-put-test';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session-token' };

let sqs: LocalSqs;

beforeAll(async () => {
  sqs = await startLocalSqs();
  await createArchiveBucket(localS3Client(sqs.endpoint), BUCKET);
});

afterAll(async () => {
  await sqs?.close();
});

/** A fetch that answers from a list and keeps what it was sent. */
function scripted(answers: { status: number; body?: string }[]): { fetch: HttpFetch; sent: { url: string; init: HttpRequestInit }[] } {
  const sent: { url: string; init: HttpRequestInit }[] = [];
  const fetch: HttpFetch = async (url, init) => {
    sent.push({ url, init });
    const answer = answers.shift() ?? { status: 200 };
    return { ok: answer.status < 300, status: answer.status, headers: { get: () => null }, text: async () => answer.body ?? '' };
  };
  return { fetch, sent };
}

describe('signedS3Put', () => {
  it('archives through the signed put what the SDK reads back: the exact bytes, the metadata, the headers beside it when long', async () => {
    const archive = new S3Archive({ client: localS3Client(sqs.endpoint), bucket: BUCKET, sources: JOURNAL_SOURCES, put: signedS3Put(BUCKET, { region: 'us-east-1', credentials: CREDENTIALS, endpoint: sqs.endpoint }) });
    const body = Buffer.concat([Buffer.from('{"text":"caf\u00e9"}', 'utf8'), Buffer.from([0x00, 0xff])]);
    const id = newDeliveryId(NOW);
    const { key } = await archive.put({ source: 'github', id, receivedAt: NOW, body, headers: { 'x-github-event': 'issues', authorization: 'token x' }, rejected: true });
    const got = await archive.get(key);
    expect(Buffer.from(got!.body).equals(body)).toBe(true);
    expect(got).toMatchObject({ source: 'github', id, receivedAt: NOW, headers: { 'x-github-event': 'issues' }, rejected: true });

    const long = { 'x-long': 'v'.repeat(3000) };
    const second = await archive.put({ source: 'github', id: newDeliveryId(NOW + 1), receivedAt: NOW + 1, body: Buffer.from('{}'), headers: long });
    expect((await archive.get(second.key))!.headers).toEqual(long);
  });

  it("sends a key with characters encodeURIComponent leaves (!'()*) at the path the SDK's S3 client sends, so S3's canonical request matches the signature", async () => {
    const key = "generic/2026-04-01/a!b'c(d)e*f g+h";
    let sdkPath: string | undefined;
    await new S3Client({ region: 'eu-west-1', credentials: CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', requestHandler: { handle: async (request: { path: string }) => { sdkPath = request.path; throw new Error('not sent'); } } })
      .send(new PutObjectCommand({ Bucket: 'case-bridge-archive-1', Key: key, Body: 'x', ContentType: 'text/plain' }))
      .catch(() => undefined);
    const { fetch, sent } = scripted([{ status: 200 }]);
    await signedS3Put('case-bridge-archive-1', { region: 'eu-west-1', credentials: CREDENTIALS, fetch })({ Key: key, Body: 'x', ContentType: 'text/plain' });
    expect(sdkPath).toBe("/generic/2026-04-01/a%21b%27c%28d%29e%2Af%20g%2Bh");
    expect(new URL(sent[0]!.url).pathname).toBe(sdkPath);
  });

  it('signs the body hash, the metadata and the session token with SigV4 for S3 in the region, virtual-hosted on AWS', async () => {
    const { fetch, sent } = scripted([{ status: 200 }]);
    const put = signedS3Put('case-bridge-archive-1', { region: 'eu-west-1', credentials: CREDENTIALS, fetch });
    await put({ Key: 'github/2026-04-01/d0abc', Body: 'hello', ContentType: 'application/octet-stream', Metadata: { source: 'github' } });

    expect(sent).toHaveLength(1);
    const { url, init } = sent[0]!;
    expect(url).toBe('https://case-bridge-archive-1.s3.eu-west-1.amazonaws.com/github/2026-04-01/d0abc');
    expect(init.method).toBe('PUT');
    expect(init.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('hello').digest('hex'));
    expect(init.headers['x-amz-meta-source']).toBe('github');
    expect(init.headers['x-amz-security-token']).toBe('session-token');
    expect(init.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=[^,]*\bhost;[^,]*x-amz-content-sha256;x-amz-date;x-amz-meta-source;x-amz-security-token, Signature=[0-9a-f]{64}$/);
  });

  it('tries once more after a 503 or no answer, never after a refusal, and says what S3 answered', async () => {
    const flaky = scripted([{ status: 503, body: '<Error><Code>SlowDown</Code></Error>' }, { status: 200 }]);
    await signedS3Put('b', { region: 'us-east-1', credentials: CREDENTIALS, fetch: flaky.fetch })({ Key: 'k', Body: 'x', ContentType: 'text/plain' });
    expect(flaky.sent).toHaveLength(2);

    const denied = scripted([{ status: 403, body: '<Error><Code>AccessDenied</Code><Message>no</Message></Error>' }]);
    const refused = signedS3Put('b', { region: 'us-east-1', credentials: CREDENTIALS, fetch: denied.fetch })({ Key: 'k', Body: 'x', ContentType: 'text/plain' });
    await expect(refused).rejects.toThrow(new ArchiveError('S3 PutObject k answered 403 AccessDenied'));
    expect(denied.sent).toHaveLength(1);

    let calls = 0;
    const down: HttpFetch = async () => {
      calls++;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    await expect(signedS3Put('b', { region: 'us-east-1', credentials: CREDENTIALS, fetch: down })({ Key: 'k', Body: 'x', ContentType: 'text/plain' })).rejects.toThrow(/^S3 PutObject k got no answer: connect ECONNREFUSED$/);
    expect(calls).toBe(2);
  });

  it('is made from a Lambda environment only where it knows the endpoint: otherwise the SDK client puts', () => {
    const lambda = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' };
    expect(signedS3PutFromEnv('b', lambda)).toBeTypeOf('function');
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_REGION: 'us-gov-west-1' })).toBeTypeOf('function');
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_REGION: 'cn-north-1' })).toBeTypeOf('function');
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_ACCESS_KEY_ID: undefined })).toBeUndefined();
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_REGION: undefined })).toBeUndefined();
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_REGION: 'us-iso-east-1' })).toBeUndefined();
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_USE_FIPS_ENDPOINT: 'true' })).toBeUndefined();
    expect(signedS3PutFromEnv('b', { ...lambda, AWS_REGION: 'us-iso-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })).toBeTypeOf('function');
  });
});
