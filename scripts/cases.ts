// The cases of the local Case Management (`npm start` without Datadog keys), from the local bridge:
//   npm run cases [-- --url http://127.0.0.1:3000]
// What the dedup ledger knows about one alert and its case:
//   npm run cases -- <source> <identity> [--endpoint URL] [--table NAME] [--region REGION]
// The table defaults to $CASE_BRIDGE_LEDGER_TABLE (else case-bridge-ledger); the endpoint to
// $AWS_ENDPOINT_URL_DYNAMODB (set it to the local emulator; unset = AWS with the usual credentials).
// With --nudge (issue 13), also "look at this alert": one outbox trigger on the retry queue, so the
// retry function works the alert's pending Datadog work now (it only triggers a check: never a duplicate).
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { outboxTrigger } from '../lambda/delivery/queue.js';
import { SqsActionQueue } from '../lambda/delivery/sqs-queue.js';
import { DynamoLedger } from '../lambda/ledger/dynamo-ledger.js';
import { ENV } from '../lambda/shared/contract.js';
import { isSourceName } from '../lambda/sources/index.js';
import { awsClientConfig, endpointFor } from './aws-local.js';
import { dedupMarker } from '../lambda/ledger/marker.js';
import type { FiringCount, LedgerEntry } from '../lambda/ledger/types.js';
import { formatLocalCases, LOCAL_CASES_ROUTE, LocalCasesListingSchema } from '../lambda/local/case-management.js';

const USAGE = 'usage: npm run cases [-- --url http://127.0.0.1:3000]          the local Case Management\'s cases (npm start without Datadog keys)\n       npm run cases -- <source> <identity> [--endpoint URL] [--table NAME] [--region REGION]   the ledger entry of one alert\n       npm run cases -- <source> <identity> ... --nudge [--queue-url RetryQueueUrl]   and a trigger on the retry queue: its pending work is done now\n';

/** The reason a nudge's trigger carries. */
export const NUDGE_REASON = "operator's nudge (npm run cases --nudge): finish the alert's pending Datadog work";

const TIME_FIELDS = ['createStartedAt', 'firstSeen', 'lastSeen', 'openedAt', 'lastCommentAt', 'resolvedAt', 'closedAt'] as const;

/** An alert's occurrence count (issue 17: `open_after`) with its times as ISO 8601, oldest first. */
export function describeFiringCount(count: FiringCount): Record<string, unknown> {
  const times = Object.values(count.firings).sort((a, b) => a - b);
  return { firings: times.map((t) => new Date(t).toISOString()), ...(count.resetAt !== undefined ? { resetAt: new Date(count.resetAt).toISOString() } : {}) };
}

/** The entry with its ms times as ISO 8601, for people. */
export function describeEntry(entry: LedgerEntry): Record<string, unknown> {
  const out: Record<string, unknown> = { ...entry };
  for (const f of TIME_FIELDS) {
    const v = entry[f];
    if (v !== undefined) out[f] = new Date(v).toISOString();
  }
  out['unreportedOccurrences'] = entry.occurrences - entry.commentedOccurrences;
  return out;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, endpoint: { type: 'string' }, table: { type: 'string' }, region: { type: 'string' }, nudge: { type: 'boolean' }, 'queue-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [source, identity] = positionals;
  if (!values.help && positionals.length === 0) return listLocalCases(values.url ?? `http://127.0.0.1:${process.env['PORT'] || '3000'}`);
  if (values.help || source === undefined || identity === undefined || positionals.length > 2) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const queueUrl = values['queue-url'] ?? (process.env[ENV.retryQueueUrl] || undefined);
  if (values.nudge === true && (queueUrl === undefined || !isSourceName(source))) {
    process.stderr.write(queueUrl === undefined ? `cases: --nudge needs --queue-url (the stack's RetryQueueUrl output) or $${ENV.retryQueueUrl}\n` : `cases: --nudge: no source "${source}"\n`);
    return 2;
  }
  const endpoint = values.endpoint ?? (process.env['AWS_ENDPOINT_URL_DYNAMODB'] || undefined);
  const client = new DynamoDBClient(awsClientConfig({ endpoint, region: values.region }));
  const tableName = values.table ?? process.env['CASE_BRIDGE_LEDGER_TABLE'] ?? 'case-bridge-ledger';
  try {
    const ledger = new DynamoLedger({ client, tableName });
    const [entry, count] = await Promise.all([ledger.get(source, identity), ledger.getFiringCount(source, identity)]);
    // The firings counted toward an occurrence threshold: an alert below it has no entry yet.
    const counted = count !== undefined ? { occurrenceCount: describeFiringCount(count) } : {};
    const report: Record<string, unknown> = entry
      ? { source, identity, table: tableName, found: true, entry: describeEntry(entry), ...counted }
      : { source, identity, table: tableName, found: false, marker: dedupMarker(source, identity), ...counted };
    // Only an alert the ledger knows is nudged: the trigger names it, and the retry function reads its entry.
    if (entry !== undefined && values.nudge === true && queueUrl !== undefined && isSourceName(source)) {
      await nudge(source, identity, queueUrl, values.region);
      report['nudged'] = { queueUrl, reason: NUDGE_REASON };
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return entry ? 0 : 1;
  } finally {
    client.destroy();
  }
}

/** Sends one `outbox` trigger for the alert, due now (a local queue URL is reached on 127.0.0.1). */
async function nudge(source: Parameters<typeof outboxTrigger>[0], identity: string, queueUrl: string, region: string | undefined): Promise<void> {
  const endpoint = endpointFor(process.env['AWS_ENDPOINT_URL_SQS'] || undefined, queueUrl);
  const client = new SQSClient({ ...awsClientConfig({ endpoint, region }), ...(endpoint !== undefined ? { useQueueUrlAsEndpoint: false } : {}) });
  try {
    // A nudge only arms a trigger on the retry queue: the DLQ is not used.
    await new SqsActionQueue({ client, retryQueueUrl: queueUrl, dlqUrl: '' }).arm(outboxTrigger(source, identity, Date.now()), { delaySeconds: 0, reason: NUDGE_REASON });
  } finally {
    client.destroy();
  }
}

async function listLocalCases(bridgeUrl: string): Promise<number> {
  const res = await fetch(`${bridgeUrl}${LOCAL_CASES_ROUTE}`).catch((cause: unknown) => {
    throw new Error(`no local bridge answers at ${bridgeUrl} (is npm start running? --url names another)`, { cause });
  });
  if (res.status === 404) {
    process.stderr.write(`cases: the bridge at ${bridgeUrl} runs no local Case Management (it has Datadog keys, or CASE_BRIDGE_DRY_RUN is set)\n`);
    return 1;
  }
  process.stdout.write(formatLocalCases(LocalCasesListingSchema.parse(await res.json())));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cases: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
