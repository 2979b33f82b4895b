/**
 * Every AWS request the functions make, counted on the wire (issue 15, item 4). One HTTP endpoint on
 * 127.0.0.1, given to the functions as `AWS_ENDPOINT_URL` (every SDK v3 client honours it), forwards
 * each request to the local emulator of the service its SigV4 credential scope names and records the
 * service, the operation (`X-Amz-Target`, or the method for REST services), the bytes each way and,
 * for DynamoDB, the capacity units the emulator computed from the real items (the proxy asks for
 * `ReturnConsumedCapacity: TOTAL`: dynalite sizes the item as DynamoDB does, the larger of the old and
 * the new for a write). Nothing is specific to the bridge's calls: a client the functions gain (an S3
 * put, a second table) is counted as soon as its service has an upstream here; one without is
 * answered 501 and counted, so a run that meets it says so.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsCall {
  /** The SigV4 service name: dynamodb, sqs, secretsmanager, s3, ... */
  readonly service: string;
  /** `PutItem`, `SendMessage`, `GetSecretValue`; for REST services the method and the path's first segment. */
  readonly operation: string;
  readonly status: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** DynamoDB read request units (on demand), as the emulator computed them from the items. */
  readonly readUnits: number;
  /** DynamoDB write request units (on demand). A conditional write refused still costs one. */
  readonly writeUnits: number;
  /** SQS ReceiveMessage: messages received (0: an empty poll). */
  readonly messages: number;
  /** Who made it: the invocation the harness was running when it came in. */
  readonly by: string;
}

export interface AwsCounter {
  /** `http://127.0.0.1:<port>`: the functions' AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  readonly calls: readonly AwsCall[];
  /** Tags the calls that come in from now on (the harness runs one invocation at a time). */
  attribute(by: string): void;
  close(): Promise<void>;
}

const DYNAMO_READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);
const DYNAMO_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/** `AWS4-HMAC-SHA256 Credential=AKID/20261204/us-east-1/dynamodb/aws4_request, ...` -> `dynamodb`. */
export function signedService(authorization: string | undefined): string | undefined {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '')?.[1];
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

type Capacity = { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;

function capacityOf(body: Buffer): number {
  try {
    const consumed = (JSON.parse(body.toString('utf8')) as { ConsumedCapacity?: Capacity }).ConsumedCapacity;
    const list = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
    return list.reduce((a, c) => a + (c.CapacityUnits ?? 0), 0);
  } catch {
    return 0;
  }
}

/** Starts the counting endpoint. `upstreams`: the emulator's base URL by SigV4 service name. */
export async function startAwsCounter(upstreams: Readonly<Record<string, string>>): Promise<AwsCounter> {
  const calls: AwsCall[] = [];
  let by = 'unattributed';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const service = signedService(req.headers['authorization']) ?? 'unsigned';
      const target = req.headers['x-amz-target'];
      const path = req.url ?? '/';
      const operation = typeof target === 'string' ? target.slice(target.lastIndexOf('.') + 1) : `${req.method ?? 'GET'} /${path.split('/')[1]?.split('?')[0] ?? ''}`;
      let body = await readAll(req);
      const caller = by;
      const upstream = upstreams[service];
      const dynamoOp = service === 'dynamodb' && (DYNAMO_READS.has(operation) || DYNAMO_WRITES.has(operation));
      if (dynamoOp) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        body = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }), 'utf8');
      }
      const record = (status: number, responseBytes: number, units: number, messages: number): void => {
        calls.push({
          service,
          operation,
          status,
          requestBytes: body.length,
          responseBytes,
          readUnits: dynamoOp && DYNAMO_READS.has(operation) ? units : 0,
          // A refused conditional write is billed too (one unit for the items the bridge writes).
          writeUnits: dynamoOp && DYNAMO_WRITES.has(operation) ? (status === 200 ? units : 1) : 0,
          messages,
          by: caller,
        });
      };
      if (upstream === undefined) {
        record(501, 0, 0, 0);
        res.writeHead(501, { 'content-type': 'application/json' }).end(JSON.stringify({ __type: 'NotImplemented', message: `the cost counter has no emulator for ${service}` }));
        return;
      }
      const url = new URL(path, upstream);
      const headers = { ...req.headers, host: url.host, 'content-length': String(body.length) };
      const answer = await new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
        const out = httpRequest(url, { method: req.method ?? 'POST', headers }, (r) => {
          readAll(r).then((b) => resolve({ status: r.statusCode ?? 500, headers: r.headers, body: b }), reject);
        });
        out.on('error', reject);
        out.end(body);
      });
      let messages = 0;
      if (service === 'sqs' && operation === 'ReceiveMessage' && answer.status === 200) {
        messages = ((JSON.parse(answer.body.toString('utf8') || '{}') as { Messages?: unknown[] }).Messages ?? []).length;
      }
      record(answer.status, answer.body.length, dynamoOp ? capacityOf(answer.body) : 0, messages);
      const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...rest } = answer.headers;
      res.writeHead(answer.status, { ...rest, 'content-length': String(answer.body.length) }).end(answer.body);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ __type: 'CounterError', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    attribute(next: string) {
      by = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
