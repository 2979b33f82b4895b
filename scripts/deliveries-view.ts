// What `npm run deliveries` shows and where it reads it (scripts/deliveries.ts is the command): the
// journal of the local bridge (its /local/deliveries routes), or of a deployed stack, found by the
// stack's outputs (CloudFormation DescribeStacks -> JournalTableName).
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoJournal } from '../lambda/journal/dynamo-journal.js';
import { JOURNAL_SOURCES } from '../lambda/journal/lambda-stores.js';
import { shortTrace } from '../lambda/journal/trace.js';
import { DELIVERY_STATUSES, readDeliveryRecord, type DeliveryFilter, type DeliveryRecord } from '../lambda/journal/types.js';
import { ConfigError } from '../lambda/shared/errors.js';
import * as z from '../lambda/shared/zod.js';

/** The local bridge's `GET /local/deliveries` answer; each record is then read by readDeliveryRecord. */
const LocalListing = z.object({ deliveries: z.optional(z.array(z.unknown())) });

/** `2h`, `30m`, `45s`, `7d` ago, or an ISO 8601 time: ms since the epoch. */
export function parseSince(text: string, now: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(text.trim());
  if (m !== null) return now - Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new ConfigError(`--since ${JSON.stringify(text)} is neither a duration (30m, 2h, 7d) nor an ISO 8601 time`);
  return t;
}

/** A --status value: a journal status, or `failed` (dead-lettered, rejected, error). */
export function parseStatus(text: string | undefined): DeliveryFilter['status'] {
  if (text === undefined) return undefined;
  if (text === 'failed' || (DELIVERY_STATUSES as readonly string[]).includes(text)) return text as DeliveryFilter['status'];
  throw new ConfigError(`--status must be failed or one of ${DELIVERY_STATUSES.join(', ')} (got ${text})`);
}

/** Where the journal is read. */
export interface JournalReader {
  /** Where, for the heading. */
  readonly where: string;
  list(filter: DeliveryFilter): Promise<DeliveryRecord[]>;
  /** By the bridge's delivery id, else by the sender's (the newest record with it within `since`). */
  get(id: string, since: number): Promise<DeliveryRecord | undefined>;
}

/** The journal of a local bridge (`npm start`), through its /local/deliveries routes. */
export function localReader(bridgeUrl: string): JournalReader {
  const call = async (path: string): Promise<Response> =>
    fetch(`${bridgeUrl}${path}`).catch((cause: unknown) => {
      throw new ConfigError(`no local bridge answers at ${bridgeUrl} (is npm start running? --url names another; --stack reads a deployed one)`, { cause });
    });
  const list = async (filter: DeliveryFilter): Promise<DeliveryRecord[]> => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
    const res = await call(`/local/deliveries?${q.toString()}`);
    if (!res.ok) throw new ConfigError(`the local bridge answered ${res.status}: ${await res.text()}`);
    const body = LocalListing.safeParse(await res.json().catch(() => undefined));
    if (!body.success) throw new ConfigError(`the local bridge at ${bridgeUrl} answered /local/deliveries with something that is not a list of deliveries (is it case-bridge's npm start, of this version?)`);
    return (body.data.deliveries ?? []).map(readDeliveryRecord).filter((r): r is DeliveryRecord => r !== undefined);
  };
  return {
    where: `the local bridge ${bridgeUrl}`,
    list,
    async get(id, since) {
      const res = await call(`/local/deliveries/${encodeURIComponent(id)}`);
      if (res.ok) return readDeliveryRecord(await res.json());
      if (res.status !== 404) throw new ConfigError(`the local bridge answered ${res.status}: ${await res.text()}`);
      return (await list({ since, senderDeliveryId: id, limit: 1 }))[0];
    },
  };
}

/** The journal table of a deployed stack: its `JournalTableName` output (CloudFormation DescribeStacks). */
export async function journalTableOf(cloudformation: CloudFormationClient, stackName: string): Promise<string> {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const out = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  const stack = out.Stacks?.[0];
  if (stack === undefined) throw new ConfigError(`no stack ${stackName}`);
  const table = stack.Outputs?.find((o) => o.OutputKey === 'JournalTableName')?.OutputValue;
  if (table === undefined) throw new ConfigError(`stack ${stackName} has no JournalTableName output: deploy this version of case-bridge first`);
  return table;
}

