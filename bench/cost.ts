/**
 * Dollars per million webhooks, counted (issue 15, item 4): a mix of Alertmanager webhooks (first
 * firing, repeat, resolve, first firing that meets Datadog's 429) through the deployed bundles on the
 * cost rig (bench/cost-rig.ts), every AWS request counted on the wire and priced with
 * bench/prices.json. What is counted and what is assumed:
 * - counted: API Gateway requests (one per webhook), Lambda invocations (ingest, and retry per
 *   message: the event source at low traffic), DynamoDB read and write request units (computed by the
 *   emulator from the real items), SQS requests (the functions' sends; the event source's receives
 *   that got a message and its deletes), S3 and any other AWS call, Secrets Manager calls, the bytes
 *   each function wrote to its log (the JSON log lines and the EMF blobs);
 * - modelled: the access log line (the stage's format, lib/access-log.ts, filled with typical values),
 *   Lambda's own platform records when the functions' system log level lets them through, and the
 *   billed duration: the invocation's CPU time measured here, scaled to the share of a vCPU the
 *   configured memory gets (1,769 MB = one vCPU), plus an assumed round trip per AWS and Datadog call
 *   (ROUND_TRIP_MS: the network is what an invocation mostly waits for).
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as z from 'zod';
import { readSample } from '../lambda/local/samples.js';
import { WATCHDOG_DELAY_SECONDS } from '../lambda/shared/budgets.js';
import { outboxTrigger, WATCHDOG_REASON } from '../lambda/delivery/queue.js';
import { SqsActionQueue } from '../lambda/delivery/sqs-queue.js';
import { ACCESS_LOG_FIELDS } from '../lib/access-log.js';
import type { ArchiveMode } from '../lambda/shared/contract.js';
import { FUNCTION_MEMORY_MB, FUNCTION_SYSTEM_LOG_LEVEL } from '../lib/lambda-bundle.js';
import type { AwsCall } from './aws-counter.js';
import type { CostRig, InvocationRecord } from './cost-rig.js';
import { ROOT } from './options.js';

const PriceSchema = z.object({ usd: z.number().nonnegative(), per: z.number().positive(), unit: z.string(), source: z.string().url(), recorded: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) });
const PricesSchema = z.object({ region: z.string(), prices: z.record(z.string(), PriceSchema) });
export type Prices = z.infer<typeof PricesSchema>['prices'];
const PRICE_KEYS = ['apiGatewayHttpRequest', 'lambdaRequest', 'lambdaGbSecondArm', 'dynamodbWriteRequestUnit', 'dynamodbReadRequestUnit', 'sqsRequest', 'cloudwatchLogsIngestedGb', 'secretsManagerApiCall', 's3PutRequest', 's3GetRequest'] as const;

export function readPrices(file = join(ROOT, 'bench/prices.json')): Prices {
  const prices = PricesSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).prices;
  const missing = PRICE_KEYS.filter((k) => prices[k] === undefined);
  if (missing.length > 0) throw new Error(`bench/prices.json lacks ${missing.join(', ')}`);
  return prices;
}

const unitPrice = (prices: Prices, key: (typeof PRICE_KEYS)[number]): number => {
  const p = prices[key]!;
  return p.usd / p.per;
};

/** Assumed round trip of one call from a function in us-east-1, by SigV4 service (and Datadog). */
export const ROUND_TRIP_MS: Readonly<Record<string, number>> = { dynamodb: 5, sqs: 8, secretsmanager: 15, s3: 20, datadog: 200 };
/** Memory at which Lambda gives a function one full vCPU. */
const ONE_VCPU_MB = 1769;
/** The share of webhooks of each kind in the priced mix. */
export const MIX: Readonly<Record<Kind, number>> = { first: 0.35, repeat: 0.2, resolve: 0.35, rateLimited: 0.1 };
export type Kind = 'first' | 'repeat' | 'resolve' | 'rateLimited';
export const KIND_NAMES: Readonly<Record<Kind, string>> = { first: 'first firing', repeat: 'repeat', resolve: 'resolve', rateLimited: 'first firing, rate limited' };

