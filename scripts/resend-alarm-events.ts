// `npm run resend-alarm-events`: the alarm events a stack could not handle, sent again (see USAGE and docs/runbook.md#alarmeventsfailed).
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from './aws-local.js';
import { parseResendCommand, resendAlarmEvents, ResendUsageError, USAGE } from './resend-alarm-events-cli.js';

async function main(): Promise<number> {
  const command = parseResendCommand(process.argv.slice(2));
  if (command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = awsClientConfig({ region: command.region });
  let { target } = command;
  if (target.kind === 'stack') {
    const cfn = new CloudFormationClient(config);
    try {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: target.stack }));
      const outputs = new Map((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
      const queueUrl = outputs.get('AlarmEventsFailedQueueUrl');
      const functionName = outputs.get('IngestFunctionName');
      if (queueUrl === undefined || functionName === undefined) throw new ResendUsageError(`stack ${target.stack} has no AlarmEventsFailedQueueUrl output: it was deployed without -c alarmEvents=true`);
      target = { kind: 'direct', queueUrl, functionName };
    } finally {
      cfn.destroy();
    }
  }
  const sqs = new SQSClient(config);
  const lambda = new LambdaClient(config);
  try {
    const report = await resendAlarmEvents({ sqs, lambda, queueUrl: target.queueUrl, functionName: target.functionName, dryRun: command.dryRun, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`${command.dryRun ? 'would re-send' : 're-sent'} ${report.resent.length}; kept ${report.kept.length}\n`);
    return report.kept.length > 0 ? 1 : 0;
  } finally {
    sqs.destroy();
    lambda.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ResendUsageError || (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`resend-alarm-events failed: ${message}\n`);
    process.exit(1);
  },
);