/** The journal of a deployed stack, read with the caller's AWS credentials. */
export function deployedReader(dynamo: DynamoDBClient, tableName: string, stackName: string): JournalReader {
  const journal = new DynamoJournal({ client: dynamo, tableName, sources: JOURNAL_SOURCES });
  return {
    where: `stack ${stackName} (table ${tableName})`,
    list: (filter) => journal.list(filter),
    async get(id, since) {
      return (await journal.get(id)) ?? (await journal.list({ since, senderDeliveryId: id, limit: 1 }))[0];
    },
  };
}

const cut = (text: string, width: number): string => (text.length <= width ? text : `${text.slice(0, width - 1)}…`);

/** One line per delivery, newest first: time, id, source, status, answer, identity, trace. */
export function formatTable(records: readonly DeliveryRecord[], where: string): string {
  const header = ['RECEIVED (UTC)', 'DELIVERY', 'SOURCE', 'STATUS', 'HTTP', 'IDENTITY', 'TRACE'];
  const rows = records.map((r) => [
    new Date(r.receivedAt).toISOString().replace('T', ' ').slice(0, 19),
    r.id,
    r.source,
    r.status,
    String(r.answer.status || ''),
    cut(r.identities.join(', '), 40),
    cut(shortTrace(r), 100),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join('  ').trimEnd();
  const title = `${records.length} deliver${records.length === 1 ? 'y' : 'ies'} in ${where}`;
  return [title, ...(records.length > 0 ? [line(header), ...rows.map(line)] : [])].join('\n') + '\n';
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The whole trace of one delivery, for people. */
export function formatTrace(r: DeliveryRecord): string {
  const out: string[] = [];
  out.push(`delivery    ${r.id}${r.replayOf !== undefined ? ` (replay of ${r.replayOf})` : ''}`);
  out.push(`source      ${r.source}${r.senderDeliveryId !== undefined ? `, sender's delivery id ${r.senderDeliveryId}` : ''}`);
  out.push(`received    ${iso(r.receivedAt)}, answered ${r.answer.status || 'not yet'} ${r.answer.code} in ${r.timings.totalMs} ms${r.timings.workMs !== undefined ? ` (rules, ledger and Datadog ${r.timings.workMs} ms)` : ''}`);
  out.push(`status      ${r.status}`);
  out.push(`verified    ${r.verified ? 'yes' : `no${r.why !== undefined ? `: ${r.why}` : ''}`}`);
  if (r.verified && r.why !== undefined) out.push(`why         ${r.why}`);
  out.push(`archive     ${r.archiveKey ?? (r.archiveError !== undefined ? `not archived: ${r.archiveError}` : 'not archived')}`);
  r.events.forEach((e, i) => {
    out.push(`event ${i + 1}     ${e.type} (${e.signal}), identity ${e.identity}${e.dedupIdentity !== undefined ? `, alert ${e.dedupIdentity}` : ''}`);
    out.push(`  rule      ${e.rule !== undefined ? e.rule : `none: ${e.noRule ?? 'no rule matched'}`}`);
    out.push(`  decision  ${e.outcome}${e.reason !== undefined ? `: ${e.reason}` : ''}${e.caseKey !== undefined || e.caseId !== undefined ? `, case ${e.caseKey ?? ''}${e.caseId !== undefined ? ` (${e.caseId})` : ''}` : ''}`);
    for (const a of e.actions) out.push(`  action    ${actionLine(a)}`);
  });
  for (const a of r.followUps ?? []) out.push(`later       ${actionLine(a)}`);
  out.push(`trace       ${shortTrace(r)}`);
  return out.join('\n') + '\n';
}

function actionLine(a: NonNullable<DeliveryRecord['followUps']>[number]): string {
  const what = a.purpose ?? a.kind;
  const target = a.caseKey ?? a.caseId;
  const detail = [
    target !== undefined ? `case ${target}` : undefined,
    a.detail !== undefined ? JSON.stringify(a.detail) : undefined,
    a.retryInSeconds !== undefined ? `retry in ${a.retryInSeconds} s` : undefined,
    a.reason,
  ].filter((x) => x !== undefined);
  return `${iso(a.at)} ${what} ${a.outcome.replace('_', '-')}${detail.length > 0 ? ` (${detail.join('; ')})` : ''}`;
}
