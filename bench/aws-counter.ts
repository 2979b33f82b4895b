/**
 * Every AWS request the functions make, counted on the wire (issue 15, item 4). One HTTP endpoint on
 * 127.0.0.1, given to the functions as `AWS_ENDPOINT_URL` (every SDK v3 client honours it), forwards
 * each request to the local emulator of the service its SigV4 credential scope names and records the
 * service, the operation (`X-Amz-Target`, or the method for REST services), the bytes each way and,
 * for DynamoDB, the capacity units the emulator computed from the real items (the proxy asks for
 * `ReturnConsumedCapacity: TOTAL`: dynalite sizes the item as DynamoDB does, the larger of the old and
 * the new for a write). The emulator leaves out what a write costs in a table's global secondary
 * indexes, which DynamoDB bills (and reports) too: for a table with indexes (learnt once with
 * DescribeTable) the counter reads the item before and after each write and adds the index writes
 * as DynamoDB's rules give them (indexWriteUnits). Those reads go straight to the emulator with the
 * header PROBE_HEADER: they are not the functions' calls. Nothing is specific to the bridge's calls:
 * a client the functions gain (an S3 put, a second table) is counted as soon as its service has an
 * upstream here; one without is answered 501 and counted, so a run that meets it says so.
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
  /** DynamoDB write request units (on demand), its indexes' included. A conditional write refused still costs one. */
  readonly writeUnits: number;
  /** Of writeUnits, those of the table's global secondary indexes. */
  readonly indexWriteUnits: number;
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
/** The single-item writes whose index units the counter works out (the bridge makes no batch or transaction writes). */
const SINGLE_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/** Marks the counter's own requests to the DynamoDB emulator (DescribeTable, the item reads around a write). */
export const PROBE_HEADER = 'x-aws-counter-probe';

type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

/** DynamoDB's size of an item: each attribute's name plus its value (UTF-8 strings, numbers by digits). */
export function itemSize(item: Item): number {
  const value = (v: AttributeValue): number => {
    if ('S' in v) return Buffer.byteLength(String(v['S']));
    if ('B' in v) return Buffer.from(String(v['B']), 'base64').length;
    if ('N' in v) return Math.ceil(String(v['N']).replace(/^-/, '').replace(/^0+\.?/, '').replace('.', '').length / 2) + 1;
    if ('BOOL' in v || 'NULL' in v) return 1;
    if ('SS' in v) return (v['SS'] as string[]).reduce((a, x) => a + Buffer.byteLength(x), 0);
    if ('L' in v) return 3 + (v['L'] as AttributeValue[]).reduce((a, x) => a + 1 + value(x), 0);
    if ('M' in v) {
      const m = v['M'] as Item;
      return 3 + Object.keys(m).length + itemSize(m);
    }
    throw new Error(`no size rule for ${Object.keys(v).join()}`);
  };
  return Object.entries(item).reduce((a, [k, v]) => a + Buffer.byteLength(k) + value(v), 0);
}

/** A global secondary index as DescribeTable gives it. */
export interface IndexShape {
  readonly keys: readonly string[];
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly include: readonly string[];
}

const units = (size: number): number => Math.max(1, Math.ceil(size / 1024));

/**
 * What a write of one item costs in the table's global secondary indexes (DynamoDB's rules, "Provisioned
 * throughput considerations for global secondary indexes"): nothing for an index the item is in neither
 * before nor after; one write of the entry (its size in 1 KB units: the table's and the index's keys and
 * the projected attributes) when the item enters or leaves the index, or stays with a projected value
 * changed; two (a delete and a put) when an index key's value changes.
 */
