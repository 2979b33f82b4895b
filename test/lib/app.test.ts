import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stackFromContext, synthErrorText } from '../../lib/app-context.js';
import { ConfigError } from '../../lambda/shared/errors.js';

const run = promisify(execFile);

/** bin/app.ts as `cdk synth -c key=value` runs it (the CLI hands the context over in CDK_CONTEXT_JSON). */
async function synth(context: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-app-'));
  try {
    const { stderr } = await run(join('node_modules', '.bin', 'tsx'), ['bin/app.ts'], { env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir }, timeout: 60_000 });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('bin/app.ts: configuration mistakes at synth', () => {
  it('prints each as one clean message (what, where, how to fix) with no stack trace, and exits 1', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    const badRules = join(dir, 'bad.yaml');
    writeFileSync(badRules, 'version: 1\nsources:\n  github:\n    rules:\n      - name: x\n        case: { title: t, priority: P7 }\n');
    // Schema-valid, refused when its expressions compile: a function JSONata does not have, and a syntax error.
    const badExpressions = join(dir, 'bad-expressions.yaml');
    writeFileSync(
      badExpressions,
      'version: 1\ndefaults: { project: 11111111-1111-1111-1111-111111111111, type_id: 00000000-0000-0000-0000-000000000001 }\nsources:\n  github:\n    rules:\n      - name: issue opened\n        case: { title: "{{ $nosuchfn(issue.title) }}", description: "{{ issue.body( }}" }\n',
    );
    const [missing, site, rules, number, expressions] = await Promise.all([
      synth({ rulesFile: 'not-yet-my-rules.yaml' }),
      synth({ datadogSite: 'nonsense' }),
      synth({ rulesFile: badRules }),
      synth({ maxConcurrency: 'two' }),
      synth({ rulesFile: badExpressions }),
    ]);

    expect(missing.stderr).toContain('case-bridge: the rules file not-yet-my-rules.yaml does not exist. Start from the presets: cp config/rules.yaml not-yet-my-rules.yaml');
    expect(site.stderr).toContain('datadogSite "nonsense" is not a Datadog site; use one of datadoghq.com,');
    expect(rules.stderr).toContain(`${badRules} is invalid:`);
    expect(rules.stderr).toContain('sources.github.rules[0].case.priority');
    expect(number.stderr).toContain('context maxConcurrency must be a number (got "two"): -c maxConcurrency=<number>');
    expect(expressions.stderr).toContain(`case-bridge: ${badExpressions} is invalid:`);
    expect(expressions.stderr).toContain('sources.github.rules[0].case.title: {{ $nosuchfn(issue.title) }}: unknown function $nosuchfn at character 1');
    expect(expressions.stderr).toContain('sources.github.rules[0].case.description: {{ issue.body( }}: ');
    for (const result of [missing, site, rules, number, expressions]) {
      expect(result.code).toBe(1);
      // One message: the only lines are ours (what and where, indented problems, how to fix), no stack.
      expect(result.stderr.match(/^case-bridge: /gm)).toHaveLength(1);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stderr).not.toMatch(/Error\b.*\n|node:internal|\.ts:\d+:\d+/);
      expect(result.stderr).toMatch(/Nothing was synthesized\. The context keys .*\n$/);
    }
  });
});

describe('stackFromContext', () => {
  const context = (values: Record<string, unknown>) => (key: string) => values[key];

  it('turns -c values into stack props, numbers from text', () => {
    const { stackName, props } = stackFromContext(context({ stackName: 'Staging', rulesFile: 'mine.yaml', apiRateLimit: '10', maxConcurrency: 3, alarmEmail: 'ops@example.com' }), 'presets.yaml');
    expect(stackName).toBe('Staging');
    expect(props).toMatchObject({ rulesFile: 'mine.yaml', throttle: { rateLimit: 10 }, maxConcurrency: 3, alarmEmail: 'ops@example.com' });
    expect(props).not.toHaveProperty('datadogSite');
  });

  it('defaults to the presets and the CaseBridge stack', () => {
    expect(stackFromContext(context({}), 'presets.yaml')).toMatchObject({ stackName: 'CaseBridge', props: { rulesFile: 'presets.yaml' } });
  });

  it('collects every bad value into one ConfigError', () => {
    const attempt = () => stackFromContext(context({ maxReceiveCount: 'five', apiBurstLimit: 'lots' }), 'presets.yaml');
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/maxReceiveCount must be a number[\s\S]*apiBurstLimit must be a number|apiBurstLimit must be a number[\s\S]*maxReceiveCount must be a number/);
  });

  it('leaves an error that is not a configuration error to its stack trace', () => {
    expect(synthErrorText(new TypeError('bug'))).toBeUndefined();
    expect(synthErrorText(new ConfigError('bad'))).toMatch(/^case-bridge: bad\n/);
  });
});
