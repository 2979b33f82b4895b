import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createIngestHandler } from '../../lambda/ingest/handler.js';
import { MemoryArchive, MemoryJournal } from '../../lambda/journal/memory.js';
import { compileRules, type CompiledRules, type CompiledSource } from '../../lambda/mapping/compile-rules.js';
import { parseRulesText } from '../../lambda/mapping/load-rules-file.js';
import { SourceUnavailableError } from '../../lambda/shared/errors.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { signRequest } from '../../lambda/local/sign.js';
import { fakeDatadog, webhookEvent } from '../support/fakes.js';

// Issue 15: in the Lambda bundle a source's code is a chunk its first webhook loads. The first
// webhooks of a cold container (several at once) are verified on their raw bytes all the same, and a
// load that fails answers 5xx without the delivery being taken as seen: the sender's retry is handled.

const SECRET = 'github-secret-0123456789';
const compiled = compileRules(
  parseRulesText(
    `version: 1
defaults: { project: 00000000-0000-0000-0000-000000000000, type_id: 00000000-0000-0000-0000-000000000001 }
sources:
  github:
    rules:
      - name: failed check
        events: [check_run.completed]
        case: { title: "{{ check_run.name }}", description: "{{ check_run.name }}" }
`,
    'test rules',
  ),
);
const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const body = readFileSync(new URL('../fixtures/github/check_run.completed.failure.json', import.meta.url), 'utf8');
const fixtureHeaders = JSON.parse(readFileSync(new URL('../fixtures/github/check_run.completed.failure.headers.json', import.meta.url), 'utf8')) as Record<string, string>;

/** The github source whose code loads as `load` says (a chunk still loading, or one that fails). */
function withLoad(load: () => Promise<void>): CompiledRules {
  const github = compiled.sources.get('github')!;
  const source: CompiledSource = {
    ...github,
    get source() {
      return github.source;
    },
    load: async () => {
      await load();
      return github.source;
    },
  };
  return { ...compiled, sources: new Map([['github', source]]) };
}

function setup(rules: CompiledRules) {
  const created: string[] = [];
  const datadog = fakeDatadog({
    createCase: async () => {
      const id = randomUUID();
      created.push(id);
      return { id, key: 'CASE-1', statusName: 'Open' };
    },
  });
  const secrets = { GITHUB_WEBHOOK_SECRET: SECRET, DD_API_KEY: 'a'.repeat(32), DD_APP_KEY: 'b'.repeat(40) };
  const journal = new MemoryJournal();
  const handler = createIngestHandler({
    rules,
    secrets: { get: async () => secrets, refresh: async () => secrets },
    datadog,
    queue: new MemoryActionQueue(),
    ledger: new MemoryLedger(),
    logger: silentLogger,
    maxBodyBytes: 1024 * 1024,
    journal,
    archive: new MemoryArchive(),
    archiveRejected: true,
  }) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  return { handler, created, journal };
}

function request(secret: string, delivery = randomUUID()): APIGatewayProxyEventV2 {
  return webhookEvent('github', body, signRequest({ source: 'github', secret, body, headers: { ...fixtureHeaders, 'X-GitHub-Delivery': delivery } }));
}

describe("a source's first webhooks while its code is still loading", () => {
  it('verifies each on its own bytes: a forged one sent at the same time as a signed one is refused, the signed one makes its case', async () => {
    let loaded!: () => void;
    const pending = new Promise<void>((resolve) => (loaded = resolve));
    const { handler, created } = setup(withLoad(() => pending));
    const forged = handler(request('not-the-secret'), context);
    const signed = handler(request(SECRET), context);
    const tampered = request(SECRET);
    tampered.body = body.replace('"completed"', '"queued"');
    const third = handler(tampered, context);
    loaded();
    const [a, b, c] = await Promise.all([forged, signed, third]);
    expect(a.statusCode).toBe(401);
    expect(b.statusCode).toBe(201);
    expect(c.statusCode).toBe(401);
    expect(created).toHaveLength(1);
  });
});

describe("a source whose code could not be loaded", () => {
  it("answers 503, and the sender's retry of the same delivery (the code loading then) makes its case once", async () => {
    let fail = true;
    const { handler, created, journal } = setup(
      withLoad(async () => {
        if (fail) throw new SourceUnavailableError('the code of source github could not be loaded');
      }),
    );
    const delivery = randomUUID();
    const first = await handler(request(SECRET, delivery), context);
    expect(first.statusCode).toBe(503);
    expect(JSON.parse(String(first.body))).toMatchObject({ error: 'source_unavailable' });
    expect(created).toHaveLength(0);
    // Journaled as an error of a delivery not verified: never replayed, never taken as done.
    const record = await journal.get(String(first.headers?.['x-case-bridge-delivery']));
    expect(record).toMatchObject({ status: 'error', verified: false, answer: { status: 503 } });
    fail = false;
    const retried = await handler(request(SECRET, delivery), context);
    expect(retried.statusCode).toBe(201);
    const again = await handler(request(SECRET, delivery), context);
    expect(again.statusCode).toBe(200);
    expect(created).toHaveLength(1);
  });
});