export function indexWriteUnits(tableKeys: readonly string[], indexes: readonly IndexShape[], before: Item | undefined, after: Item | undefined): number {
  let total = 0;
  for (const index of indexes) {
    const inIndex = (item: Item | undefined): item is Item => item !== undefined && index.keys.every((k) => item[k] !== undefined);
    const entry = (item: Item): Item => {
      const keep = new Set([...tableKeys, ...index.keys, ...index.include]);
      return index.projection === 'ALL' ? item : Object.fromEntries(Object.entries(item).filter(([k]) => keep.has(k)));
    };
    const was = inIndex(before) ? entry(before) : undefined;
    const is = inIndex(after) ? entry(after) : undefined;
    if (was === undefined && is === undefined) continue;
    if (was === undefined || is === undefined) total += units(itemSize((was ?? is)!));
    else if (index.keys.some((k) => JSON.stringify(was[k]) !== JSON.stringify(is[k]))) total += units(itemSize(was)) + units(itemSize(is));
    else if (JSON.stringify(Object.entries(was).sort()) !== JSON.stringify(Object.entries(is).sort())) total += Math.max(units(itemSize(was)), units(itemSize(is)));
  }
  return total;
}

interface TableShape {
  readonly keys: readonly string[];
  readonly indexes: readonly IndexShape[];
}

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
  const tables = new Map<string, Promise<TableShape>>();
  const dynamo = upstreams['dynamodb'];
  /** One call of the counter's own to the DynamoDB emulator (not counted). */
  const probe = async (operation: string, input: object): Promise<Record<string, unknown>> => {
    const answer = await fetch(dynamo!, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}`, [PROBE_HEADER]: '1', 'x-amz-date': '20261204T000000Z', authorization: 'AWS4-HMAC-SHA256 Credential=probe/20261204/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' }, body: JSON.stringify(input) });
    const body = (await answer.json()) as Record<string, unknown>;
    if (!answer.ok) throw new Error(`the counter's ${operation} failed: ${JSON.stringify(body)}`);
    return body;
  };
  const shapeOf = (table: string): Promise<TableShape> => {
    let shape = tables.get(table);
    if (shape === undefined) {
      shape = probe('DescribeTable', { TableName: table }).then((out) => {
        type Key = { AttributeName: string };
        const t = out['Table'] as { KeySchema: Key[]; GlobalSecondaryIndexes?: { KeySchema: Key[]; Projection?: { ProjectionType?: IndexShape['projection']; NonKeyAttributes?: string[] } }[] };
        return {
          keys: t.KeySchema.map((k) => k.AttributeName),
          indexes: (t.GlobalSecondaryIndexes ?? []).map((g) => ({ keys: g.KeySchema.map((k) => k.AttributeName), projection: g.Projection?.ProjectionType ?? 'ALL', include: g.Projection?.NonKeyAttributes ?? [] })),
        };
      });
      tables.set(table, shape);
    }
    return shape;
  };
  const readItem = async (table: string, key: Item): Promise<Item | undefined> => (await probe('GetItem', { TableName: table, Key: key, ConsistentRead: true }))['Item'] as Item | undefined;
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
      // A single-item write to a table with indexes: the item before it (and after, below).
      let indexed: { table: string; shape: TableShape; key: Item; before: Item | undefined } | undefined;
      if (dynamoOp) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        body = Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }), 'utf8');
        if (SINGLE_WRITES.has(operation) && upstream !== undefined) {
          const table = String(input['TableName']);
          const shape = await shapeOf(table);
          if (shape.indexes.length > 0) {
            const source = (operation === 'PutItem' ? input['Item'] : input['Key']) as Item;
            const key = Object.fromEntries(shape.keys.map((k) => [k, source[k]!]));
            indexed = { table, shape, key, before: await readItem(table, key) };
          }
        }
      }
      let indexUnits = 0;
      const record = (status: number, responseBytes: number, units: number, messages: number): void => {
        calls.push({
          service,
          operation,
          status,
          requestBytes: body.length,
          responseBytes,
          readUnits: dynamoOp && DYNAMO_READS.has(operation) ? units : 0,
          // A refused conditional write is billed too (one unit for the items the bridge writes).
          writeUnits: dynamoOp && DYNAMO_WRITES.has(operation) ? (status === 200 ? units + indexUnits : 1) : 0,
          indexWriteUnits: indexUnits,
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
      if (indexed !== undefined && answer.status === 200) {
        indexUnits = indexWriteUnits(indexed.shape.keys, indexed.shape.indexes, indexed.before, await readItem(indexed.table, indexed.key));
      }
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
