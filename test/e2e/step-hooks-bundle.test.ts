import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { DURABLE_STEPS, STEP_HOOKS, step, type DurableStep, type StepDeps } from '../../lambda/delivery/steps.js';
import { lambdaBuildOptions } from '../../lib/lambda-bundle.js';
import { readRulesForBundle } from '../../lib/rules-asset.js';

// The crash-point hooks are test-only: the Lambda bundles, built with the stack's own options, must hold no
// step name and no call of a hook. The probe shows the mechanism can fail: the same calls built with the hooks
// on keep every name.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = join(ROOT, 'test/support/step-hooks-entry.ts');
const out = mkdtempSync(join(tmpdir(), 'case-bridge-steps-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every .mjs file esbuild wrote (the entry and its chunks), concatenated. */
function bundleText(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

const namesIn = (text: string): DurableStep[] => DURABLE_STEPS.filter((name) => text.includes(`"${name}"`) || text.includes(`'${name}'`) || text.includes(`\`${name}\``));
/** The message inside step(): present exactly when some call of step() survived the build. */
const HOOK_CALL = /case-bridge step hook/;

interface Probe {
  runAllSteps(deps: StepDeps): Promise<string>;
}

async function buildProbe(dir: string, hooks: 'lambda' | 'on'): Promise<string> {
  const options = lambdaBuildOptions(PROBE, dir);
  const define = hooks === 'on' ? { ...options.define, __CASE_BRIDGE_STEP_HOOKS__: 'true' } : options.define;
  await build({ ...options, define, sourcemap: false, logLevel: 'silent' });
  return bundleText(dir);
}

describe('step hooks (lambda/delivery/steps.ts)', () => {
  it('step() reports to the deps hook outside a Lambda bundle, and does nothing without one', async () => {
    const seen: string[] = [];

    expect(STEP_HOOKS).toBe(true);
    await step({ steps: (name, at) => void seen.push(`${name} ${at.identity}`) }, 'transition.written', { source: 'github', identity: 'repo/1:issue/7' });
    await step({}, 'datadog.acted', { source: 'github', identity: 'repo/1:issue/7' });

    expect(seen).toEqual(['transition.written repo/1:issue/7']);
  });

  it('the probe calls every durable step', () => {
    const source = readFileSync(PROBE, 'utf8');

    expect(DURABLE_STEPS.filter((name) => !source.includes(`step(deps, '${name}', at)`))).toEqual([]);
  });

  it('built with the hooks on, the probe keeps every step name and reports each step', async () => {
    const dir = join(out, 'probe-on');
    const text = await buildProbe(dir, 'on');
    const seen: string[] = [];

    expect(namesIn(text)).toEqual([...DURABLE_STEPS]);
    expect(text).toMatch(HOOK_CALL);
    const probe = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as Probe;
    await probe.runAllSteps({ steps: (name) => void seen.push(name) });
    expect(seen).toEqual([...DURABLE_STEPS]);
  });

  it('built with the Lambda options, the probe holds no step name and no hook call, and reports nothing', async () => {
    const dir = join(out, 'probe-lambda');
    const text = await buildProbe(dir, 'lambda');
    const seen: string[] = [];

    expect(namesIn(text)).toEqual([]);
    expect(text).not.toMatch(HOOK_CALL);
    const probe = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as Probe;
    expect(await probe.runAllSteps({ steps: (name) => void seen.push(name) })).toBe('done');
    expect(seen).toEqual([]);
  });

  it.each([
    ['ingest', 'lambda/ingest/index.ts'],
    ['retry', 'lambda/retry/index.ts'],
  ])('the %s function bundle holds no step name and no hook call', async (name, entry) => {
    const rules = readRulesForBundle(join(ROOT, 'config/rules.yaml'));
    const dir = join(out, name);
    await build({ ...lambdaBuildOptions(join(ROOT, entry), dir, { __CASE_BRIDGE_RULES__: rules.json, __CASE_BRIDGE_EXPRESSIONS__: rules.expressionsJson }), sourcemap: false, logLevel: 'silent' });
    const text = bundleText(dir);

    expect(text.length).toBeGreaterThan(10_000);
    expect(namesIn(text)).toEqual([]);
    expect(text).not.toMatch(HOOK_CALL);
  });
});
