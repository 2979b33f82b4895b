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
});