/** What one kind of webhook used, summed over `webhooks` of them. */
export interface Usage {
  readonly webhooks: number;
  apiRequests: number;
  lambdaRequests: number;
  gbSeconds: number;
  billedMs: number;
  dynamoCalls: number;
  dynamoReadUnits: number;
  dynamoWriteUnits: number;
  sqsRequests: number;
  s3Put: number;
  s3Get: number;
  /** Calls of services the price table does not know (a new client): listed, not priced. */
  unpriced: Record<string, number>;
  functionLogBytes: number;
  platformLogBytes: number;
  accessLogBytes: number;
  logEvents: number;
  datadogCalls: number;
  cpuMs: number;
}

const emptyUsage = (webhooks: number): Usage => ({ webhooks, apiRequests: 0, lambdaRequests: 0, gbSeconds: 0, billedMs: 0, dynamoCalls: 0, dynamoReadUnits: 0, dynamoWriteUnits: 0, sqsRequests: 0, s3Put: 0, s3Get: 0, unpriced: {}, functionLogBytes: 0, platformLogBytes: 0, accessLogBytes: 0, logEvents: 0, datadogCalls: 0, cpuMs: 0 });

const bytes = (s: string): number => Buffer.byteLength(s.endsWith('\n') ? s.slice(0, -1) : s, 'utf8');

/** The stage's access log line for one webhook, with typical values. */
export function accessLogLine(): string {
  const values: Record<string, string> = {
    '$context.requestId': 'Yb3kQhL2IAMEbXw=',
    '$context.requestTime': '04/Dec/2026:22:50:12 +0000',
    '$context.identity.sourceIp': '203.0.113.7',
    '$context.identity.userAgent': 'Alertmanager/0.28.1',
    '$context.routeKey': 'POST /webhooks/{source}',
    '$context.path': '/webhooks/alertmanager',
    '$context.status': '201',
    '$context.responseLength': '212',
    '$context.responseLatency': '243',
    '$context.integrationLatency': '241',
    '$context.integrationErrorMessage': '-',
    '$context.apiId': 'a1b2c3d4e5',
  };
  return JSON.stringify(Object.fromEntries(Object.entries(ACCESS_LOG_FIELDS).map(([k, v]) => [k, values[v] ?? '-'])));
}

/** Lambda's platform records of one invocation (JSON log format), as CloudWatch receives them at system log level INFO. */
export function platformRecords(billedMs: number): string[] {
  const requestId = 'c6af9ac6-7b61-11e6-9a41-93e812345678';
  const time = '2026-12-04T22:50:12.345Z';
  return [
    JSON.stringify({ time, type: 'platform.start', record: { requestId, version: '$LATEST' } }),
    JSON.stringify({ time, type: 'platform.report', record: { requestId, metrics: { durationMs: billedMs - 0.37, billedDurationMs: billedMs, memorySizeMB: FUNCTION_MEMORY_MB, maxMemoryUsedMB: 97 }, status: 'success' } }),
  ];
}

/** Billed ms of one invocation: its CPU at the memory's share of a vCPU, plus a round trip per call. */
export function billedMs(inv: Pick<InvocationRecord, 'cpuMs' | 'calls' | 'datadogCalls'>): number {
  const waiting = inv.calls.reduce((a, c) => a + (ROUND_TRIP_MS[c.service] ?? 20), 0) + inv.datadogCalls * (ROUND_TRIP_MS['datadog'] ?? 0);
  return Math.max(1, Math.ceil(inv.cpuMs * (ONE_VCPU_MB / FUNCTION_MEMORY_MB) + waiting));
}

function addCall(u: Usage, c: AwsCall): void {
  if (c.service === 'dynamodb') {
    u.dynamoCalls += 1;
    u.dynamoReadUnits += c.readUnits;
    u.dynamoWriteUnits += c.writeUnits;
  } else if (c.service === 'sqs') u.sqsRequests += Math.max(1, Math.ceil(c.requestBytes / 65536));
  // Per container (its start, then every 5 minutes), not per webhook: counted apart (MixResult).
  else if (c.service === 'secretsmanager') return;
  else if (c.service === 's3') {
    if (/^(PUT|POST|COPY)\b/.test(c.operation) || c.operation.startsWith('GET /?list')) u.s3Put += 1;
    else u.s3Get += 1;
  } else u.unpriced[`${c.service} ${c.operation}`] = (u.unpriced[`${c.service} ${c.operation}`] ?? 0) + 1;
}

