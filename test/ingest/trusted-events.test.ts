import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { createIngestHandler, type IngestDeps } from '../../lambda/ingest/handler.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { compileRules, validateRulesFile } from '../../lambda/mapping/compile-rules.js';
import { parseRulesText, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { SqsActionQueue } from '../../lambda/delivery/sqs-queue.js';
import { LedgerError, QueueError, SecretUnavailableError } from '../../lambda/shared/errors.js';
import { MemoryJournal } from '../../lambda/journal/memory.js';
import { createLogger, silentLogger } from '../../lambda/shared/log.js';
import type { JsonObject } from '../../lambda/sources/types.js';
import { DD_KEYS } from '../support/fauxqs.js';
import { localDynamoClient, startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { closedPortUrl, localAwsClient } from '../support/unreachable.js';

// Issue 17: CloudWatch alarm events by EventBridge reach the ingest function as asynchronous
// invocations (lib/alarm-events.ts). Lambda retries one that throws twice, then sends it to the
// stack's on-failure queue; one that returns is done. So the trusted entry must throw whenever the
// event was not written ahead (ledger, retry queue or secret unavailable), and return for every
// final outcome (created, duplicate, below the threshold, no rule): else an event is lost, or an
// operator is paged for one that was handled. DynamoDB from dynalite, Datadog over HTTP, closed
// ports for "unreachable".

const ALARM = JSON.parse(readFileSync(new URL('../fixtures/cloudwatch/alarm.eventbridge.json', import.meta.url), 'utf8')) as JsonObject;

/** The fixture's alarm in `state`, as a new EventBridge event (its own id). */
function alarmEvent(state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' = 'ALARM', id: string = randomUUID()): JsonObject {
  const detail = ALARM['detail'] as { state: Record<string, unknown> };
  return { ...ALARM, id, detail: { ...detail, state: { ...detail.state, value: state } } };
}

function rules(lifecycle?: Record<string, unknown>) {
  const file = validateRulesFile(parseRulesText(readFileSync(PRESET_RULES_FILE, 'utf8'), PRESET_RULES_FILE));
  const cloudwatch = { ...file.sources.cloudwatch!, ...(lifecycle === undefined ? {} : { lifecycle }) };
  return compileRules(validateRulesFile({ ...file, sources: { ...file.sources, cloudwatch } }));
}

let dd: DatadogTestServer;
let dynamo: LocalDynamo;
let closedPort: string;
let tables = 0;

beforeAll(async () => {
  dd = await startDatadogServer();
  dynamo = await startDynalite();
  closedPort = await closedPortUrl();
}, 30_000);

afterAll(async () => {
  await dd?.close();
  await dynamo?.close();
});

/**
 * The deployed wiring, each piece replaceable, on a ledger table of its own (the fixture's alarm has
 * one identity), or on `table` (an earlier handler's: the same ledger after a failure).
 */
async function trusted(overrides: Partial<IngestDeps> = {}, table?: string) {
  const ledgerTable = table ?? `trusted-${++tables}`;
  if (table === undefined) await dynamo.createLedgerTable(ledgerTable);
  const handler = createIngestHandler({
    rules: rules(),
    secrets: { get: async () => DD_KEYS, refresh: async () => DD_KEYS },
    datadog: createDatadogClient({ baseUrl: dd.url, timeoutMs: 2_000 }),
    queue: new MemoryActionQueue(),
    ledger: new DynamoLedger({ client: localDynamoClient(dynamo.endpoint), tableName: ledgerTable }),
    logger: silentLogger,
    maxBodyBytes: 64 * 1024,
    random: () => 0.5,
    ...overrides,
  });
  return async (event: JsonObject) => {
    const answer = await handler.handleTrusted('cloudwatch', event, randomUUID());
    return { status: answer.statusCode, body: JSON.parse(String(answer.body)) as Record<string, unknown> };
  };
}

describe('an alarm event that was not written ahead throws (Lambda retries it, then keeps it in the on-failure queue)', () => {
  it('when the dedup ledger is unreachable, makes no case, and is journaled and logged as failed by the event id', async () => {
    const cases = dd.cases.length;
    const journal = new MemoryJournal();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const run = await trusted({ ledger: new DynamoLedger({ client: localDynamoClient(closedPort), tableName: 'any' }), journal, logger });
    const event = alarmEvent();
    await expect(run(event)).rejects.toBeInstanceOf(LedgerError);
    expect(dd.cases.length).toBe(cases);
    expect([...journal.records.values()]).toEqual([expect.objectContaining({ source: 'cloudwatch', senderDeliveryId: event['id'], status: 'error', why: expect.stringContaining('the dedup ledger failed') })]);
    expect(lines.filter((l) => l['level'] === 'error')).toEqual([expect.objectContaining({ source: 'cloudwatch', deliveryId: event['id'], message: expect.stringContaining('the invocation fails') })]);
  });

  it('when the ledger table is missing', async () => {
    const run = await trusted({ ledger: new DynamoLedger({ client: localDynamoClient(dynamo.endpoint), tableName: 'no-such-table' }) });
    await expect(run(alarmEvent())).rejects.toBeInstanceOf(LedgerError);
  });

  it('when the retry queue is unreachable (its watchdog cannot be armed), and the same event is handled once it is back', async () => {
    const cases = dd.cases.length;
    const down = new SqsActionQueue({ client: new SQSClient(localAwsClient(closedPort)), retryQueueUrl: `${closedPort}/000000000000/retry`, dlqUrl: `${closedPort}/000000000000/dlq` });
    const event = alarmEvent();
    await expect((await trusted({ queue: down }))(event)).rejects.toBeInstanceOf(QueueError);
    expect(dd.cases.length).toBe(cases);
    // Lambda's retry (or an operator's re-send) on the same ledger: the failed attempt forgot its claim on the event id.
    const retry = await trusted({}, `trusted-${tables}`);
    expect(await retry(event)).toMatchObject({ status: 201, body: { status: 'created' } });
    expect(dd.cases.length).toBe(cases + 1);
  });

  it('when the bridge secret cannot be read', async () => {
    const run = await trusted({ secrets: { get: async () => Promise.reject(new SecretUnavailableError('GetSecretValue failed (test)')), refresh: async () => DD_KEYS } });
    await expect(run(alarmEvent())).rejects.toBeInstanceOf(SecretUnavailableError);
  });
});

describe('an alarm event with a final outcome returns (Lambda is done with it)', () => {
  it('created, then the same event again: duplicate', async () => {
    const run = await trusted();
    const event = alarmEvent();
    expect(await run(event)).toMatchObject({ status: 201, body: { status: 'created' } });
    expect(await run(event)).toMatchObject({ status: 200, body: { status: 'duplicate' } });
  });

  it('below the occurrence threshold, then created at the Nth firing', async () => {
    const run = await trusted({ rules: rules({ open_after: { occurrences: 2, within_seconds: 600 } }) });
    expect(await run(alarmEvent())).toMatchObject({ status: 202, body: { status: 'below_threshold' } });
    expect(await run(alarmEvent())).toMatchObject({ status: 201, body: { status: 'created' } });
  });

  it('no rule takes it: INSUFFICIENT_DATA (informational), and OK of an alarm that has no case', async () => {
    const run = await trusted();
    expect(await run(alarmEvent('INSUFFICIENT_DATA'))).toMatchObject({ status: 202, body: { status: 'no_match', reason: expect.stringContaining('INSUFFICIENT_DATA (informational)') } });
    expect(await run(alarmEvent('OK'))).toMatchObject({ status: 202, body: { status: 'no_match', reason: expect.stringContaining('OK (resolved)') } });
  });
});
