import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoSource } from '../shared/dynamodb-api.js';
import { LEDGER_TABLE } from '../shared/contract.js';
import { isConditionFailure, lazyCalls, type DynamoCalls } from './dynamo-ledger.js';
import { FLOOR_BEYOND_MS, rateShapeOf, type RateBudgetState, type RateBudgetStore, type RateShape } from './rate-budget-store.js';

// One item per limit in the ledger table, `ratelimit#datadog#<endpoint class>`:
//   limit, periodMs       the shape Datadog stated (X-RateLimit-Limit / -Period)
//   floorMs               no slot before this (raised by a 429, never lowered but for one no reset made)
//   lastCreateWindowMs    the latest window a create booked a slot in
//   w<start ms>           slots booked in the window starting then (ADD under a condition)
// Each change is one UpdateItem; none reads first, so instances never overwrite each other's bookings.

export function rateBudgetPk(endpointClass: string): string {
  return `ratelimit#datadog#${endpointClass}`;
}

const n = (v: number): AttributeValue => ({ N: String(v) });
const WINDOW_PREFIX = 'w';

export class DynamoRateBudgetStore implements RateBudgetStore {
  private readonly table: string;
  private readonly calls: () => Promise<DynamoCalls>;

  constructor(options: { readonly client: DynamoSource; readonly tableName: string }) {
    this.calls = lazyCalls(options.client);
    this.table = options.tableName;
  }

  private key(key: string): Record<string, AttributeValue> {
    return { [LEDGER_TABLE.partitionKey]: { S: rateBudgetPk(key) } };
  }

  /** An update whose condition may fail: false when it did. */
  private async conditional(input: Omit<Parameters<DynamoCalls['updateItem']>[0], 'TableName' | 'Key'>, key: string): Promise<Record<string, AttributeValue> | false> {
    try {
      const res = await (await this.calls()).updateItem({ TableName: this.table, Key: this.key(key), ...input });
      return res.Attributes ?? {};
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async read(key: string): Promise<RateBudgetState | undefined> {
    const res = await (await this.calls()).getItem({ TableName: this.table, Key: this.key(key), ConsistentRead: true });
    const item = res.Item;
    if (item === undefined) return undefined;
    const num = (name: string): number | undefined => (item[name]?.N !== undefined ? Number(item[name].N) : undefined);
    const limit = num('limit');
    const periodMs = num('periodMs');
    const booked = new Map<number, number>();
    for (const [name, value] of Object.entries(item)) {
      if (name.startsWith(WINDOW_PREFIX) && /^w\d+$/.test(name) && value.N !== undefined) booked.set(Number(name.slice(1)), Number(value.N));
    }
    return {
      shape: rateShapeOf(limit, periodMs),
      floorMs: num('floorMs') ?? 0,
      lastCreateWindowMs: num('lastCreateWindowMs'),
      booked,
    };
  }

  async learn(key: string, update: { readonly shape?: RateShape; readonly floorMs?: number }): Promise<void> {
    if (update.shape !== undefined) {
      await (await this.calls()).updateItem({
        TableName: this.table,
        Key: this.key(key),
        UpdateExpression: 'SET #limit = :limit, #periodMs = :periodMs',
        ExpressionAttributeNames: { '#limit': 'limit', '#periodMs': 'periodMs' },
        ExpressionAttributeValues: { ':limit': n(update.shape.limit), ':periodMs': n(update.shape.periodMs) },
      });
    }
    if (update.floorMs !== undefined) {
      await this.conditional(
        {
          UpdateExpression: 'SET #floor = :floor',
          // Raised, never lowered; but a floor more than FLOOR_BEYOND_MS beyond this one is no reset's: replaced.
          ConditionExpression: 'attribute_not_exists(#floor) OR #floor < :floor OR #floor > :beyond',
          ExpressionAttributeNames: { '#floor': 'floorMs' },
          ExpressionAttributeValues: { ':floor': n(update.floorMs), ':beyond': n(update.floorMs + FLOOR_BEYOND_MS) },
        },
        key,
      );
    }
  }

  async book(key: string, windowStartMs: number, cap: number, minPosition: number): Promise<number | undefined> {
    const names = { '#w': `${WINDOW_PREFIX}${windowStartMs}` };
    if (minPosition > 0) {
      // The window's first positions are past: jump its count to just after minPosition.
      const jumped = await this.conditional(
        { UpdateExpression: 'SET #w = :next', ConditionExpression: 'attribute_not_exists(#w) OR #w < :min', ExpressionAttributeNames: names, ExpressionAttributeValues: { ':next': n(minPosition + 1), ':min': n(minPosition) } },
        key,
      );
      if (jumped !== false) return minPosition;
    }
    const added = await this.conditional(
      {
        UpdateExpression: 'ADD #w :one',
        ConditionExpression: 'attribute_not_exists(#w) OR #w < :cap',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':one': n(1), ':cap': n(cap) },
        ReturnValues: 'UPDATED_NEW',
      },
      key,
    );
    if (added === false) return undefined;
    const count = Number(added[names['#w']]?.N ?? Number.NaN);
    return Number.isFinite(count) ? count - 1 : undefined;
  }

  async markCreateWindow(key: string, windowStartMs: number): Promise<void> {
    await this.conditional(
      {
        UpdateExpression: 'SET #lc = :lc',
        ConditionExpression: 'attribute_not_exists(#lc) OR #lc < :lc',
        ExpressionAttributeNames: { '#lc': 'lastCreateWindowMs' },
        ExpressionAttributeValues: { ':lc': n(windowStartMs) },
      },
      key,
    );
  }

  async prune(key: string, windowStartsMs: readonly number[]): Promise<void> {
    if (windowStartsMs.length === 0) return;
    const names: Record<string, string> = {};
    windowStartsMs.forEach((start, i) => (names[`#w${i}`] = `${WINDOW_PREFIX}${start}`));
    await (await this.calls()).updateItem({ TableName: this.table, Key: this.key(key), UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`, ExpressionAttributeNames: names });
  }
}
