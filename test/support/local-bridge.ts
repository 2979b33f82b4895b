import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startLocalBridge, type LocalBridge, type LocalBridgeOptions } from '../../lambda/local/bridge.js';
import { signRequest } from '../../lambda/local/sign.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { createLogger } from '../../lambda/shared/log.js';
import { SOURCE_NAMES, SOURCES, type SourceName } from '../../lambda/sources/index.js';

/** The test secret of `source`, in the source's format (from the registry). */
export function testSecret(source: SourceName): string {
  return SOURCES[source].exampleSecret(`test-${source}-secret`);
}

/** The bridge secret of the tests: every source's test secret under its default key (from the registry). */
export const TEST_SECRETS: Readonly<Record<string, string>> & { readonly GITHUB_WEBHOOK_SECRET: string } = (() => {
  const bag: Record<string, string> = Object.fromEntries(SOURCE_NAMES.map((source) => [SOURCES[source].defaultSecretKey, testSecret(source)]));
  const github = bag['GITHUB_WEBHOOK_SECRET'];
  if (github === undefined) throw new Error('the github source no longer reads GITHUB_WEBHOOK_SECRET');
  return { ...bag, GITHUB_WEBHOOK_SECRET: github };
})();

export interface TestBridge extends LocalBridge {
  /** Every log line the bridge wrote. */
  readonly logs: string[];
}

/**
 * Starts the real local bridge on 127.0.0.1:<random port> with a secrets file written for the test; with `rules`, it
 * reads the presets (config/rules.yaml) as `rules` edits them, from a file written for the test.
 */
export async function startTestBridge(options: {
  secrets?: Record<string, string>;
  env?: Record<string, string>;
  rules?: ((file: Record<string, unknown>) => void) | undefined;
  overrides?: Omit<LocalBridgeOptions, 'env' | 'logger'>;
} = {}): Promise<TestBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'case-bridge-'));
  const secretsFile = join(dir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify(options.secrets ?? TEST_SECRETS));
  const rules: Record<string, string> = {};
  if (options.rules !== undefined) {
    const file = parse(readFileSync('config/rules.yaml', 'utf8')) as Record<string, unknown>;
    options.rules(file);
    rules['CASE_BRIDGE_RULES'] = join(dir, 'rules.yaml');
    writeFileSync(rules['CASE_BRIDGE_RULES'], stringify(file));
  }
  const logs: string[] = [];
  const env = parseEnv({ PORT: '0', CASE_BRIDGE_SECRETS_FILE: secretsFile, LOG_LEVEL: 'debug', ...options.env, ...rules });
  const bridge = await startLocalBridge({ env, logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }), ...options.overrides });
  return Object.assign(bridge, { logs });
}

/** Posts `body` to the bridge's `/webhooks/{source}` as the source's sender does: with `headers`, JSON content type, signed with the source's test secret. */
export function postSigned(baseUrl: string, source: SourceName, body: string, headers: Record<string, string> = {}): Promise<Response> {
  const signed = signRequest({ source, secret: testSecret(source), body, headers: { 'Content-Type': 'application/json', ...headers } });
  return fetch(`${baseUrl}/webhooks/${source}`, { method: 'POST', body, headers: signed });
}

/** Posts a GitHub `issues` webhook signed as GitHub does (sha256= HMAC of the raw body). */
export function postGithubIssue(baseUrl: string, options: { delivery: string; body: string; secret?: string }): Promise<Response> {
  const secret = options.secret ?? TEST_SECRETS.GITHUB_WEBHOOK_SECRET;
  return fetch(`${baseUrl}/webhooks/github`, {
    method: 'POST',
    body: options.body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': options.delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(options.body).digest('hex')}`,
    },
  });
}
