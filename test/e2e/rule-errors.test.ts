import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startLocalBridge } from '../../lambda/local/bridge.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { ConfigError } from '../../lambda/shared/errors.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { readRulesForBundle } from '../../lib/rules-asset.js';
import { postGithubIssue, startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';

// A rule whose expression calls a function JSONata does not have is refused wherever the rules are
// loaded (preview, npm start, cdk synth), naming the rule, the field, the expression and the function;
// an expression that fails at run time is logged with its rule and field, and nothing secret.

function rulesFile(title: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'rules.yaml');
  const yaml = [
    'version: 1',
    'defaults: { project: 11111111-1111-1111-1111-111111111111, type_id: 00000000-0000-0000-0000-000000000001 }',
    'sources:',
    '  github:',
    '    rules:',
    '      - name: issue opened',
    '        events: [issues.opened]',
    `        case: { title: ${JSON.stringify(title)}, priority: P4 }`,
  ].join('\n');
  writeFileSync(file, `${yaml}\n`);
  return file;
}

const UNKNOWN = rulesFile('[GitHub] {{ $nosuchfn(issue.title) }}');
const EXPECTED = 'sources.github.rules[0].case.title: {{ $nosuchfn(issue.title) }}: unknown function $nosuchfn at character 1: not a JSONata function';

describe('a call to an unknown JSONata function', () => {
  it('fails cdk synth (the rules asset) with the rule, the field, the expression and the function', () => {
    expect(() => readRulesForBundle(UNKNOWN)).toThrow(ConfigError);
    expect(() => readRulesForBundle(UNKNOWN)).toThrow(EXPECTED);
    expect(() => readRulesForBundle(UNKNOWN)).toThrow('(rule "issue opened")');
  });

  it('fails npm start', async () => {
    await expect(startLocalBridge({ env: parseEnv({ PORT: '0', CASE_BRIDGE_RULES: UNKNOWN }), logger: silentLogger })).rejects.toThrow(EXPECTED);
  });

  it('fails npm run preview, exit code 1', async () => {
    const run = promisify(execFile)('node_modules/.bin/tsx', ['lambda/local/preview.ts', 'github', 'test/fixtures/github/issues.opened.json'], { env: { ...process.env, CASE_BRIDGE_RULES: UNKNOWN } });

    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(EXPECTED) as unknown });
  });
});

describe('an expression that fails at run time', () => {
  it('answers 500 and logs the rule, the field and the expression, without secrets or stack', async () => {
    const bridge = await startTestBridge({ env: { CASE_BRIDGE_RULES: rulesFile('{{ $number(issue.title) }}') } });
    try {
      const body = JSON.stringify({ action: 'opened', issue: { number: 1, title: 'not a number', html_url: 'https://github.com/acme/shop/issues/1' }, repository: { id: 1, full_name: 'acme/shop' } });

      const res = await postGithubIssue(bridge.url, { delivery: 'rule-fails', body });

      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: 'not_configured', message: expect.stringContaining('sources.github.rules[0].case.title (rule "issue opened"): {{ $number(issue.title) }}: ') as unknown });
      const line = bridge.logs.map((l) => JSON.parse(l) as { message: string; error?: { message: string } }).find((l) => l.message === 'webhook not accepted: configuration error');
      expect(line?.error?.message).toMatch(/^sources\.github\.rules\[0\]\.case\.title \(rule "issue opened"\): \{\{ \$number\(issue\.title\) \}\}: Unable to cast value to a number: "not a number" \(D3030, at "number", character 8\)$/);
      const logs = bridge.logs.join('\n');
      expect(logs).not.toMatch(/\bat (?:async )?\S+ \(|node_modules/);
      for (const secret of Object.values(TEST_SECRETS)) expect(logs).not.toContain(secret);
    } finally {
      await bridge.close();
    }
  });
});
