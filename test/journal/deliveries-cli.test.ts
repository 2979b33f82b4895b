import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../lambda/local/sign.js';
import { localJournal } from '../../lambda/local/journal.js';
import { newDeliveryId, type DeliveryRecord } from '../../lambda/journal/types.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { startTestBridge, testSecret, type TestBridge } from '../support/local-bridge.js';
import { localReader, parseSince } from '../../scripts/deliveries-view.js';

// `npm run deliveries`, as a user runs it: against the local bridge, and against a "deployed" stack
// found by its outputs through a CloudFormation stand-in (awsQuery DescribeStacks on 127.0.0.1) and
// the journal table in dynalite. No AWS account or credentials.

const run = promisify(execFile);

async function deliveries(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join('node_modules', '.bin', 'tsx'), ['scripts/deliveries.ts', ...args], { timeout: 60_000, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');

describe('npm run deliveries against the local bridge', () => {
  let bridge: TestBridge;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    bridge = await startTestBridge();
    const post = async (name: string, secret: string) => {
      const body = fixture('pagerduty/incident.triggered.json');
      const headers = signRequest({ source: 'pagerduty', secret, body, headers: JSON.parse(fixture('pagerduty/incident.triggered.headers.json')) as Record<string, string> });
      const res = await fetch(`${bridge.url}/webhooks/pagerduty`, { method: 'POST', body, headers });
      ids[name] = res.headers.get('x-case-bridge-delivery') ?? '';
    };
    await post('accepted', testSecret('pagerduty'));
    await post('rejected', 'whsec-wrong');
  });
  afterAll(async () => {
    await bridge?.close();
  });

  it('lists the deliveries as a table, newest first, and filters by status', { timeout: 120_000 }, async () => {
    const [all, failed] = await Promise.all([deliveries(['--url', bridge.url]), deliveries(['--url', bridge.url, '--status', 'failed', '--source', 'pagerduty'])]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toBe(`2 deliveries in the local bridge ${bridge.url}`);
    expect(lines[1]).toMatch(/^RECEIVED \(UTC\)\s+DELIVERY\s+SOURCE\s+STATUS\s+HTTP\s+IDENTITY\s+TRACE$/);
    expect(lines[2]).toContain(ids['rejected']);
    expect(lines[2]).toMatch(/pagerduty\s+rejected\s+401/);
    expect(lines[3]).toContain(ids['accepted']);
    expect(lines[3]).toMatch(/pagerduty\s+dry_run\s+202/);
    expect(failed.stdout).toContain(ids['rejected']);
    expect(failed.stdout).not.toContain(ids['accepted']);
  });

  it('prints one whole trace, by the bridge\'s delivery id or the sender\'s', { timeout: 120_000 }, async () => {
    const [mine, senders, missing] = await Promise.all([
      deliveries(['--url', bridge.url, ids['accepted']!]),
      deliveries(['--url', bridge.url, (JSON.parse(fixture('pagerduty/incident.triggered.headers.json')) as Record<string, string>)['X-Webhook-Id']!, '--json']),
      deliveries(['--url', bridge.url, 'd000000000000000000']),
    ]);
    expect(mine.code).toBe(0);
    expect(mine.stdout).toMatch(new RegExp(`^delivery    ${ids['accepted']}\\nsource      pagerduty, sender's delivery id `));
    expect(mine.stdout).toMatch(/\n {2}rule {6}incident\n {2}decision  dry_run\n/);
    expect(mine.stdout).toContain('verified    yes');
    expect((JSON.parse(senders.stdout) as DeliveryRecord).id).toBe(ids['rejected']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`deliveries: no delivery d000000000000000000 in the local bridge ${bridge.url}\n`);
  });
});

describe('npm run deliveries -- --stack (deployed)', () => {
  let dynamo: LocalDynamo;
  let cloudformation: Server;
  let cfnUrl = '';
  const requests: string[] = [];
  const record: DeliveryRecord = {
    v: 1,
    id: newDeliveryId(Date.now() - 60_000),
    source: 'sentry',
    receivedAt: Date.now() - 60_000,
    answer: { status: 202, code: 'queued' },
    status: 'dead_lettered',
    verified: true,
    eventType: 'issue.created',
    identities: ['issue/42'],
    events: [{ type: 'issue.created', identity: 'issue/42', signal: 'firing', rule: 'new issue', outcome: 'queued', reason: 'Datadog answered 503', actions: [{ kind: 'create', outcome: 'queued', retryInSeconds: 4, at: Date.now() - 59_000 }] }],
    followUps: [{ kind: 'create', outcome: 'dead_lettered', reason: 'Datadog answered 400: project not found', at: Date.now() - 30_000, later: true }],
    timings: { totalMs: 30 },
    updatedAt: Date.now() - 30_000,
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    const journal = await localJournal(dynamo.client, 'CaseBridge-JournalTable-X1');
    await journal.update(record.id, () => record, { expectNew: true });
    // CloudFormation's query protocol: DescribeStacks answered in XML, as AWS does.
    cloudformation = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push(body);
        const name = new URLSearchParams(body).get('StackName');
        if (name !== 'CaseBridge' && name !== 'Old') {
          res.writeHead(400, { 'content-type': 'text/xml' }).end(`<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
          return;
        }
        const outputs = name === 'CaseBridge' ? '<Outputs><member><OutputKey>LedgerTableName</OutputKey><OutputValue>ledger</OutputValue></member><member><OutputKey>JournalTableName</OutputKey><OutputValue>CaseBridge-JournalTable-X1</OutputValue></member></Outputs>' : '<Outputs></Outputs>';
        res.writeHead(200, { 'content-type': 'text/xml' }).end(
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId><CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>${outputs}</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => cloudformation.listen(0, '127.0.0.1', () => resolve()));
    cfnUrl = `http://127.0.0.1:${(cloudformation.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => cloudformation?.close(() => resolve()));
    await dynamo?.close();
  });

  const aws = () => ({ AWS_ENDPOINT_URL_CLOUDFORMATION: cfnUrl, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });

  it('finds the journal table by the stack\'s outputs and lists and traces its deliveries', { timeout: 120_000 }, async () => {
    const [list, trace, noOutput, noStack] = await Promise.all([
      deliveries(['--stack', 'CaseBridge', '--status', 'failed', '--since', '2h'], aws()),
      deliveries(['--stack', 'CaseBridge', record.id], aws()),
      deliveries(['--stack', 'Old'], aws()),
      deliveries(['--stack', 'Nope'], aws()),
    ]);
    expect(list.stderr).toBe('');
    expect(list.stdout).toMatch(/^1 delivery in stack CaseBridge \(table CaseBridge-JournalTable-X1\)\n/);
    expect(list.stdout).toMatch(new RegExp(`${record.id}\\s+sentry\\s+dead_lettered\\s+202\\s+issue/42`));
    expect(trace.stdout).toContain('later       ');
    expect(trace.stdout).toMatch(/create dead-lettered \(Datadog answered 400: project not found\)/);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toBe('deliveries: stack Old has no JournalTableName output: deploy this version of case-bridge first\n');
    expect(noStack.stderr).toMatch(/^deliveries: Stack with id Nope does not exist/);
    expect(requests.every((b) => b.includes('Action=DescribeStacks'))).toBe(true);
  });
});

describe('npm run deliveries --help', () => {
  it('prints the usage and exits 0; a bad option exits 2 with it', { timeout: 120_000 }, async () => {
    const [help, bad] = await Promise.all([deliveries(['--help']), deliveries(['--statuss', 'failed'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run deliveries \[-- --source S\] \[--since 2h\]/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^deliveries: Unknown option '--statuss'/);
  });
});

describe('--since', () => {
  it('takes durations and times', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(parseSince('2h', now)).toBe(now - 7_200_000);
    expect(parseSince('30m', now)).toBe(now - 1_800_000);
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseSince('2026-12-04T10:00:00Z', now)).toBe(Date.parse('2026-12-04T10:00:00Z'));
    expect(() => parseSince('yesterday', now)).toThrow(/--since "yesterday" is neither a duration/);
  });
});

describe('npm run deliveries against something that is not the bridge', () => {
  it('a /local/deliveries answer that is no list of deliveries is a clear error, not a crash', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ deliveries: { not: 'a list' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(localReader(url).list({ since: 0 })).rejects.toThrow(/not a list of deliveries/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