/** Sums what the rig saw for one kind (its ingest and retry invocations and the event source's calls). */
export function usageOf(rig: Pick<CostRig, 'invocations' | 'poller'>, kind: string, webhooks: number): Usage {
  const u = emptyUsage(webhooks);
  for (const inv of rig.invocations.filter((i) => i.kind === kind)) {
    if (inv.fn === 'ingest') {
      u.apiRequests += 1;
      u.accessLogBytes += bytes(accessLogLine());
      u.logEvents += 1;
    }
    u.lambdaRequests += 1;
    const ms = billedMs(inv);
    u.billedMs += ms;
    u.gbSeconds += (ms / 1000) * (FUNCTION_MEMORY_MB / 1024);
    u.cpuMs += inv.cpuMs;
    u.datadogCalls += inv.datadogCalls;
    for (const e of inv.logEvents) u.functionLogBytes += bytes(e);
    u.logEvents += inv.logEvents.length;
    if (FUNCTION_SYSTEM_LOG_LEVEL === 'INFO') {
      const records = platformRecords(ms);
      u.platformLogBytes += records.reduce((a, r) => a + bytes(r), 0);
      u.logEvents += records.length;
    }
    for (const c of inv.calls) addCall(u, c);
  }
  for (const c of rig.poller.filter((p) => p.by === `poll:${kind}`)) addCall(u, c);
  return u;
}

/** Dollars per million webhooks of this usage, by line. */
export function price(u: Usage, prices: Prices): { lines: { item: string; perWebhook: number; usdPerMillion: number }[]; total: number } {
  const n = u.webhooks;
  const line = (item: string, quantity: number, key: (typeof PRICE_KEYS)[number]) => ({ item, perWebhook: quantity / n, usdPerMillion: (quantity / n) * 1e6 * unitPrice(prices, key) });
  const lines = [
    line('API Gateway requests', u.apiRequests, 'apiGatewayHttpRequest'),
    line('Lambda requests', u.lambdaRequests, 'lambdaRequest'),
    line(`Lambda GB-seconds (${FUNCTION_MEMORY_MB} MB)`, u.gbSeconds, 'lambdaGbSecondArm'),
    line('DynamoDB write request units', u.dynamoWriteUnits, 'dynamodbWriteRequestUnit'),
    line('DynamoDB read request units', u.dynamoReadUnits, 'dynamodbReadRequestUnit'),
    line('SQS requests', u.sqsRequests, 'sqsRequest'),
    line('CloudWatch Logs bytes', u.functionLogBytes + u.platformLogBytes + u.accessLogBytes, 'cloudwatchLogsIngestedGb'),
    line('S3 PUT requests', u.s3Put, 's3PutRequest'),
    line('S3 GET requests', u.s3Get, 's3GetRequest'),
  ];
  return { lines, total: lines.reduce((a, l) => a + l.usdPerMillion, 0) };
}

// ---------------------------------------------------------------------------------------------
// The mix

let alertmanagerTemplate: { body: Record<string, unknown>; headers: Record<string, string> } | undefined;

