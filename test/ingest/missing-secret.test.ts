import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileRules, validateRulesFile } from '../../lambda/mapping/compile-rules.js';
import { parseRulesText, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { DEFAULT_SECRET_KEYS, SOURCES } from '../../lambda/sources/index.js';
import { SOURCE_NAMES } from '../../lambda/sources/types.js';
import { postGithubIssue, startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';

// A source whose key is missing from the secret is named when the secret is first read: at
// `npm start`, and in the Lambda by one log line at the first webhook. Its webhooks are still
// answered 500 not_configured (senders retry), the other sources work.

const { GITHUB_WEBHOOK_SECRET: _github, SENTRY_CLIENT_SECRET: _sentry, ...WITHOUT_GITHUB_AND_SENTRY } = TEST_SECRETS;
const ISSUE = JSON.stringify({ action: 'opened', issue: { number: 1, title: 't', html_url: 'https://github.com/acme/shop/issues/1' }, repository: { id: 1, full_name: 'acme/shop' } });

describe('a source whose secret key is missing', () => {
  it.each(SOURCE_NAMES)('%s: the default key read without binding is the settings schema default', (name) => {
    expect(DEFAULT_SECRET_KEYS[name]).toBe(SOURCES[name].bind({}).settings.secret);
  });

  it('the Lambda reads each source key as its settings say, without binding them', () => {
    const file = validateRulesFile(parseRulesText(readFileSync(PRESET_RULES_FILE, 'utf8'), PRESET_RULES_FILE));
    const renamed = { ...file, sources: { ...file.sources, github: { ...file.sources.github!, settings: { secret: 'GH_HOOK' } } } };
    const lazy = compileRules(JSON.parse(JSON.stringify(renamed)), { lazy: true, validated: true });

    const keys = Object.fromEntries([...lazy.sources].map(([name, s]) => [name, s.secretKey]));
    const bound = Object.fromEntries([...lazy.sources].map(([name, s]) => [name, s.source.settings.secret]));

    expect(keys['github']).toBe('GH_HOOK');
    expect(keys).toEqual(bound);
  });

  it('is named at start, logged once at the first webhook, and its webhooks still answer 500 not_configured', async () => {
    const bridge = await startTestBridge({ secrets: WITHOUT_GITHUB_AND_SENTRY });
    try {
      expect(bridge.missingSecrets).toEqual([
        { source: 'github', key: 'GITHUB_WEBHOOK_SECRET' },
        { source: 'sentry', key: 'SENTRY_CLIENT_SECRET' },
      ]);

      const first = await postGithubIssue(bridge.url, { delivery: 'd-1', body: ISSUE });
      const second = await postGithubIssue(bridge.url, { delivery: 'd-2', body: ISSUE });

      expect(first.status).toBe(500);
      expect(await first.json()).toMatchObject({ error: 'not_configured', message: 'the bridge secret has no value for GITHUB_WEBHOOK_SECRET (needed by source github)' });
      expect(second.status).toBe(500);
      const warnings = bridge.logs.map((l) => JSON.parse(l) as { level: string; message: string; source?: string; key?: string }).filter((l) => l.level === 'warn' && l.key !== undefined);
      expect(warnings).toEqual([
        expect.objectContaining({ source: 'github', key: 'GITHUB_WEBHOOK_SECRET', message: 'source github has no secret: add GITHUB_WEBHOOK_SECRET to the bridge secret; until then its webhooks are answered 500 not_configured' }),
        expect.objectContaining({ source: 'sentry', key: 'SENTRY_CLIENT_SECRET' }),
      ]);
    } finally {
      await bridge.close();
    }
  });

  it('names nothing when every key, or its _PREVIOUS, is there', async () => {
    const { GITHUB_WEBHOOK_SECRET, ...rest } = TEST_SECRETS;
    const bridge = await startTestBridge({ secrets: { ...rest, GITHUB_WEBHOOK_SECRET_PREVIOUS: GITHUB_WEBHOOK_SECRET } });
    try {
      expect(bridge.missingSecrets).toEqual([]);
    } finally {
      await bridge.close();
    }
  });
});
