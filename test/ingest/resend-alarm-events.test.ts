import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { alarmEventOf, parseResendCommand, resendAlarmEvents, ResendUsageError } from '../../scripts/resend-alarm-events-cli.js';

// `npm run resend-alarm-events` (docs/runbook.md#alarmeventsfailed): the queue in fauxqs, holding
// both kinds of message the stack puts there (a Lambda on-failure record, an EventBridge dead
// letter) and one that is neither; Lambda's Invoke API (REST, the SDK's own client) from a stub that
// records each invocation.

const ALARM = JSON.parse(readFileSync(new URL('../fixtures/cloudwatch/alarm.eventbridge.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const FUNCTION = 'CaseBridge-IngestApiIngest';

interface Invocation {
  readonly functionName: string;
  readonly invocationType: string | undefined;
  readonly payload: unknown;
}

let sqs: LocalSqs;
let stub: Server;
let lambdaEndpoint: string;
let invocations: Invocation[] = [];
let queueUrl: string;

beforeAll(async () => {
  sqs = await startLocalSqs();
  // Lambda's Invoke (POST /2015-03-31/functions/{name}/invocations): 202 for an Event invocation of FUNCTION, 404 for any other name.
  stub = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = decodeURIComponent(/^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '')?.[1] ?? '');
      if (name !== FUNCTION) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' }).end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
        return;
      }
      invocations.push({ functionName: name, invocationType: req.headers['x-amz-invocation-type'] as string | undefined, payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  lambdaEndpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
}, 30_000);

afterAll(async () => {
  await sqs?.close();
  await new Promise<void>((resolve) => (stub ? stub.close(() => resolve()) : resolve()));
});

const lambda = () => new LambdaClient({ endpoint: lambdaEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

function alarmEvent(state: string): Record<string, unknown> {
  return { ...ALARM, id: randomUUID(), detail: { ...(ALARM['detail'] as Record<string, unknown>), state: { value: state, reason: 'test', timestamp: '2026-12-04T10:03:12.480+0000' } } };
}

/** What Lambda sends to an on-failure destination after the last attempt. */
function onFailureRecord(event: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '1.0',
    timestamp: '2026-12-04T10:06:15.000Z',
    requestContext: { requestId: randomUUID(), functionArn: `arn:aws:lambda:eu-west-1:111122223333:function:${FUNCTION}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'LedgerError', errorMessage: 'the dedup ledger failed (PutItem): …' },
  };
}

async function depth(): Promise<number> {
  const out = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(out.Attributes?.['ApproximateNumberOfMessages']);
}

let record: Record<string, unknown>;
let deadLetter: Record<string, unknown>;

beforeEach(async () => {
  invocations = [];
  queueUrl = (await sqs.client.send(new CreateQueueCommand({ QueueName: `alarm-events-failed-${randomUUID()}` }))).QueueUrl ?? '';
  record = alarmEvent('ALARM');
  deadLetter = alarmEvent('OK');
  await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(onFailureRecord(record)) }));
  // EventBridge's dead letter: the event itself, with why in the attributes.
  await sqs.client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(deadLetter), MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'NO_PERMISSIONS' } } }),
  );
  await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2' }) }));
});

describe('npm run resend-alarm-events', () => {
  it('invokes the ingest function asynchronously with the event of each message (an on-failure record and a dead letter), deletes those, keeps the rest visible', async () => {
    const report = await resendAlarmEvents({ sqs: sqs.client, lambda: lambda(), queueUrl, functionName: FUNCTION });

    expect(report.resent.map((r) => r.id).sort()).toEqual([record['id'], deadLetter['id']].sort());
    expect(report.kept).toEqual([{ messageId: expect.any(String), problem: 'the body is not a CloudWatch alarm state change event' }]);
    expect(invocations).toHaveLength(2);
    for (const i of invocations) expect(i).toMatchObject({ functionName: FUNCTION, invocationType: 'Event' });
    expect(invocations.map((i) => i.payload)).toEqual(expect.arrayContaining([record, deadLetter]));
    // Only the message that is no alarm event is left, visible for the next look.
    expect(await depth()).toBe(1);
  });

  it('with --dry-run sends and deletes nothing', async () => {
    const report = await resendAlarmEvents({ sqs: sqs.client, lambda: lambda(), queueUrl, functionName: FUNCTION, dryRun: true });

    expect(report.resent.map((r) => `${r.alarm} ${r.state}`).sort()).toEqual(['checkout-api-5xx ALARM', 'checkout-api-5xx OK']);
    expect(invocations).toEqual([]);
    expect(await depth()).toBe(3);
  });

  it('keeps every message when Lambda refuses the invocation', async () => {
    const report = await resendAlarmEvents({ sqs: sqs.client, lambda: lambda(), queueUrl, functionName: 'no-such-function' });

    expect(report.resent).toEqual([]);
    expect(report.kept.filter((k) => k.problem.startsWith('Lambda refused the invocation: Function not found'))).toHaveLength(2);
    expect(await depth()).toBe(3);
  });

  it('reads the event out of a record or a dead letter, and nothing else', () => {
    const event = alarmEvent('ALARM');
    expect(alarmEventOf(JSON.stringify(onFailureRecord(event)))).toEqual({ event });
    expect(alarmEventOf(JSON.stringify(event))).toEqual({ event });
    expect(alarmEventOf(JSON.stringify(onFailureRecord({ replay: true })))).toEqual({ problem: 'its requestPayload is not a CloudWatch alarm state change event' });
    expect(alarmEventOf('not json')).toEqual({ problem: 'the body is not JSON' });
  });

  it('takes a stack, or a queue URL with a function name', () => {
    expect(parseResendCommand(['--stack', 'CaseBridge', '--dry-run'])).toEqual({ target: { kind: 'stack', stack: 'CaseBridge' }, region: undefined, dryRun: true });
    expect(parseResendCommand(['--queue-url', 'https://sqs.eu-west-1.amazonaws.com/1/q', '--function-name', 'f'])).toMatchObject({ target: { kind: 'direct', queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q', functionName: 'f' } });
    expect(() => parseResendCommand(['--queue-url', 'u'])).toThrow(ResendUsageError);
    expect(() => parseResendCommand(['--stack', 'S', '--function-name', 'f'])).toThrow(ResendUsageError);
  });
});
