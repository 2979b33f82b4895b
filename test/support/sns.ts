import { createServer, type Server } from 'node:http';
import { createSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { createIngestHandler, type IngestDeps } from '../../lambda/ingest/handler.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import type { CompiledRules } from '../../lambda/mapping/compile-rules.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { canonicalString, snsMessageSchema } from '../../lambda/sources/sns.js';
import type { OutboundFetch } from '../../lambda/sources/types.js';
import { fakeDatadog } from './fakes.js';

// Amazon SNS as the tests need it: messages signed with a test key (sns/README.md says how it was
// made), and a local server on 127.0.0.1 standing in for https://sns.<region>.amazonaws.com: it
// serves the test certificate at any `.pem` path and records every request (SubscribeURL visits).

const dir = new URL('./sns/', import.meta.url);
export const TEST_CERT_PEM = readFileSync(new URL('test-signing.cert.pem', dir), 'utf8');
export const TEST_KEY_PEM = readFileSync(new URL('test-signing.key.pem', dir), 'utf8');

export const TEST_TOPIC = 'arn:aws:sns:eu-west-1:111122223333:ops-alarms';
export const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';

/**
 * The message with `Signature` (and `SignatureVersion`, `SigningCertURL`) set, signed with `key`;
 * `Timestamp` is now (SNS's publish time, which the bridge checks) unless `timestamp` is given.
 */
export function signSnsMessage(message: Record<string, unknown>, options: { readonly version?: '1' | '2'; readonly key?: string; readonly certUrl?: string; readonly timestamp?: string } = {}): Record<string, unknown> {
  const version = options.version ?? '1';
  const unsigned = { ...message, Timestamp: options.timestamp ?? new Date().toISOString(), SignatureVersion: version, SigningCertURL: options.certUrl ?? CERT_URL, Signature: 'x' };
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(canonicalString(snsMessageSchema().parse(unsigned)), 'utf8');
  return { ...unsigned, Signature: signer.sign(options.key ?? TEST_KEY_PEM, 'base64') };
}

export function subscriptionConfirmation(topic: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const token = '2336412f37fb687f5d51e6e2425dacbba9ee2e9b0b2a6b1b7b0e6ed1a9b1e5f8';
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
    Token: token,
    TopicArn: topic,
    Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topic)}&Token=${token}`,
    Timestamp: '2026-12-04T09:59:58.184Z',
    ...overrides,
  };
}

export interface FakeSns {
  /** Fetches from the local server whatever URL it is given (host kept in `requests`). */
  readonly fetch: OutboundFetch;
  /** Every URL fetched, as asked for. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeSns(options: { readonly cert?: string } = {}): Promise<FakeSns> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0]!.endsWith('.pem')) {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(options.cert ?? TEST_CERT_PEM);
    } else if ((req.url ?? '').includes('Action=ConfirmSubscription')) {
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    requests,
    fetch: async (url, init) => {
      requests.push(url.href);
      return fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, { method: init.method, signal: init.signal });
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/** An ingest handler for `cloudwatch` tests: memory ledger and queue, a fake Datadog unless given, no secret but the Datadog keys. */
export function snsIngest(rules: CompiledRules, fetch: OutboundFetch, deps: Partial<IngestDeps> = {}) {
  const handler = createIngestHandler({
    rules,
    secrets: { get: async () => ({ DD_API_KEY: 'a'.repeat(32), DD_APP_KEY: 'b'.repeat(40) }), refresh: async () => ({}) },
    datadog: fakeDatadog(),
    queue: new MemoryActionQueue(),
    ledger: new MemoryLedger(),
    logger: silentLogger,
    maxBodyBytes: 1024 * 1024,
    fetch,
    ...deps,
  });
  /** Posts the message as SNS does (text/plain, its type header) to /webhooks/cloudwatch. */
  const post = async (message: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const event = {
      version: '2.0',
      routeKey: 'POST /webhooks/{source}',
      rawPath: '/webhooks/cloudwatch',
      rawQueryString: '',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': String(message['Type']), ...headers },
      pathParameters: { source: 'cloudwatch' },
      requestContext: { requestId: 'test' },
      body: JSON.stringify(message),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const answer = (await handler(event, { awsRequestId: 'test' } as Context)) as APIGatewayProxyStructuredResultV2;
    return { status: answer.statusCode ?? 0, body: JSON.parse(String(answer.body)) as Record<string, unknown> };
  };
  return { handler, post };
}
