import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { AttributeValue, GetItemCommandInput, GetItemCommandOutput, PutItemCommandInput, QueryCommandInput, QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { JOURNAL_TABLE, RETENTION_DEFAULTS } from '../shared/contract.js';
import { isDynamoApi, type DynamoSource } from '../shared/dynamodb-api.js';
import { utcDay } from '../shared/time.js';
import { daysBetween, DEFAULT_LIST_LIMIT, fitRecord, recordJson, JournalError, matchesFilter, newestFirst, readDeliveryRecord, type DeliveryFilter, type DeliveryJournal, type DeliveryRecord } from './types.js';

// One item per delivery (partition key `id`):
//   id, sourceDay (`<source>#<YYYY-MM-DD>`, the bySourceDay index's key), receivedAt (N, ms; its sort key),
//   rev (N: + 1 on every write, the condition of the next), the record as JSON: `doc` (S) as it is, or
//   `docz` (B) raw-deflated, and expiresAt (N, epoch seconds: the TTL). TTL deletion lags, so `list` and
//   `get` drop expired items themselves. Both forms are read, whichever wrote them.
// A put is billed per 1 KB of the item, twice (the table and the index, which projects the whole item).
// Deflated, a record is about half its size, and a resolve's record of 1 to 2 KB fits in one unit
// (docs/cost.md); a record whose item fits one unit as it is (a first firing's, a repeat's) is stored as
// JSON: the same one unit, without a deflate stream set up and torn down (in the handler's loop that
// cost about 47 us of a first firing's 200, more than the deflate's 11 us alone: the stream's native
// memory brings on collections), for a few hundred bytes more of storage (docs/cost.md).

/** The three calls the journal makes. */
interface JournalCalls {
  getItem(input: GetItemCommandInput): Promise<GetItemCommandOutput>;
  putItem(input: PutItemCommandInput): Promise<unknown>;
  query(input: QueryCommandInput): Promise<QueryCommandOutput>;
}

export interface DynamoJournalOptions {
  /** The client, or a function making it on first use (the SDK loads with the first call), or the Lambda functions' signed requests (lambdaDynamo). */
  readonly client: DynamoSource;
  readonly tableName: string;
  /** Sources `list` looks through when the filter names none (the index is per source). */
  readonly sources: readonly string[];
  /** Days a record is kept. @default 14 */
  readonly retentionDays?: number;
  readonly now?: () => number;
}

/**
 * The deflate of a record: a 4 KB window and a smaller hash table instead of zlib's 32 KB and 8
 * (memLevel 8). Each record is deflated on its own, and setting up the default stream (about 270 KB
 * of state, allocated and released for every record) cost twice the compressing of a 1 KB record;
 * these take a third fewer instructions for the same bytes (a record's repeats are its events, well
 * within 4 KB of each other: 200 events deflate smaller than with the defaults). Any inflate reads it.
 */
const DEFLATE_OPTIONS = { windowBits: 12, memLevel: 6, chunkSize: 1024 } as const;

/** The bytes of one write unit: an item up to this size is billed one unit in the table and one in the index. */
const WRITE_UNIT_BYTES = 1024;

/**
 * Whether `item` with the record's JSON as `doc` is at most one write unit, as DynamoDB sizes it: each
 * attribute's name and value in UTF-8 bytes, a number taken at its digits plus one (it is stored in
 * about half that: never counted short).
 */
function fitsOneUnit(item: Record<string, AttributeValue>, json: string): boolean {
  let size = 'doc'.length + Buffer.byteLength(json, 'utf8');
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name, 'utf8') + (value.S !== undefined ? Buffer.byteLength(value.S, 'utf8') : (value.N ?? '').length + 1);
    if (size > WRITE_UNIT_BYTES) return false;
  }
  return size <= WRITE_UNIT_BYTES;
}

/** Rounds of read-modify-write before `update` gives up (another writer won every time). */
const UPDATE_ROUNDS = 3;

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The journal in DynamoDB (deployed, and in the local emulator). */
export class DynamoJournal implements DeliveryJournal {
  private loaded: Promise<JournalCalls> | undefined;
  private readonly now: () => number;
  private readonly retentionSeconds: number;

  constructor(private readonly options: DynamoJournalOptions) {
    this.now = options.now ?? Date.now;
    this.retentionSeconds = (options.retentionDays ?? RETENTION_DEFAULTS.journalDays) * 86_400;
  }

  private calls(): Promise<JournalCalls> {
    this.loaded ??= (async (): Promise<JournalCalls> => {
      const { client } = this.options;
      if (isDynamoApi(client)) return client;
      const [sdk, c] = await Promise.all([import('../shared/sdk-dynamodb.js'), typeof client === 'function' ? client() : client]);
      return {
        getItem: (input: GetItemCommandInput) => c.send(new sdk.GetItemCommand(input)),
        putItem: (input: PutItemCommandInput) => c.send(new sdk.PutItemCommand(input)),
        query: (input: QueryCommandInput) => c.send(new sdk.QueryCommand(input)),
      };
    })().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }

