import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createIngestHandler, SECRET_NOT_CONFIGURED } from '../../lambda/ingest/handler.js';
import { startLocalBridge } from '../../lambda/local/bridge.js';
import { toSqsEvent } from '../../lambda/local/retry-consumer.js';
import { readSample } from '../../lambda/local/samples.js';
import { signRequest } from '../../lambda/local/sign.js';
import { loadRulesFile, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { createLogger, redact } from '../../lambda/shared/log.js';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import { createSecretsProvider, locateJsonFault } from '../../lambda/shared/secrets.js';
import { encodeQueuedMessage, QUEUED_MESSAGE_VERSION } from '../../lambda/delivery/queue.js';
import { pendingCase } from '../support/fauxqs.js';
import { fakeDatadog, webhookEvent } from '../support/fakes.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';

// A secret that fails to parse must be reported by position only: no log line, answer or dead-letter
// reason may hold 8 or more consecutive characters of any value in it (V8's SyntaxError quotes the text).

const VALUES = {
  GITHUB_WEBHOOK_SECRET: 'ghS3cr3t-Qx7vLmR2pW9tNk4ZbYc8',
  DD_API_KEY: 'ddApiK3y0a1b2c3d4e5f6a7b8c9d0e1f2',
  DD_APP_KEY: 'ddAppK3y9f8e7d6c5b4a39f8e7d6c5b4a3f2e1d0',
} as const;

/** Files that are almost the secret: each breaks JSON in a different place. */
const BROKEN: Record<string, string> = {
  'unquoted value': `{"GITHUB_WEBHOOK_SECRET": ${VALUES.GITHUB_WEBHOOK_SECRET}, "DD_API_KEY": "${VALUES.DD_API_KEY}", "DD_APP_KEY": "${VALUES.DD_APP_KEY}"}`,
  'missing comma': `{\n  "GITHUB_WEBHOOK_SECRET": "${VALUES.GITHUB_WEBHOOK_SECRET}"\n  "DD_API_KEY": "${VALUES.DD_API_KEY}",\n  "DD_APP_KEY": "${VALUES.DD_APP_KEY}"\n}`,
  'single quotes': `{'GITHUB_WEBHOOK_SECRET': '${VALUES.GITHUB_WEBHOOK_SECRET}', 'DD_API_KEY': '${VALUES.DD_API_KEY}', 'DD_APP_KEY': '${VALUES.DD_APP_KEY}'}`,
  'unterminated string': `{"DD_API_KEY": "${VALUES.DD_API_KEY}", "DD_APP_KEY": "${VALUES.DD_APP_KEY}", "GITHUB_WEBHOOK_SECRET": "${VALUES.GITHUB_WEBHOOK_SECRET}`,
  'bad escape': `{"GITHUB_WEBHOOK_SECRET": "${VALUES.GITHUB_WEBHOOK_SECRET.slice(0, 10)}\\q${VALUES.GITHUB_WEBHOOK_SECRET.slice(10)}", "DD_API_KEY": "${VALUES.DD_API_KEY}", "DD_APP_KEY": "${VALUES.DD_APP_KEY}"}`,
  'value after the object': `{"DD_API_KEY": "${VALUES.DD_API_KEY}", "DD_APP_KEY": "${VALUES.DD_APP_KEY}"} "${VALUES.GITHUB_WEBHOOK_SECRET}"`,
  'shell assignment': `GITHUB_WEBHOOK_SECRET=${VALUES.GITHUB_WEBHOOK_SECRET}\nDD_API_KEY=${VALUES.DD_API_KEY}\nDD_APP_KEY=${VALUES.DD_APP_KEY}\n`,
};

const GOOD = JSON.stringify(VALUES);
const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const rules = loadRulesFile(PRESET_RULES_FILE);

/** Every 8-character window of every secret value found in `texts`. */
function leaks(texts: readonly string[]): string[] {
  const found = new Set<string>();
  for (const value of Object.values(VALUES)) {
    for (let i = 0; i + 8 <= value.length; i += 1) {
      const window = value.slice(i, i + 8);
      if (texts.some((t) => t.includes(window))) found.add(window);
    }
  }
  return [...found];
}

/** The whole error as a log line would show it (message and causes), and as `npm start` prints it. */
function shown(error: unknown): string[] {
  return [JSON.stringify(redact(error)), String(error), error instanceof Error ? error.message : ''];
}

function githubEvent(): APIGatewayProxyEventV2 {
  const sample = readSample('github', 'issues.opened');
  const headers = signRequest({ source: 'github', secret: VALUES.GITHUB_WEBHOOK_SECRET, body: Buffer.from(sample.body), headers: { ...sample.headers, 'X-GitHub-Delivery': randomUUID() } });
  return webhookEvent('github', sample.body, headers);
}

describe('a secret that is not JSON', () => {
  it('each broken file really is broken, and the first fault is located', async () => {
    for (const [name, text] of Object.entries(BROKEN)) {
      expect(() => JSON.parse(text), name).toThrow(SyntaxError);
      expect(await locateJsonFault(text), name).toMatchObject({ line: expect.any(Number), column: expect.any(Number), offset: expect.any(Number) });
    }
    // V8's own message quotes the text: the reason the bridge never shows it.
    let v8Message = '';
    try {
      JSON.parse(BROKEN['unquoted value'] ?? '');
    } catch (error) {
      v8Message = (error as Error).message;
    }
    expect(leaks([v8Message])).not.toEqual([]);
  });

  it.each(Object.keys(BROKEN))('npm start with a %s secrets file: the error names line and column, and nothing of any value', async (name) => {
    const text = BROKEN[name] ?? '';
    const fault = await locateJsonFault(text);
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-secret-'));
    const file = join(dir, 'secrets.json');
    writeFileSync(file, text);
    const logs: string[] = [];
    const error = await startLocalBridge({ env: parseEnv({ PORT: '0', CASE_BRIDGE_SECRETS_FILE: file }), logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }) }).then(
      async (bridge) => {
        await bridge.close();
        return undefined;
      },
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(`${file} is not JSON at line ${fault?.line}, column ${fault?.column} (offset ${fault?.offset}) (expected a flat key/value object)`);
    expect(leaks([...logs, ...shown(error)])).toEqual([]);
  });

  it('in Lambda (Secrets Manager text): no log line or answer of the ingest or retry function holds 8 characters of a value', async () => {
    for (const [name, text] of Object.entries(BROKEN)) {
      const logs: string[] = [];
      const logger = createLogger({ level: 'debug', write: (l) => logs.push(l) });
      const answers: string[] = [];
      // No cached value: the webhook is refused (500, so that the sender retries).
      const ingest = createIngestHandler({
        rules,
        secrets: createSecretsProvider({ load: async () => text, origin: 'secret case-bridge', onError: (error) => logger.error('secret reload failed; keeping the cached value', { error }) }),
        datadog: fakeDatadog({ createCase: async () => ({ id: randomUUID(), key: 'CASE-1', statusName: 'Open' }) }),
        queue: new MemoryActionQueue(),
        ledger: new MemoryLedger(),
        logger,
        maxBodyBytes: 1024 * 1024,
      }) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
      const refused = await ingest(githubEvent(), context);
      answers.push(refused.body ?? '');
      expect(refused.statusCode, name).toBe(500);
      // The answer is generic (anyone may read it); the position is in the log.
      expect(JSON.parse(refused.body ?? '{}'), name).toEqual({ error: 'not_configured', message: SECRET_NOT_CONFIGURED });

      // A rotation to a broken value while a good one is cached: logged, the cached value kept.
      let reads = 0;
      const rotated = createSecretsProvider({ load: async () => (reads++ === 0 ? GOOD : text), origin: 'secret case-bridge', onError: (error) => logger.error('secret reload failed; keeping the cached value', { error }) });
      await rotated.get();
      expect(await rotated.refresh(), name).toEqual(VALUES);

      // The retry function with the broken secret: the record fails (SQS delivers it again), nothing dead-lettered with a quote.
      const queue = new MemoryActionQueue();
      const retry = createRetryHandler({
        datadog: fakeDatadog({ createCase: async () => ({ id: randomUUID(), key: 'CASE-1', statusName: 'Open' }) }),
        secrets: createSecretsProvider({ load: async () => text, origin: 'secret case-bridge' }),
        queue,
        ledger: new MemoryLedger(),
        logger,
      });
      const body = encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action: pendingCase(1), reason: 'first try answered 503', enqueuedAt: Date.now() });
      const result: SQSBatchResponse = await retry(toSqsEvent([{ MessageId: 'm-1', ReceiptHandle: 'r-1', Body: body, Attributes: {} }], 'arn:aws:sqs:us-east-1:000000000000:case-bridge-retry'));
      answers.push(JSON.stringify(result));

      expect(logs.some((l) => l.includes('is not JSON at line')), name).toBe(true);
      expect(leaks([...logs, ...answers, ...queue.deadLetters.map((d) => d.reason), ...queue.retries.map((r) => r.reason)]), name).toEqual([]);
    }
  });
});
