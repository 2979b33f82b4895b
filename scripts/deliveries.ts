import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BridgeError } from '../lambda/shared/errors.js';
import { RETENTION_DEFAULTS } from '../lambda/shared/contract.js';
import { awsClientConfig } from './aws-local.js';
import { deployedReader, formatTable, formatTrace, journalTableOf, localReader, parseSince, parseStatus, type JournalReader } from './deliveries-view.js';

const USAGE = `usage: npm run deliveries [-- --source S] [--since 2h] [--identity I] [--status failed] [--limit N] [--json]
       npm run deliveries -- <delivery-id> [--json]
  Lists the deliveries in the journal as a table (newest first), or prints one delivery's whole trace
  (by the bridge's delivery id, the \`delivery\` of each answer, or the sender's delivery id).
  --source     one source (github, alertmanager, …)
  --since      how far back: 30m, 2h, 7d, or an ISO 8601 time (default 24h)
  --identity   an alert's identity (the event's, or the rule's)
  --status     a status (created, duplicate, deduplicated, updated, no_match, ignored, queued,
               dead_lettered, rejected, …) or failed (dead-lettered, rejected, or answered 5xx)
  --limit      at most this many (default 50)
  --json       the records as JSON instead
  Where: the local bridge (npm start) at --url (default http://127.0.0.1:$PORT, 3000), or with
  --stack NAME a deployed stack, found by its outputs (CloudFormation DescribeStacks; the AWS
  credentials and region of your environment, or --region).
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      source: { type: 'string' },
      since: { type: 'string' },
      identity: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length > 1) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  const now = Date.now();
  const since = parseSince(values.since ?? (positionals.length === 1 ? `${RETENTION_DEFAULTS.journalDays}d` : '24h'), now);
  const status = parseStatus(values.status);
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new BridgeError(`--limit must be a positive whole number (got ${values.limit})`);

  const closers: (() => void)[] = [];
  let reader: JournalReader;
  if (values.stack !== undefined) {
    const config = awsClientConfig({ region: values.region });
    const cloudformation = new CloudFormationClient(config);
    const dynamo = new DynamoDBClient(config);
    closers.push(() => cloudformation.destroy(), () => dynamo.destroy());
    reader = deployedReader(dynamo, await journalTableOf(cloudformation, values.stack), values.stack);
  } else {
    reader = localReader(values.url ?? `http://127.0.0.1:${process.env['PORT'] || '3000'}`);
  }
  try {
    const [id] = positionals;
    if (id !== undefined) {
      const record = await reader.get(id, since);
      if (record === undefined) {
        process.stderr.write(`deliveries: no delivery ${id} in ${reader.where}\n`);
        return 1;
      }
      process.stdout.write(values.json ? `${JSON.stringify(record, null, 2)}\n` : formatTrace(record));
      return 0;
    }
    const records = await reader.list({ since, source: values.source, identity: values.identity, status, limit });
    process.stdout.write(values.json ? `${JSON.stringify(records, null, 2)}\n` : formatTable(records, reader.where));
    return 0;
  } finally {
    for (const close of closers) close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`deliveries: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
