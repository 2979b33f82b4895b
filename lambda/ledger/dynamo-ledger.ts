import { LEDGER_TABLE } from '../shared/contract.js';
import { newIntent, newIntentId } from './intent-id.js';
import { swapped } from './swap.js';
import type {
  AttributeValue,
  DeleteItemCommandInput,
  DynamoDBClient,
  GetItemCommandInput,
  GetItemCommandOutput,
  PutItemCommandInput,
  UpdateItemCommandInput,
  UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { LedgerError } from '../shared/errors.js';
import { isDynamoApi, type DynamoApi, type DynamoSource } from '../shared/dynamodb-api.js';
import { outboxSchema } from './outbox-schema.js';
import { ABANDONED_STATUS, DELIVERY_TTL_SECONDS, type AlertKey, type BeginCreateInput, type BeginCreateResult, type CommentMark, type DeliveryClaim, type FiringCount, type Ledger, type LedgerEntry, type LedgerState, type OutboxAction } from './types.js';

// Single-table layout (partition key `pk`, string; no sort key):
//   alert#<source>#<identity>     one item per alert: the LedgerEntry fields, numbers as N (ms)
//   threshold#<source>#<identity> the firings counted toward the alert's occurrence threshold (issue 17):
//                                 `firings` (map: firing key -> ms), `resetAt` (ms), `expiresAt` (TTL)
//   delivery#<source>#<id>        one item per remembered delivery id; `expiresAt` (epoch SECONDS) is the
//                                 table's TTL attribute. TTL deletion lags (up to days), so an expired item
//                                 is treated as absent on read and overwritten by a conditional put.
// Every expression names attributes through #placeholders (`state` is a DynamoDB reserved word).

const LEDGER_PARTITION_KEY = LEDGER_TABLE.partitionKey;
const LEDGER_TTL_ATTRIBUTE = LEDGER_TABLE.ttlAttribute;

export function alertPk(source: string, identity: string): string {
  return `alert#${source}#${identity}`;
}

export function deliveryPk(source: string, deliveryId: string): string {
  return `delivery#${source}#${deliveryId}`;
}

export function thresholdPk(source: string, identity: string): string {
  return `threshold#${source}#${identity}`;
}

/** How long (s) an occurrence count outlives the window of its latest write (see countFiring). */
export const FIRING_COUNT_GRACE_SECONDS = 86_400;

/** Map keys removed by one UpdateItem at most (the update expression is limited to 4 KB). */
const MAX_REMOVED_FIRINGS = 100;

function firingCountOf(item: Item): FiringCount {
  const firings: Record<string, number> = {};
  for (const [k, v] of Object.entries(item['firings']?.M ?? {})) if (v.N !== undefined) firings[k] = Number(v.N);
  const resetAt = item['resetAt']?.N;
  return { firings, resetAt: resetAt !== undefined ? Number(resetAt) : undefined };
}

/** `REMOVE #f.#r0, #f.#r1 …` for some keys of the firings map, with their names. */
function removeFirings(keys: readonly string[], names: Record<string, string>): string {
  return keys
    .slice(0, MAX_REMOVED_FIRINGS)
    .map((k, i) => {
      names[`#r${i}`] = k;
      return `#f.#r${i}`;
    })
    .join(', ');
}

export interface DynamoLedgerOptions {
  /**
   * The DynamoDB client, or a function making it on first use (so that the SDK is imported by the
   * first call, not at module load), or the Lambda functions' signed requests (lambdaDynamo).
   */
  readonly client: DynamoSource;
  readonly tableName: string;
}

/** The four calls the ledger makes, over the SDK loaded on first use. */
export interface DynamoCalls {
  getItem(input: GetItemCommandInput): Promise<GetItemCommandOutput>;
  putItem(input: PutItemCommandInput): Promise<unknown>;
  updateItem(input: UpdateItemCommandInput): Promise<UpdateItemCommandOutput>;
  deleteItem(input: DeleteItemCommandInput): Promise<unknown>;
}

/**
 * A failed call as a LedgerError (answered 503: the sender retries), except a failed condition, which
 * is an answer the ledger reads (someone else holds the entry), not a failure.
 */
async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isConditionFailure(error)) throw error;
    throw new LedgerError(`the dedup ledger failed (${what}): ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The calls over `client`, loaded on first use. A failed load (no SDK, a client factory that threw)
 * is not cached: the next call tries again.
 */
export function lazyCalls(client: DynamoSource): () => Promise<DynamoCalls> {
  if (isDynamoApi(client)) {
    const calls = guardedCalls(client);
    return () => Promise.resolve(calls);
  }
  let loaded: Promise<DynamoCalls> | undefined;
  return () => {
    loaded ??= loadCalls(client).catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}

function guardedCalls(api: Pick<DynamoApi, keyof DynamoCalls>): DynamoCalls {
  return {
    getItem: (input) => guarded('GetItem', () => api.getItem(input)),
    putItem: (input) => guarded('PutItem', () => api.putItem(input)),
    updateItem: (input) => guarded('UpdateItem', () => api.updateItem(input)),
    deleteItem: (input) => guarded('DeleteItem', () => api.deleteItem(input)),
  };
}

async function loadCalls(client: DynamoDBClient | (() => Promise<DynamoDBClient>)): Promise<DynamoCalls> {
  const [sdk, c] = await guarded('loading the DynamoDB client', () => Promise.all([import('../shared/sdk-dynamodb.js'), typeof client === 'function' ? client() : client]));
  return guardedCalls({
    getItem: (input) => c.send(new sdk.GetItemCommand(input)),
    putItem: (input) => c.send(new sdk.PutItemCommand(input)),
    updateItem: (input) => c.send(new sdk.UpdateItemCommand(input)),
    deleteItem: (input) => c.send(new sdk.DeleteItemCommand(input)),
  });
}

type Item = Record<string, AttributeValue>;

const STRING_FIELDS = ['source', 'identity', 'state', 'marker', 'intentId', 'ambiguousIntentId', 'caseId', 'caseKey', 'rule', 'closedBy', 'closedStatus', 'claimId'] as const;
const NUMBER_FIELDS = [
  'generation',
  'createStartedAt',
  'firstSeen',
  'lastSeen',
  'occurrences',
  'commentedOccurrences',
  'openedAt',
  'lastCommentAt',
  'resolvedAt',
  'closedAt',
  'reopenCount',
  'rev',
  'nextSeq',
  'claimUntil',
  'lastFiringAt',
  'lastResolveAt',
] as const;

/** The attribute of an alert's item naming the swap that wrote it last (swap's lost answers; not part of the entry). */
const WRITE_ID = 'writeId';

function toItem(entry: LedgerEntry): Item {
  const item: Item = { [LEDGER_PARTITION_KEY]: { S: alertPk(entry.source, entry.identity) } };
  for (const f of STRING_FIELDS) {
    const v = entry[f];
    if (v !== undefined) item[f] = { S: v };
  }
  for (const f of NUMBER_FIELDS) {
    const v = entry[f];
    if (v !== undefined) item[f] = { N: String(v) };
  }
  // The outbox as one JSON string: written only as a whole, under the rev condition (swap).
  if (entry.outbox !== undefined) item['outbox'] = { S: JSON.stringify(entry.outbox) };
  return item;
}

function fromItem(item: Item): LedgerEntry {
  const out: Record<string, string | number> = {};
  for (const f of STRING_FIELDS) {
    const v = item[f]?.S;
    if (v !== undefined) out[f] = v;
  }
  for (const f of NUMBER_FIELDS) {
    const v = item[f]?.N;
    if (v !== undefined) out[f] = Number(v);
  }
  const outbox = item['outbox']?.S;
  return {
    ...(out as unknown as LedgerEntry),
    ...(outbox !== undefined ? { outbox: parseOutbox(outbox) } : {}),
    state: (out['state'] ?? 'creating') as LedgerState,
    generation: (out['generation'] as number | undefined) ?? 0,
    occurrences: (out['occurrences'] as number | undefined) ?? 0,
    commentedOccurrences: (out['commentedOccurrences'] as number | undefined) ?? 0,
    reopenCount: (out['reopenCount'] as number | undefined) ?? 0,
  };
}

function parseOutbox(text: string): OutboxAction[] {
  const parsed = outboxSchema().safeParse(JSON.parse(text));
  if (!parsed.success) throw new LedgerError(`the ledger entry's outbox is not readable: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data as OutboxAction[];
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

const n = (v: number): AttributeValue => ({ N: String(v) });
const s = (v: string): AttributeValue => ({ S: v });

/** Builds `SET a = :a, ...` with #names for every field. */
function setClause(fields: Record<string, AttributeValue | undefined>, names: Record<string, string>, values: Item): string[] {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    names[`#${k}`] = k;
    values[`:${k}`] = v;
    parts.push(`#${k} = :${k}`);
  }
  return parts;
}

