// The cases of the local Case Management (`npm start` without Datadog keys), from the local bridge:
//   npm run cases [-- --url http://127.0.0.1:3000]
// What the dedup ledger knows about one alert and its case:
//   npm run cases -- <source> <identity> [--endpoint URL] [--table NAME] [--region REGION]
// The table defaults to $CASE_BRIDGE_LEDGER_TABLE (else case-bridge-ledger); the endpoint to
// $AWS_ENDPOINT_URL_DYNAMODB (set it to the local emulator; unset = AWS with the usual credentials).
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLedger } from '../lambda/ledger/dynamo-ledger.js';
import { awsClientConfig } from './aws-local.js';
import { dedupMarker } from '../lambda/ledger/marker.js';
import type { LedgerEntry } from '../lambda/ledger/types.js';
import { formatLocalCases, LOCAL_CASES_ROUTE, LocalCasesListingSchema } from '../lambda/local/case-management.js';

const USAGE = 'usage: npm run cases [-- --url http://127.0.0.1:3000]          the local Case Management\'s cases (npm start without Datadog keys)\n       npm run cases -- <source> <identity> [--endpoint URL] [--table NAME] [--region REGION]   the ledger entry of one alert\n';

const TIME_FIELDS = ['createStartedAt', 'firstSeen', 'lastSeen', 'openedAt', 'lastCommentAt', 'resolvedAt', 'closedAt'] as const;

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
    options: { url: { type: 'string' }, endpoint: { type: 'string' }, table: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [source, identity] = positionals;
  if (!values.help && positionals.length === 0) return listLocalCases(values.url ?? `http://127.0.0.1:${process.env['PORT'] || '3000'}`);
  if (values.help || source === undefined || identity === undefined || positionals.length > 2) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const endpoint = values.endpoint ?? (process.env['AWS_ENDPOINT_URL_DYNAMODB'] || undefined);
  const client = new DynamoDBClient(awsClientConfig({ endpoint, region: values.region }));
  const tableName = values.table ?? process.env['CASE_BRIDGE_LEDGER_TABLE'] ?? 'case-bridge-ledger';
  try {
    const entry = await new DynamoLedger({ client, tableName }).get(source, identity);
    const report = entry
      ? { source, identity, table: tableName, found: true, entry: describeEntry(entry) }
      : { source, identity, table: tableName, found: false, marker: dedupMarker(source, identity) };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return entry ? 0 : 1;
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
