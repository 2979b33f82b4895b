import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Secrets Manager has no emulator: a `node:http` server answering GetSecretValue (awsJson1_1) for one
 * secret id, on 127.0.0.1 (reached through `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL`).
 * Any other call or id is answered ResourceNotFoundException. `reads` counts the secrets it served.
 */
export interface SecretsManagerStub {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly reads: number;
  close(): Promise<void>;
}

export async function startSecretsManagerStub(secretId: string, secret: Readonly<Record<string, string>>): Promise<SecretsManagerStub> {
  let reads = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const asked = (JSON.parse(body || '{}') as { SecretId?: string }).SecretId;
      if (target !== 'secretsmanager.GetSecretValue' || asked !== secretId) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ResourceNotFoundException', message: `no ${String(asked)}` }));
        return;
      }
      reads += 1;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ Name: secretId, SecretString: JSON.stringify(secret), VersionId: 'v1' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get reads() {
      return reads;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
