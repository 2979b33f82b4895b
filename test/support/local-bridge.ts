import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBridge, type LocalBridge, type LocalBridgeOptions } from '../../lambda/local/bridge.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { createLogger } from '../../lambda/shared/log.js';

export const TEST_SECRETS = {
  GITHUB_WEBHOOK_SECRET: 'test-github-secret',
  PAGERDUTY_WEBHOOK_SECRET: 'test-pagerduty-secret',
  SENTRY_CLIENT_SECRET: 'test-sentry-secret',
  GRAFANA_WEBHOOK_SECRET: 'test-grafana-secret',
  STANDARD_WEBHOOKS_SECRET: 'whsec_dGVzdC1zdGFuZGFyZC13ZWJob29rcy1rZXk=',
  ALERTMANAGER_BEARER_TOKEN: 'test-alertmanager-token',
  OPSGENIE_BEARER_TOKEN: 'test-opsgenie-token',
  GENERIC_WEBHOOK_SECRET: 'test-generic-secret',
} as const;

export interface TestBridge extends LocalBridge {
  /** Every log line the bridge wrote. */
  readonly logs: string[];
}

/** Starts the real local bridge on 127.0.0.1:<random port> with a secrets file written for the test. */
export async function startTestBridge(options: {
  secrets?: Record<string, string>;
  env?: Record<string, string>;
  overrides?: Omit<LocalBridgeOptions, 'env' | 'logger'>;
} = {}): Promise<TestBridge> {
  const dir = mkdtempSync(join(tmpdir(), 'case-bridge-'));
  const secretsFile = join(dir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify(options.secrets ?? TEST_SECRETS));
  const logs: string[] = [];
  const env = parseEnv({ PORT: '0', CASE_BRIDGE_SECRETS_FILE: secretsFile, LOG_LEVEL: 'debug', ...options.env });
  const bridge = await startLocalBridge({ env, logger: createLogger({ level: 'debug', write: (l) => logs.push(l) }), ...options.overrides });
  return Object.assign(bridge, { logs });
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