function commentValues(comment: CommentMark | undefined): Record<string, AttributeValue | undefined> {
  return comment ? { lastCommentAt: n(comment.at), commentedOccurrences: n(comment.occurrences) } : {};
}

/** The ledger in DynamoDB (deployed) or a DynamoDB-protocol emulator (local, tests). */
export class DynamoLedger implements Ledger {
  private readonly table: string;
  private readonly calls: () => Promise<DynamoCalls>;

  constructor(options: DynamoLedgerOptions) {
    this.calls = lazyCalls(options.client);
    this.table = options.tableName;
  }

  async get(source: string, identity: string): Promise<LedgerEntry | undefined> {
    const res = await (await this.calls()).getItem({ TableName: this.table, Key: { [LEDGER_PARTITION_KEY]: s(alertPk(source, identity)) }, ConsistentRead: true });
    return res.Item ? fromItem(res.Item) : undefined;
  }

  async beginCreate(input: BeginCreateInput): Promise<BeginCreateResult> {
    const entry = newIntent(input);
    const replacing = input.replacing;
    // Three tries: the entry may be abandoned (deleted) between our failed put and our read.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await (await this.calls()).putItem({
          TableName: this.table,
          Item: toItem(entry),
          ...(replacing === undefined
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY } }
            : {
                // Replaced only while it is still that closed entry: its case, or no case (abandoned).
                ConditionExpression: `attribute_not_exists(#pk) OR (#state = :closed AND ${replacing.caseId !== undefined ? '#caseId = :oldCase' : 'attribute_not_exists(#caseId)'} AND #generation = :oldGeneration)`,
                ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#state': 'state', '#caseId': 'caseId', '#generation': 'generation' },
                ExpressionAttributeValues: { ':closed': s('closed'), ':oldGeneration': n(replacing.generation), ...(replacing.caseId !== undefined ? { ':oldCase': s(replacing.caseId) } : {}) },
              }),
        });
        return { won: true, entry };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const existing = await this.get(input.source, input.identity);
      // Our own put, its answer lost and sent again by the retry: the intent id is ours alone.
      if (existing !== undefined) return { won: existing.intentId === entry.intentId, entry: existing };
    }
    throw new LedgerError(`ledger entry for ${input.source} ${input.identity} keeps changing; try again`);
  }

  async takeOverCreate(key: AlertKey, staleIntentId: string, now: number): Promise<BeginCreateResult> {
    const intentId = newIntentId();
    const updated = await this.update(key, {
      set: { intentId: s(intentId), createStartedAt: n(now) },
      condition: '#state = :creating AND #intentId = :stale',
      conditionNames: { '#state': 'state', '#intentId': 'intentId' },
      conditionValues: { ':creating': s('creating'), ':stale': s(staleIntentId) },
    });
    if (updated !== undefined) return { won: true, entry: updated };
    const existing = await this.get(key.source, key.identity);
    if (existing === undefined) throw new LedgerError(`no ledger entry for ${key.source} ${key.identity}: it changed while being taken over; try again`);
    return { won: false, entry: existing };
  }

  async completeCreate(key: AlertKey, intentId: string, created: { caseId: string; caseKey: string | undefined }, now: number): Promise<LedgerEntry | undefined> {
    return this.update(key, {
      set: { state: s('open'), caseId: s(created.caseId), caseKey: created.caseKey !== undefined ? s(created.caseKey) : undefined, openedAt: n(now) },
      condition: '#state = :creating AND #intentId = :intent',
      conditionNames: { '#state': 'state', '#intentId': 'intentId' },
      conditionValues: { ':creating': s('creating'), ':intent': s(intentId) },
    });
  }

  async abandonCreate(key: AlertKey, intentId: string): Promise<boolean> {
    // The alert's first intent: delete it. A later generation's fails this condition (one more call).
    try {
      await (await this.calls()).deleteItem({
        TableName: this.table,
        Key: { [LEDGER_PARTITION_KEY]: s(alertPk(key.source, key.identity)) },
        ConditionExpression: '#state = :creating AND #intentId = :intent AND (attribute_not_exists(#generation) OR #generation = :first)',
        ExpressionAttributeNames: { '#state': 'state', '#intentId': 'intentId', '#generation': 'generation' },
        ExpressionAttributeValues: { ':creating': s('creating'), ':intent': s(intentId), ':first': n(0) },
      });
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // A later generation: closed without a case, keeping its generation (ABANDONED_STATUS).
    const updated = await this.update(key, {
      set: { state: s('closed'), closedBy: s('bridge'), closedStatus: s(ABANDONED_STATUS) },
      remove: ['ambiguousIntentId'],
      condition: '#state = :creating AND #intentId = :intent',
      conditionNames: { '#state': 'state', '#intentId': 'intentId' },
      conditionValues: { ':creating': s('creating'), ':intent': s(intentId) },
    });
    return updated !== undefined;
  }

  async markCreateAmbiguous(key: AlertKey, intentId: string): Promise<boolean> {
    const updated = await this.update(key, {
      set: { ambiguousIntentId: s(intentId) },
      condition: '#state = :creating AND #intentId = :intent',
      conditionNames: { '#state': 'state', '#intentId': 'intentId' },
      conditionValues: { ':creating': s('creating'), ':intent': s(intentId) },
    });
    return updated !== undefined;
  }

  async recordOccurrence(key: AlertKey, at: number, firingAt?: number, seenFiringAt?: number): Promise<LedgerEntry | undefined> {
    /** ADD 1 to occurrences and SET lastSeen (and `set`) if `condition` holds on the stored entry. */
    const count = (set: Record<string, AttributeValue>, condition: string, firing: boolean): Promise<LedgerEntry | undefined> =>
      this.update(key, {
        set: { lastSeen: n(at), ...set },
        add: { occurrences: n(1) },
        condition: `attribute_exists(#pk)${condition}`,
        keepRev: true,
        conditionNames: { '#pk': LEDGER_PARTITION_KEY, ...(firing ? { '#lastFiringAt': 'lastFiringAt' } : {}) },
        conditionValues: firing && firingAt !== undefined ? { ':firingAt': n(firingAt) } : {},
      });
    if (firingAt !== undefined && seenFiringAt !== undefined && seenFiringAt >= firingAt) {
      // lastFiringAt read as already this late: count the occurrence without it, if it still is.
      const counted = await count({}, ' AND #lastFiringAt >= :firingAt', true);
      if (counted !== undefined) return counted;
    }
    if (firingAt !== undefined) {
      // lastFiringAt only moves forward; when it is already later, count the occurrence without it.
      const later = await count({ lastFiringAt: n(firingAt) }, ' AND (attribute_not_exists(#lastFiringAt) OR #lastFiringAt < :firingAt)', true);
      if (later !== undefined) return later;
    }
    return count({}, '', false);
  }

  async markCommented(key: AlertKey, mark: CommentMark & { caseId: string; previousCommentAt: number | undefined }): Promise<boolean> {
    const previous = mark.previousCommentAt === undefined ? 'attribute_not_exists(#lastCommentAt)' : '#lastCommentAt = :previous';
    const updated = await this.update(key, {
      set: commentValues(mark),
      condition: `#caseId = :case AND ${previous}`,
      conditionNames: { '#caseId': 'caseId', '#lastCommentAt': 'lastCommentAt' },
      conditionValues: { ':case': s(mark.caseId), ...(mark.previousCommentAt !== undefined ? { ':previous': n(mark.previousCommentAt) } : {}) },
    });
    return updated !== undefined;
  }

  async markResolved(key: AlertKey, change: { caseId: string; at: number; comment?: CommentMark }): Promise<boolean> {
    const updated = await this.update(key, {
      set: { state: s('resolved'), resolvedAt: n(change.at), ...commentValues(change.comment) },
      condition: '#state = :open AND #caseId = :case',
      conditionNames: { '#state': 'state', '#caseId': 'caseId' },
      conditionValues: { ':open': s('open'), ':case': s(change.caseId) },
    });
    return updated !== undefined;
  }

  async markClosed(key: AlertKey, change: { caseId: string; at: number; by: 'bridge' | 'human'; status: string; comment?: CommentMark }): Promise<boolean> {
    const condition = change.by === 'bridge' ? '#state IN (:open, :resolved) AND #caseId = :case' : '#state <> :creating AND #caseId = :case';
    const updated = await this.update(key, {
      set: { state: s('closed'), closedAt: n(change.at), closedBy: s(change.by), closedStatus: s(change.status), ...commentValues(change.comment) },
      condition,
      conditionNames: { '#state': 'state', '#caseId': 'caseId' },
      conditionValues: change.by === 'bridge' ? { ':open': s('open'), ':resolved': s('resolved'), ':case': s(change.caseId) } : { ':creating': s('creating'), ':case': s(change.caseId) },
    });
    return updated !== undefined;
  }

  async markReopened(key: AlertKey, change: { caseId: string; at: number; from: 'closed' | 'resolved'; comment?: CommentMark }): Promise<boolean> {
    const updated = await this.update(key, {
      set: { state: s('open'), openedAt: n(change.at), ...commentValues(change.comment) },
      add: change.from === 'closed' ? { reopenCount: n(1) } : {},
      remove: ['closedAt', 'closedBy', 'closedStatus', 'resolvedAt'],
      condition: '#state = :from AND #caseId = :case',
      conditionNames: { '#state': 'state', '#caseId': 'caseId' },
      conditionValues: { ':from': s(change.from), ':case': s(change.caseId) },
    });
    return updated !== undefined;
  }

  async rememberDelivery(source: string, deliveryId: string, now: number, ttlSeconds: number = DELIVERY_TTL_SECONDS): Promise<boolean> {
    const nowSeconds = Math.floor(now / 1000);
    try {
      await (await this.calls()).putItem({
        TableName: this.table,
        Item: {
          [LEDGER_PARTITION_KEY]: s(deliveryPk(source, deliveryId)),
          [LEDGER_TTL_ATTRIBUTE]: n(nowSeconds + ttlSeconds),
          seenAt: n(now),
        },
        // An item past its expiry may still be there (TTL deletion lags): it counts as absent.
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
        ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#expiresAt': LEDGER_TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ':now': n(nowSeconds) },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async forgetDelivery(source: string, deliveryId: string): Promise<void> {
    await (await this.calls()).deleteItem({ TableName: this.table, Key: { [LEDGER_PARTITION_KEY]: s(deliveryPk(source, deliveryId)) } });
  }

  async swap(before: LedgerEntry | undefined, after: LedgerEntry): Promise<boolean> {
    const next = swapped(before, after, undefined);
    // Ours alone: a write that happened but whose answer was lost is sent again by the retry and
    // refused by its own condition (rev moved); the read after a refusal then knows it as ours.
    const writeId = newIntentId();
    if (before === undefined) {
      try {
        await (await this.calls()).putItem({
          TableName: this.table,
          Item: { ...toItem({ ...next, occurrences: after.occurrences, lastSeen: after.lastSeen }), [WRITE_ID]: s(writeId) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY },
        });
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return this.wroteLast(after, writeId);
        throw error;
      }
    }
    // Only what changed is written; occurrences are added, so a concurrent recordOccurrence is kept.
    const old = toItem(before);
    const neu = toItem({ ...next, occurrences: before.occurrences, lastSeen: before.lastSeen, lastFiringAt: after.lastFiringAt ?? before.lastFiringAt });
    const set: Record<string, AttributeValue> = {};
    for (const [k, v] of Object.entries(neu)) if (k !== LEDGER_PARTITION_KEY && JSON.stringify(old[k]) !== JSON.stringify(v)) set[k] = v;
    const remove = Object.keys(old).filter((k) => neu[k] === undefined);
    const added = after.occurrences - before.occurrences;
    const legacy =
      'attribute_not_exists(#rev) AND #state = :b_state AND #intentId = :b_intent AND #generation = :b_generation AND ' +
      (before.caseId !== undefined ? '#caseId = :b_case' : 'attribute_not_exists(#caseId)') +
      ' AND ' +
      (before.lastCommentAt !== undefined ? '#lastCommentAt = :b_comment' : 'attribute_not_exists(#lastCommentAt)');
    const updated = await this.update(
      { source: after.source, identity: after.identity },
      {
        set: { ...set, [WRITE_ID]: s(writeId) },
        ...(added !== 0 ? { add: { occurrences: n(added) } } : {}),
        remove,
        // swap sets rev itself (before's + 1).
        keepRev: true,
        condition: before.rev !== undefined ? '#rev = :b_rev' : legacy,
        conditionNames: before.rev !== undefined ? { '#rev': 'rev' } : { '#rev': 'rev', '#state': 'state', '#intentId': 'intentId', '#generation': 'generation', '#caseId': 'caseId', '#lastCommentAt': 'lastCommentAt' },
        conditionValues:
          before.rev !== undefined
            ? { ':b_rev': n(before.rev) }
            : {
                ':b_state': s(before.state),
                ':b_intent': s(before.intentId),
                ':b_generation': n(before.generation),
                ...(before.caseId !== undefined ? { ':b_case': s(before.caseId) } : {}),
                ...(before.lastCommentAt !== undefined ? { ':b_comment': n(before.lastCommentAt) } : {}),
              },
      },
    );
    return updated !== undefined || this.wroteLast(after, writeId);
  }

  /**
   * After swap's condition refused it: true when the stored entry's last swap is this one (`writeId`),
   * which landed before its answer was lost; false when another write won or came after it (as before). One consistent read, only
   * on a refusal. (An entry written by a version without `writeId`, or put whole since, has none.)
   */
  private async wroteLast(key: AlertKey, writeId: string): Promise<boolean> {
    const res = await (await this.calls()).getItem({ TableName: this.table, Key: { [LEDGER_PARTITION_KEY]: s(alertPk(key.source, key.identity)) }, ConsistentRead: true });
    return res.Item?.[WRITE_ID]?.S === writeId;
  }

  async claimDelivery(source: string, deliveryId: string, now: number, staleMs: number, ttlSeconds: number = DELIVERY_TTL_SECONDS): Promise<DeliveryClaim> {
    const nowSeconds = Math.floor(now / 1000);
    const key = { [LEDGER_PARTITION_KEY]: s(deliveryPk(source, deliveryId)) };
    // Ours alone: a put that happened but whose answer was lost is sent again (the retry) and fails its
    // condition on our own claim, which the read below then knows.
    const claimToken = newIntentId();
    try {
      await (await this.calls()).putItem({
        TableName: this.table,
        Item: { ...key, [LEDGER_TTL_ATTRIBUTE]: n(nowSeconds + ttlSeconds), seenAt: n(now), pending: { BOOL: true }, claimToken: s(claimToken) },
        // Absent, expired, or claimed by a worker that never stored its outcome (older than staleMs).
        ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now OR (#pending = :true AND #seenAt <= :stale)',
        ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY, '#expiresAt': LEDGER_TTL_ATTRIBUTE, '#pending': 'pending', '#seenAt': 'seenAt' },
        ExpressionAttributeValues: { ':now': n(nowSeconds), ':true': { BOOL: true }, ':stale': n(now - staleMs) },
      });
      return 'claimed';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const res = await (await this.calls()).getItem({ TableName: this.table, Key: key, ConsistentRead: true });
    if (res.Item?.['pending']?.BOOL !== true) return 'done';
    return res.Item['claimToken']?.S === claimToken ? 'claimed' : 'in_progress';
  }

  async finishDelivery(source: string, deliveryId: string, now: number, ttlSeconds: number = DELIVERY_TTL_SECONDS): Promise<void> {
    await (await this.calls()).putItem({
      TableName: this.table,
      Item: { [LEDGER_PARTITION_KEY]: s(deliveryPk(source, deliveryId)), [LEDGER_TTL_ATTRIBUTE]: n(Math.floor(now / 1000) + ttlSeconds), seenAt: n(now) },
    });
  }

  /** The alert's occurrence count (issue 17; for `npm run cases`): undefined when it has none. */
  async getFiringCount(source: string, identity: string): Promise<FiringCount | undefined> {
    const res = await (await this.calls()).getItem({ TableName: this.table, Key: { [LEDGER_PARTITION_KEY]: s(thresholdPk(source, identity)) }, ConsistentRead: true });
    return res.Item?.['firings'] === undefined ? undefined : firingCountOf(res.Item);
  }

  async countFiring(key: AlertKey, firing: { key: string; at: number }, windowMs: number): Promise<FiringCount> {
    const calls = await this.calls();
    const Key = { [LEDGER_PARTITION_KEY]: s(thresholdPk(key.source, key.identity)) };
    // Cleanup only (the count reads the times). On the bridge's clock, not the firing's: a firing's time is
    // the sender's (an Alertmanager alert's start, however long ago), and an expiry already past would let
    // TTL delete the count at a moment of its choosing. A day's grace keeps the repeat notifications of one
    // alert (all at its start) counted while they come at most a day apart.
    const expiresAt = n(Math.ceil((Math.max(firing.at, Date.now()) + windowMs) / 1000) + FIRING_COUNT_GRACE_SECONDS);
    let item: Item | undefined;
    // The map must exist before one of its keys can be set: the first firing puts the item.
    for (let attempt = 0; attempt < 3 && item === undefined; attempt += 1) {
      try {
        const res = await calls.updateItem({
          TableName: this.table,
          Key,
          // Atomic and idempotent per key: a second count of one firing keeps its first time.
          UpdateExpression: 'SET #f.#k = if_not_exists(#f.#k, :at), #exp = :exp',
          ConditionExpression: 'attribute_exists(#f)',
          ExpressionAttributeNames: { '#f': 'firings', '#k': firing.key, '#exp': LEDGER_TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':at': n(firing.at), ':exp': expiresAt },
          ReturnValues: 'ALL_NEW',
        });
        item = res.Attributes;
        break;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const first: Item = { ...Key, firings: { M: { [firing.key]: n(firing.at) } }, [LEDGER_TTL_ATTRIBUTE]: expiresAt };
      try {
        await calls.putItem({ TableName: this.table, Item: first, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY } });
        item = first;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    if (item === undefined) throw new LedgerError(`the occurrence count of ${key.source} ${key.identity} keeps changing; try again`);
    const count = firingCountOf(item);
    const oldest = firing.at - windowMs;
    const stale = Object.keys(count.firings).filter((k) => count.firings[k]! < oldest);
    if (stale.length > 0) {
      const names: Record<string, string> = { '#f': 'firings' };
      try {
        await calls.updateItem({ TableName: this.table, Key, UpdateExpression: `REMOVE ${removeFirings(stale, names)}`, ConditionExpression: 'attribute_exists(#f)', ExpressionAttributeNames: names });
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const firings: Record<string, number> = {};
    for (const [k, at] of Object.entries(count.firings)) if (at >= oldest) firings[k] = at;
    return { firings, resetAt: count.resetAt };
  }

  async resetFirings(key: AlertKey, through: number): Promise<FiringCount | undefined> {
    const count = await this.getFiringCount(key.source, key.identity);
    if (count === undefined) return undefined;
    const calls = await this.calls();
    const Key = { [LEDGER_PARTITION_KEY]: s(thresholdPk(key.source, key.identity)) };
    if (count.resetAt !== undefined && count.resetAt >= through) return undefined;
    const reset = Object.keys(count.firings).filter((k) => count.firings[k]! <= through);
    const names: Record<string, string> = { '#f': 'firings', '#resetAt': 'resetAt' };
    // resetAt is what stops them counting; removing them only keeps the item small.
    const remove = reset.length > 0 ? ` REMOVE ${removeFirings(reset, names)}` : '';
    try {
      await calls.updateItem({
        TableName: this.table,
        Key,
        UpdateExpression: `SET #resetAt = :through${remove}`,
        ConditionExpression: 'attribute_exists(#f) AND (attribute_not_exists(#resetAt) OR #resetAt < :through)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':through': n(through) },
      });
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
    return count;
  }

  /** One conditional UpdateItem returning ALL_NEW; undefined when the condition failed. */
  private async update(
    key: AlertKey,
    u: {
      set: Record<string, AttributeValue | undefined>;
      add?: Record<string, AttributeValue>;
      remove?: readonly string[];
      /** An occurrence count does not change the entry's version; every other write does (swap's condition). */
      keepRev?: boolean;
      condition: string;
      conditionNames: Record<string, string>;
      conditionValues: Item;
    },
  ): Promise<LedgerEntry | undefined> {
    const names: Record<string, string> = { ...u.conditionNames };
    const values: Item = { ...u.conditionValues };
    const sets = setClause(u.set, names, values);
    const adds: string[] = [];
    for (const [k, v] of Object.entries({ ...u.add, ...(u.keepRev === true ? {} : { rev: n(1) }) })) {
      names[`#${k}`] = k;
      values[`:add_${k}`] = v;
      adds.push(`#${k} :add_${k}`);
    }
    const removes = (u.remove ?? []).map((k) => {
      names[`#${k}`] = k;
      return `#${k}`;
    });
    const expression = [sets.length ? `SET ${sets.join(', ')}` : '', adds.length ? `ADD ${adds.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '']
      .filter((p) => p !== '')
      .join(' ');
    try {
      const res = await (await this.calls()).updateItem({
        TableName: this.table,
        Key: { [LEDGER_PARTITION_KEY]: s(alertPk(key.source, key.identity)) },
        UpdateExpression: expression,
        ConditionExpression: u.condition,
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
        ReturnValues: 'ALL_NEW',
      });
      return res.Attributes ? fromItem(res.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
