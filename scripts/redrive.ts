import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { copyRedrive, listRedrives, startRedrive } from '../lambda/retry/redrive.js';
import { awsClientConfig, endpointFor } from './aws-local.js';

const HELP = `Moves dead-lettered cases back to the retry queue (after the cause is fixed).

  npm run redrive -- [--dlq-arn ARN] [--destination-arn ARN] [--max-per-second N] [--endpoint URL] [--region R]
  npm run redrive -- --status [--dlq-arn ARN]
  npm run redrive -- --copy --dlq-url URL --destination-url URL [--endpoint URL]
  npm start prints the last form with its emulator's queues filled in.

  --dlq-arn          ARN of the dead-letter queue (or env CASE_BRIDGE_DLQ_ARN)
  --destination-arn  ARN of the retry queue (or env CASE_BRIDGE_RETRY_QUEUE_ARN). Required: most messages
                     in the DLQ were SENT there by the bridge (Datadog answered a permanent 4xx), not moved
                     there by SQS after maxReceiveCount, so "back to where they came from" (a move task
                     without a destination) cannot return them. Always name the retry queue.
  --max-per-second   pace of the move (SQS MaxNumberOfMessagesPerSecond, 1-500); the retry function paces
                     Datadog anyway, so this only spreads the load
  --endpoint         SQS endpoint (a local emulator); otherwise the SDK's default for the region. With
                     --copy and queue URLs of the local emulator, 127.0.0.1 on their port
  --region           AWS region (otherwise AWS_REGION / the profile's; us-east-1 for a local endpoint,
                     which also needs no credentials)
  --status           list the DLQ's recent move tasks (ListMessageMoveTasks) and exit
  --copy             receive/send/delete by hand instead of StartMessageMoveTask (for emulators such as
                     fauxqs, which do not implement move tasks); needs --dlq-url and --destination-url

The stack's outputs name both queues (aws cloudformation describe-stacks --stack-name <stack>).
A redriven case starts again from attempt 0; if its cause is not fixed it lands in the DLQ again.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'dlq-arn': { type: 'string' },
      'destination-arn': { type: 'string' },
      'max-per-second': { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      status: { type: 'boolean', default: false },
      copy: { type: 'boolean', default: false },
      'dlq-url': { type: 'string' },
      'destination-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const endpoint = endpointFor(values.endpoint, values.copy ? values['dlq-url'] : undefined);
  const client = new SQSClient({
    ...awsClientConfig({ endpoint, region: values.region }),
    ...(endpoint !== undefined ? { useQueueUrlAsEndpoint: false } : {}),
  });
  try {
    if (values.copy) {
      const sourceUrl = values['dlq-url'];
      const destinationUrl = values['destination-url'];
      if (!sourceUrl || !destinationUrl) throw new UsageError('--copy needs --dlq-url and --destination-url');
      const moved = await copyRedrive({ client, sourceUrl, destinationUrl });
      console.log(`moved ${moved} message(s) from ${sourceUrl} to ${destinationUrl}`);
      return 0;
    }
    const sourceArn = values['dlq-arn'] ?? process.env['CASE_BRIDGE_DLQ_ARN'];
    if (!sourceArn) throw new UsageError('the DLQ ARN is missing: pass --dlq-arn or set CASE_BRIDGE_DLQ_ARN');
    if (values.status) {
      const tasks = await listRedrives(client, sourceArn);
      if (tasks.length === 0) console.log('no move tasks for this DLQ');
      for (const t of tasks) console.log(`${t.status ?? '?'}: moved ${t.moved ?? 0} of ${t.toMove ?? '?'}${t.failureReason ? ` (${t.failureReason})` : ''}`);
      return 0;
    }
    const destinationArn = values['destination-arn'] ?? process.env['CASE_BRIDGE_RETRY_QUEUE_ARN'];
    if (!destinationArn) throw new UsageError('the retry queue ARN is missing: pass --destination-arn or set CASE_BRIDGE_RETRY_QUEUE_ARN (see --help for why it is required)');
    let maxPerSecond: number | undefined;
    if (values['max-per-second'] !== undefined) {
      maxPerSecond = Number(values['max-per-second']);
      if (!Number.isInteger(maxPerSecond) || maxPerSecond < 1 || maxPerSecond > 500) throw new UsageError('--max-per-second must be an integer from 1 to 500');
    }
    const handle = await startRedrive({ client, sourceArn, destinationArn, ...(maxPerSecond !== undefined ? { maxPerSecond } : {}) });
    console.log(`move task started: ${handle}`);
    console.log(`check it: npm run redrive -- --status --dlq-arn ${sourceArn}`);
    console.log(`      or: aws sqs list-message-move-tasks --source-arn ${sourceArn}`);
    console.log(`cancel:   aws sqs cancel-message-move-task --task-handle ${handle}`);
    return 0;
  } finally {
    client.destroy();
  }
}

class UsageError extends Error {}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`${error.message}\n\n${HELP}`);
    else {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`redrive failed: ${message}`);
      if (/Unknown action|not (implemented|supported)/i.test(message)) console.error('this SQS endpoint has no move tasks (fauxqs): use --copy --dlq-url URL --destination-url URL');
    }
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
