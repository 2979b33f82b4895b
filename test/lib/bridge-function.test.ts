import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { BridgeStack } from '../../lib/bridge-stack.js';
import { cdkApp, PRESETS } from './support.js';

// With bundling on (the other stack tests skip it): what `cdk synth` puts in the ingest asset.

interface FunctionResource {
  readonly Type: string;
  readonly Properties: { readonly Handler?: string; readonly Code?: { readonly S3Key?: string } };
}

function ingestFunction(app: App, stackName: string): { s3Key: string; assetDir: string; handler: string } {
  const assembly = app.synth();
  const template = assembly.getStackByName(stackName).template as { Resources: Record<string, FunctionResource> };
  const [, fn] = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('IngestApiIngest')) ?? [];
  if (fn === undefined) throw new Error(`no ingest function in ${stackName}`);
  const s3Key = fn.Properties.Code?.S3Key ?? '';
  // The staged asset: cdk.out/asset.<hash>/ for the S3 key <hash>.zip.
  return { s3Key, assetDir: join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`), handler: fn.Properties.Handler ?? '' };
}

describe('BridgeFunction bundles (cdk synth with bundling)', () => {
  it('builds index.mjs with the rules inlined and JSONata as a lazy chunk; each stack gets its own rules', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-synth-'));
    const otherRules = join(dir, 'rules.yaml');
    writeFileSync(otherRules, readFileSync(PRESETS, 'utf8').replace('"[GitHub] {{ repository.full_name }}', '"[GH-B] {{ repository.full_name }}'));
    const app = cdkApp({ outdir: join(dir, 'cdk.out'), builtinCloudFormationValidation: false });
    new BridgeStack(app, 'StackA', { rulesFile: PRESETS });
    new BridgeStack(app, 'StackB', { rulesFile: otherRules });

    const a = ingestFunction(app, 'StackA');
    const b = ingestFunction(app, 'StackB');

    expect(a.handler).toBe('index.handler');
    expect(existsSync(join(a.assetDir, 'index.mjs'))).toBe(true);
    expect(readdirSync(join(a.assetDir, 'chunks')).some((f) => /^jsonata-.*\.mjs$/.test(f))).toBe(true);
    const filesOf = (d: string) => [readFileSync(join(d, 'index.mjs'), 'utf8'), ...readdirSync(join(d, 'chunks')).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(d, 'chunks', f), 'utf8'))].join('\n');
    const codeA = filesOf(a.assetDir);
    const codeB = filesOf(b.assetDir);
    expect(codeA).toMatch(/export\{[^}]*as handler\}/);
    expect(codeA).not.toContain('__CASE_BRIDGE_');
    // Each stack deploys its own rules.
    expect(a.s3Key).not.toBe(b.s3Key);
    expect(codeA).not.toContain('[GH-B]');
    expect(codeB).toContain('[GH-B]');
  });
});
