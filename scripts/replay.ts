// `npm run replay`: archived deliveries through the current rules (see USAGE and README, Replay).
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ReplayRequestError } from '../lambda/ingest/replay.js';
import { awsClientConfig } from './aws-local.js';
import { formatReport, localTarget, parseReplayCommand, stackTarget, USAGE, type StackAccess } from './replay-cli.js';

/** The deployed stack through the AWS SDK (the usual credentials and region). */
function sdkAccess(region: string | undefined): StackAccess & { destroy(): void } {
  const config = awsClientConfig({ region });
  const cfn = new CloudFormationClient(config);
  const lambda = new LambdaClient(config);
  return {
    async outputs(stack) {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
      return Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).flatMap((o) => (o.OutputKey !== undefined && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])));
    },
    async invoke(functionName, payload) {
      const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(payload) }));
      return { payload: new TextDecoder().decode(out.Payload ?? new Uint8Array()), functionError: out.FunctionError };
    },
    destroy() {
      cfn.destroy();
      lambda.destroy();
    },
  };
}

async function main(): Promise<number> {
  const command = parseReplayCommand(process.argv.slice(2), process.env, Date.now());
  if (command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const aws = command.target.kind === 'stack' ? sdkAccess(command.target.region) : undefined;
  try {
    const target = command.target.kind === 'stack' && aws !== undefined ? stackTarget(command.target.stack, aws) : localTarget(command.target.kind === 'local' ? command.target.url : '');
    const report = await target.replay(command.request);
    process.stdout.write(command.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.items.some((i) => i.result === 'failed') ? 1 : 0;
  } finally {
    aws?.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ReplayRequestError || (error instanceof Error && error.name === 'TypeError' && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`${message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`replay failed: ${message}\n`);
    if (/fetch failed/.test(message)) process.stderr.write('is the bridge running? start it with `npm start` (or name a deployed one with --stack)\n');
    process.exit(1);
  },
);