/** An Alertmanager notification of one alert group `name` (firing or resolved), built from the fixture. */
export function alertmanagerBody(name: string, status: 'firing' | 'resolved', reason = 'first notification'): { body: string; headers: Record<string, string> } {
  if (alertmanagerTemplate === undefined) {
    const sample = readSample('alertmanager', 'firing');
    alertmanagerTemplate = { body: JSON.parse(sample.body) as Record<string, unknown>, headers: sample.headers };
  }
  const t = alertmanagerTemplate.body as { alerts: Record<string, unknown>[]; groupLabels: object; commonLabels: object };
  const alert = t.alerts[0] as { labels: object };
  const labels = { ...alert.labels, alertname: name };
  const body = {
    ...t,
    status,
    alerts: [{ ...alert, status, labels, endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z', fingerprint: createHash('sha256').update(name).digest('hex').slice(0, 16) }],
    groupLabels: { alertname: name },
    commonLabels: { ...t.commonLabels, alertname: name },
    groupKey: `{}/{team="storage"}:{alertname="${name}"}`,
    notification_reason: reason,
  };
  return { body: JSON.stringify(body), headers: alertmanagerTemplate.headers };
}

export interface MixResult {
  /** The rig's archive mode (the stack's `-c archive`). */
  readonly archive: ArchiveMode;
  readonly perKind: Record<Kind, Usage>;
  /** Secrets Manager calls made in the whole run (one per container start and per 5-minute reload). */
  readonly secretsCalls: number;
  readonly emptyPolls: number;
}

/**
 * Drives `perKind` webhooks of each kind through the rig. The alerts of the repeat and resolve kinds
 * are created first (not counted; their no-op watchdogs dropped), so every counted webhook meets
 * the state its kind needs. Checks the promise on the way: every firing alert ends with one case.
 */
export async function runMix(rig: CostRig, webhooksPerKind: number, archive: ArchiveMode = 'all'): Promise<MixResult> {
  const tag = Date.now().toString(36);
  const names = (kind: Kind) => Array.from({ length: webhooksPerKind }, (_, i) => `Bench${kind}${tag}n${i}`);
  const send = async (kind: string, name: string, status: 'firing' | 'resolved', reason?: string) => {
    const { body, headers } = alertmanagerBody(name, status, reason);
    const answer = await rig.invokeIngest(kind, rig.webhook('alertmanager', body, headers));
    if (answer.statusCode >= 300) throw new Error(`${kind} webhook for ${name} answered ${answer.statusCode}: ${JSON.stringify(answer.body)}`);
    return answer;
  };
  // Setup: the alerts the repeats and resolves are about, open with their cases.
  for (const name of [...names('repeat'), ...names('resolve')]) await send('setup', name, 'firing');
  const { PurgeQueueCommand } = await import('@aws-sdk/client-sqs');
  await rig.sqs.client.send(new PurgeQueueCommand({ QueueUrl: rig.sqs.retryQueueUrl }));
  // The retry container warmed too (its secret read, its SDK clients): one watchdog of a setup alert, at once.
  const setupAlert = names('repeat')[0] ?? names('resolve')[0];
  if (setupAlert !== undefined) {
    await new SqsActionQueue({ client: rig.sqs.client, retryQueueUrl: rig.sqs.retryQueueUrl, dlqUrl: rig.sqs.dlqUrl }).arm(outboxTrigger('alertmanager', `case-bridge/{}/{team="storage"}:{alertname="${setupAlert}"}`, Date.now()), { delaySeconds: 0, reason: WATCHDOG_REASON });
    await rig.drain(() => 'setup', 20_000);
  }

  for (const name of names('first')) await send('first', name, 'firing');
  for (const name of names('repeat')) await send('repeat', name, 'firing', 'repeat');
  for (const name of names('resolve')) await send('resolve', name, 'resolved');
  // The first meets Datadog's 429 (which states the limit and a window spent for 1 s); the others
  // meet the shared rate budget with no slot before that reset, and are queued without a call.
  rig.datadog.failNext(1, { status: 429, headers: { 'X-RateLimit-Limit': '1000', 'X-RateLimit-Period': '60', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1', 'X-RateLimit-Name': 'cases_write' } });
  for (const name of names('rateLimited')) await send('rateLimited', name, 'firing');
  const kindOfName = new Map<string, Kind>();
  for (const kind of Object.keys(MIX) as Kind[]) for (const name of names(kind)) kindOfName.set(name, kind);
  // The watchdogs come back after WATCHDOG_DELAY_SECONDS: wait for them, and a little more.
  await rig.drain((body) => kindOfName.get(/alertname=\\*"([^"\\]+)/.exec(body)?.[1] ?? '') ?? 'other', (WATCHDOG_DELAY_SECONDS + 30) * 1000);

  const titles = rig.datadog.cases.map((c) => c.request.data.attributes.title);
  for (const name of [...names('first'), ...names('rateLimited'), ...names('repeat'), ...names('resolve')]) {
    const made = titles.filter((t) => t.includes(`${name} (`)).length;
    if (made !== 1) throw new Error(`alert ${name} has ${made} cases, not one`);
  }
  const perKind = Object.fromEntries((Object.keys(MIX) as Kind[]).map((k) => [k, usageOf(rig, k, webhooksPerKind)])) as Record<Kind, Usage>;
  return { archive, perKind, secretsCalls: rig.counter.calls.filter((c) => c.service === 'secretsmanager').length, emptyPolls: rig.emptyPolls.length };
}

/** The mix's dollars per million webhooks: each kind's price weighted by its share. */
export function mixPrice(perKind: Record<Kind, Usage>, prices: Prices): number {
  return (Object.keys(MIX) as Kind[]).reduce((a, k) => a + MIX[k] * price(perKind[k], prices).total, 0);
}
