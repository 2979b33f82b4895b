import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createIngestHandler } from '../../lambda/ingest/handler.js';
import { MemoryArchive, MemoryJournal } from '../../lambda/journal/memory.js';
import { compileRules, type CompiledRules } from '../../lambda/mapping/compile-rules.js';
import { SourceUnavailableError } from '../../lambda/shared/errors.js';
import { parseRulesText } from '../../lambda/mapping/load-rules-file.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { fakeDatadog } from '../support/fakes.js';

// Issue 16: "Credentials are never stored". A source whose static credential travels in a header of
// the operator's choosing (Opsgenie's `header`, a generic source's) is archived without that header,
// whether the delivery was accepted or refused (CASE_BRIDGE_ARCHIVE_REJECTED).

const TOKEN = 'opsgenie-token-0123456789';
const rules = compileRules(
  parseRulesText(
    `version: 1
defaults: { project: 00000000-0000-0000-0000-000000000000, type_id: 00000000-0000-0000-0000-000000000001 }
sources:
  opsgenie:
    settings: { secret: OPSGENIE_BEARER_TOKEN, header: X-Bridge-Key, prefix: "" }
    rules:
      - name: alert created
        events: [Create]
        case: { title: "{{ alert.message }}", description: "{{ alert.message }}" }
  generic:
    settings: { secret: GENERIC_WEBHOOK_SECRET, scheme: bearer, header: X-Uptime-Signature, event_type: type, identity: id }
    rules:
      - name: any
        signals: [firing]
        case: { title: "{{ type }}", description: "{{ type }}" }
`,
    'test rules',
  ),
);
const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const body = readFileSync(new URL('../fixtures/opsgenie/Create.json', import.meta.url), 'utf8');

function setup(withRules: CompiledRules = rules) {
  const archive = new MemoryArchive();
  const journal = new MemoryJournal();
  const secrets = { OPSGENIE_BEARER_TOKEN: TOKEN, GENERIC_WEBHOOK_SECRET: TOKEN, DD_API_KEY: 'a'.repeat(32), DD_APP_KEY: 'b'.repeat(40) };
  const handler = createIngestHandler({
    rules: withRules,
    secrets: { get: async () => secrets, refresh: async () => secrets },
    datadog: fakeDatadog({ createCase: async () => ({ id: randomUUID(), key: 'CASE-1', statusName: 'Open' }) }),
    queue: new MemoryActionQueue(),
    ledger: new MemoryLedger(),
    logger: silentLogger,
    maxBodyBytes: 1024 * 1024,
    journal,
    archive,
    archiveRejected: true,
  }) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  return { handler, archive };
}

function request(headers: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}',
    rawPath: '/webhooks/opsgenie',
    rawQueryString: '',
    headers,
    pathParameters: { source: 'opsgenie' },
    requestContext: { requestId: randomUUID() } as APIGatewayProxyEventV2['requestContext'],
    body,
    isBase64Encoded: false,
  };
}

describe('the raw archive never stores a static credential, whatever its header is called', () => {
  it.each([
    ['accepted', { 'content-type': 'application/json', 'x-bridge-key': TOKEN }, 201],
    ['refused for its content type, with the right credential', { 'content-type': 'text/plain', 'x-bridge-key': TOKEN }, 415],
    ['refused for a wrong credential', { 'content-type': 'application/json', 'x-bridge-key': `${TOKEN}-old` }, 401],
  ] as const)('%s', async (_what, headers, status) => {
    const { handler, archive } = setup();
    const res = await handler(request({ ...headers }), context);
    expect(res.statusCode).toBe(status);
    const stored = [...archive.objects.values()];
    expect(stored).toHaveLength(1);
    expect(Buffer.from(stored[0]!.body).toString('utf8')).toBe(body);
    expect(stored[0]!.headers['content-type']).toBe(headers['content-type']);
    expect(stored[0]!.headers['x-bridge-key']).toBeUndefined();
    expect(JSON.stringify(stored[0]!.headers)).not.toContain(TOKEN.slice(0, 8));
  });
});

describe('a bearer credential in a header whose name says signature (generic, scheme bearer)', () => {
  it('is a credential all the same: not archived', async () => {
    const { handler, archive } = setup();
    const body = readFileSync(new URL('../fixtures/generic/check.down.json', import.meta.url), 'utf8');
    const event = { ...request({ 'content-type': 'application/json', 'x-uptime-signature': `Bearer ${TOKEN}` }), rawPath: '/webhooks/generic', pathParameters: { source: 'generic' }, body };
    expect((await handler(event, context)).statusCode).toBe(201);
    const stored = [...archive.objects.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.headers['x-uptime-signature']).toBeUndefined();
  });
});

describe('a source whose code could not be loaded (a Lambda chunk missing)', () => {
  it('is answered 503 source_unavailable, and its refused delivery archived without any header: which of them hold its credential is unknown', async () => {
    const opsgenie = rules.sources.get('opsgenie')!;
    const unloadable: CompiledRules = { sources: new Map([['opsgenie', { ...opsgenie, load: () => Promise.reject(new SourceUnavailableError('the code of source opsgenie could not be loaded')) }]]) };
    const { handler, archive } = setup(unloadable);
    const res = await handler(request({ 'content-type': 'application/json', 'x-bridge-key': TOKEN }), context);
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(String(res.body))).toMatchObject({ error: 'source_unavailable' });
    const stored = [...archive.objects.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.rejected).toBe(true);
    expect(stored[0]!.headers).toEqual({});
  });
});
