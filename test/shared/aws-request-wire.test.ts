import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { signedDynamo } from '../../lambda/shared/dynamodb-api.js';
import { createSecretsProvider, signedSecretLoader } from '../../lambda/shared/secrets.js';
import { SecretUnavailableError } from '../../lambda/shared/errors.js';
import type { AwsConfig } from '../../lambda/shared/aws-request.js';

// The signed requests over real sockets (nodeHttpFetch) against a 127.0.0.1 server answering as AWS does.

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG', sessionToken: 'session-token-value' };
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

interface Seen {
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
  readonly socket: Socket;
}

/** A server calling `answer` with each request (its whole body read) and how many came before it. */
async function serve(answer: (seen: Seen, n: number, res: ServerResponse) => void): Promise<{ config: AwsConfig; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, socket: req.socket };
      seen.push(s);
      answer(s, seen.length - 1, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { config: { region: 'eu-central-2', credentials: CREDENTIALS, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, seen };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
};

describe('signed requests on the wire', () => {
  it('a 200 answer that is not JSON fails as unreadable without quoting it (it may hold a secret)', async () => {
    const { config } = await serve((_s, _n, res) => res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end('{"SecretString": hunter2-the-secret}'));
    const secrets = createSecretsProvider({ load: signedSecretLoader('bridge', config), origin: 'secret bridge' });
    const failure = await secrets.get().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SecretUnavailableError);
    const chain = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message} <- ${chain(e.cause)}` : String(e));
    expect(chain(failure)).toContain('Secrets Manager GetSecretValue answered 200 with a body that is not JSON');
    expect(chain(failure)).not.toContain('hunter2');
  });

  it('a kept-alive connection the server dropped (a container thawed after the service closed it) is tried again on a new one', async () => {
    const { config, seen } = await serve((s, n, res) => {
      if (n === 1) {
        s.socket.destroy();
        return;
      }
      json(res, 200, { Item: { pk: { S: `answer ${n}` } } });
    });
    const db = signedDynamo(config);
    expect((await db.getItem({ TableName: 't', Key: { pk: { S: 'a' } } })).Item).toEqual({ pk: { S: 'answer 0' } });
    expect((await db.getItem({ TableName: 't', Key: { pk: { S: 'a' } } })).Item).toEqual({ pk: { S: 'answer 2' } });
    expect(seen[1]!.socket).toBe(seen[0]!.socket);
    expect(seen[2]!.socket).not.toBe(seen[0]!.socket);
  });

  it('sends the bytes it signed: Content-Length and the payload hash of non-ASCII text, the session token signed', async () => {
    const { config, seen } = await serve((_s, _n, res) => json(res, 200, {}));
    const text = 'Störung ✓ 🚨 日本';
    await signedDynamo(config).putItem({ TableName: 't', Item: { pk: { S: text } } });
    const [request] = seen;
    expect(JSON.parse(request!.body)).toEqual({ TableName: 't', Item: { pk: { S: text } } });
    expect(Number(request!.headers['content-length'])).toBe(Buffer.byteLength(request!.body));
    expect(request!.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(request!.body).digest('hex'));
    expect(request!.headers['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request!.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(request!.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-2\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/);

    const { config: noToken, seen: seen2 } = await serve((_s, _n, res) => json(res, 200, {}));
    await signedDynamo({ ...noToken, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } }).getItem({ TableName: 't', Key: { pk: { S: 'a' } } });
    expect(seen2[0]!.headers['x-amz-security-token']).toBeUndefined();
    expect(seen2[0]!.headers['authorization']).toContain('SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target,');
  });

  it('names an error by the x-amzn-ErrorType header when the body is not JSON, and does not try a refusal again', async () => {
    const { config, seen } = await serve((_s, _n, res) => res.writeHead(400, { 'x-amzn-ErrorType': 'ConditionalCheckFailedException:http://internal.amazon.com/coral/com.amazon.coral.service/' }).end('<html>refused</html>'));
    const failure = await signedDynamo(config).putItem({ TableName: 't', Item: { pk: { S: 'a' } }, ConditionExpression: 'attribute_not_exists(pk)' }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: 'ConditionalCheckFailedException', status: 400 });
    expect(seen).toHaveLength(1);
  });
});
