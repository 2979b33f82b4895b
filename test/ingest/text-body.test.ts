import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { createIngestHandler } from '../../lambda/ingest/handler.js';
import { readSample } from '../../lambda/local/samples.js';
import { signRequest } from '../../lambda/local/sign.js';
import { loadRulesFile, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { fakeDatadog } from '../support/fakes.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';

// API Gateway (HTTP API, payload 2.0) hands an application/json body over as text
// (isBase64Encoded: false); the local bridge sends base64. Both must give the same answers.

const SECRET = 'text-body-test-secret';
const SECRETS = { GITHUB_WEBHOOK_SECRET: SECRET, DD_API_KEY: 'a'.repeat(32), DD_APP_KEY: 'b'.repeat(40) };
const rules = loadRulesFile(PRESET_RULES_FILE);
const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

/** `readSecret` answers the handler's secret reads (its argument: how many came before). */
function setup(maxBodyBytes = 1024 * 1024, readSecret: (previousReads: number) => Promise<typeof SECRETS> = async () => SECRETS) {
  const created: CaseCreateRequest[] = [];
  let secretReads = 0;
  const handler = createIngestHandler({
    rules,
    secrets: {
      get: () => readSecret(secretReads++),
      refresh: async () => SECRETS,
    },
    datadog: fakeDatadog({
      async createCase(request) {
        created.push(request);
        return { id: randomUUID(), key: `CASE-${created.length}`, statusName: 'Open' };
      },
    }),
    queue: new MemoryActionQueue(),
    ledger: new MemoryLedger(),
    logger: silentLogger,
    maxBodyBytes,
  }) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  return { handler, created, secretReads: () => secretReads };
}

/** The issues.opened sample with a non-ASCII title, signed over its UTF-8 bytes. */
function githubEvent(options: { base64: boolean; tamper?: boolean; title?: string; headerNamesAsSent?: boolean }): APIGatewayProxyEventV2 {
  const sample = readSample('github', 'issues.opened');
  const payload = JSON.parse(sample.body) as { issue: { title: string } };
  payload.issue.title = options.title ?? 'Überlast im Café 日本 🚨';
  const text = JSON.stringify(payload);
  const headers = signRequest({ source: 'github', secret: SECRET, body: Buffer.from(text, 'utf8'), headers: { ...sample.headers, 'X-GitHub-Delivery': randomUUID() } });
  const sent = options.tamper ? text.replace('Café', 'Cafe') : text;
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}',
    rawPath: '/webhooks/github',
    rawQueryString: '',
    headers: options.headerNamesAsSent ? headers : Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    pathParameters: { source: 'github' },
    requestContext: { requestId: randomUUID() } as APIGatewayProxyEventV2['requestContext'],
    body: options.base64 ? Buffer.from(sent, 'utf8').toString('base64') : sent,
    isBase64Encoded: options.base64,
  };
}

describe('a body API Gateway passes as text', () => {
  it('verifies the signature over its UTF-8 bytes and creates the case, as the base64 form does', async () => {
    const text = setup();
    const base64 = setup();
    const a = await text.handler(githubEvent({ base64: false }), context);
    const b = await base64.handler(githubEvent({ base64: true }), context);

    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(text.created[0]?.data.attributes.title).toContain('Überlast im Café 日本 🚨');
    expect(text.created[0]).toEqual(base64.created[0]);
  });

  it('reads header names in any case (HTTP API lower-cases them; a direct invocation may not)', async () => {
    const { handler, created } = setup();
    const event = githubEvent({ base64: false, headerNamesAsSent: true });
    expect(Object.keys(event.headers)).toContain('X-Hub-Signature-256');

    const res = await handler(event, context);

    expect(res.statusCode).toBe(201);
    expect(created).toHaveLength(1);
  });

  it('answers 401 to a text body changed after signing', async () => {
    const { handler, created } = setup();
    const res = await handler(githubEvent({ base64: false, tamper: true }), context);

    expect(res.statusCode).toBe(401);
    expect(created).toEqual([]);
  });

  it('answers 413 to a text body over the limit, in bytes (multi-byte characters count as bytes)', async () => {
    const small = setup(600);
    const tooLong = await small.handler(githubEvent({ base64: false }), context);
    expect(tooLong.statusCode).toBe(413);
    // Refused before the secret is read.
    expect(small.secretReads()).toBe(0);

    const sample = readSample('github', 'issues.opened');
    const size = Buffer.byteLength(JSON.stringify({ ...(JSON.parse(sample.body) as object) }), 'utf8');
    // Fewer UTF-16 units than the limit, more bytes: refused after encoding.
    const limit = size + 100;
    const tight = setup(limit);
    const multiByte = await tight.handler(githubEvent({ base64: false, title: '日'.repeat(60) }), context);
    expect(multiByte.statusCode).toBe(413);
    expect(JSON.parse(multiByte.body ?? '{}')).toMatchObject({ error: 'body_too_large' });
  });

  it('keeps concurrent requests apart: each is verified and parsed over its own bytes', async () => {
    // Text bodies are encoded into one shared buffer (utf8Bytes): the handler must not wait for
    // anything between encoding a body and its last use. Here the secret reads finish in reverse
    // order, so the requests interleave at that await.
    const { handler, created } = setup(1024 * 1024, (previousReads) => new Promise((resolve) => setTimeout(() => resolve(SECRETS), 5 * (5 - previousReads))));
    const titles = ['Überlast 1 🚨', 'a much longer second title, all ASCII', 'Café 3', '日本 4', 'fifth'];
    // Different issue numbers: five alerts, five cases.
    const events = titles.map((title, i) => {
      const event = githubEvent({ base64: false, title });
      const body = event.body!.replace('"number":', `"number":${i + 1}0`);
      const headers = signRequest({ source: 'github', secret: SECRET, body: Buffer.from(body, 'utf8'), headers: event.headers as Record<string, string> });
      return { ...event, body, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
    });

    const answers = await Promise.all(events.map((event) => handler(event, context)));

    expect(answers.map((a) => a.statusCode)).toEqual([201, 201, 201, 201, 201]);
    expect(created.map((r) => titles.find((t) => r.data.attributes.title.includes(t))).sort()).toEqual([...titles].sort());
  });
});