  private async read(id: string): Promise<{ record: DeliveryRecord | undefined; rev: number | undefined }> {
    const calls = await this.calls();
    const out = await calls.getItem({ TableName: this.options.tableName, Key: { [JOURNAL_TABLE.partitionKey]: { S: id } }, ConsistentRead: true });
    const item = out.Item;
    if (item === undefined) return { record: undefined, rev: undefined };
    const rev = Number(item['rev']?.N ?? '0');
    return { record: this.live(item), rev };
  }

  /** The record of an item, unless it expired or is not one (written by another version). */
  private live(item: Record<string, AttributeValue>): DeliveryRecord | undefined {
    const expiresAt = Number(item[JOURNAL_TABLE.ttlAttribute]?.N ?? 'Infinity');
    if (expiresAt * 1000 <= this.now()) return undefined;
    try {
      const packed = item['docz']?.B;
      const doc = packed !== undefined ? inflateRawSync(packed).toString('utf8') : item['doc']?.S;
      if (doc === undefined) return undefined;
      return readDeliveryRecord(JSON.parse(doc));
    } catch {
      return undefined;
    }
  }

  async update(id: string, change: (current: DeliveryRecord | undefined) => DeliveryRecord | undefined, options: { readonly expectNew?: boolean } = {}): Promise<DeliveryRecord | undefined> {
    try {
      for (let round = 0; round < UPDATE_ROUNDS; round += 1) {
        const { record, rev } = round === 0 && options.expectNew === true ? { record: undefined, rev: undefined } : await this.read(id);
        const changed = change(record);
        if (changed === undefined) return undefined;
        // One item holds at most 400 KB: a record of hundreds of alerts keeps its first ones and counts the rest.
        const next = fitRecord(changed);
        const calls = await this.calls();
        const item: Record<string, AttributeValue> = {
          [JOURNAL_TABLE.partitionKey]: { S: id },
          [JOURNAL_TABLE.indexPartitionKey]: { S: `${next.source}#${utcDay(next.receivedAt)}` },
          [JOURNAL_TABLE.indexSortKey]: { N: String(next.receivedAt) },
          rev: { N: String((rev ?? 0) + 1) },
          [JOURNAL_TABLE.ttlAttribute]: { N: String(Math.floor(next.receivedAt / 1000) + this.retentionSeconds) },
        };
        // Deflated only when that saves a write unit (see the top of this file).
        const json = recordJson(next);
        if (fitsOneUnit(item, json)) item['doc'] = { S: json };
        else item['docz'] = { B: deflateRawSync(json, DEFLATE_OPTIONS) };
        try {
          await calls.putItem({
            TableName: this.options.tableName,
            Item: item,
            ...(rev === undefined
              ? { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': JOURNAL_TABLE.partitionKey } }
              : { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' }, ExpressionAttributeValues: { ':rev': { N: String(rev) } } }),
          });
          return next;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }
      throw new JournalError(`the journal record ${id} kept changing under ${UPDATE_ROUNDS} writes`);
    } catch (error) {
      if (error instanceof JournalError) throw error;
      throw new JournalError(`the delivery journal failed (update ${id}): ${(error as Error).message}`, { cause: error });
    }
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    try {
      return (await this.read(id)).record;
    } catch (error) {
      throw new JournalError(`the delivery journal failed (get ${id}): ${(error as Error).message}`, { cause: error });
    }
  }

  /** One query per source and day of the range (newest day first), until `limit` records match. */
  async list(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    const now = this.now();
    const until = filter.until ?? now + 1;
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const sources = filter.source === undefined ? this.options.sources : [filter.source];
    const found: DeliveryRecord[] = [];
    if (filter.since >= until) return found;
    try {
      const calls = await this.calls();
      for (const day of daysBetween(filter.since, until).reverse()) {
        for (const source of sources) {
          let start: Record<string, AttributeValue> | undefined;
          const before = found.length;
          do {
            const out = await calls.query({
              TableName: this.options.tableName,
              IndexName: JOURNAL_TABLE.index,
              KeyConditionExpression: '#pk = :pk AND #at BETWEEN :since AND :until',
              ExpressionAttributeNames: { '#pk': JOURNAL_TABLE.indexPartitionKey, '#at': JOURNAL_TABLE.indexSortKey },
              ExpressionAttributeValues: { ':pk': { S: `${source}#${day}` }, ':since': { N: String(filter.since) }, ':until': { N: String(until - 1) } },
              ScanIndexForward: false,
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            });
            for (const item of out.Items ?? []) {
              const record = this.live(item);
              if (record !== undefined && matchesFilter(record, filter, now)) found.push(record);
            }
            start = out.LastEvaluatedKey;
          } while (start !== undefined && found.length - before < limit);
        }
        // Days are newest first: once a day filled the list, older days cannot come before it.
        if (found.length >= limit) break;
      }
    } catch (error) {
      throw new JournalError(`the delivery journal failed (list): ${(error as Error).message}`, { cause: error });
    }
    return found.sort(newestFirst).slice(0, limit);
  }
}
