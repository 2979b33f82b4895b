/** A function's bundle built with the stack's own options (lib/lambda-bundle.ts): what a container loads at start. */
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { lambdaBuildOptions } from '../lib/lambda-bundle.js';
import { readRulesForBundle } from '../lib/rules-asset.js';
import { OUT_DIR, ROOT, RULES_FILE } from './options.js';

export interface BundleResult {
  /** The entry (index.mjs). */
  readonly file: string;
  /** What a container loads at start: the entry and the chunks it imports statically. */
  readonly bytes: number;
  /** Chunks loaded only by a dynamic import (JSONata: on the first expression the fast path cannot run). */
  readonly lazy: { name: string; bytes: number }[];
  readonly mapBytes: number;
  readonly buildMs: number;
  /** Of the start bytes. */
  readonly contributors: { name: string; bytes: number }[];
}

/** `node_modules/@scope/pkg/...` -> `@scope/pkg`; own code -> its directory (`lambda/mapping`). */
function contributorOf(input: string): string {
  const parts = input.split('/');
  const nm = parts.lastIndexOf('node_modules');
  if (nm !== -1) {
    const first = parts[nm + 1] ?? '?';
    return first.startsWith('@') ? `${first}/${parts[nm + 2] ?? ''}` : first;
  }
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts.slice(0, -1).join('/') || input;
}

/** Builds a function's bundle (the ingest with the rules inlined, as lib/ingest-api.ts does; the retry as lib/retry-queue.ts does). */
export async function buildBundle(fn: 'ingest' | 'retry' = 'ingest', under: string = OUT_DIR): Promise<BundleResult> {
  const esbuild = await import('esbuild');
  const outDir = join(under, fn);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const rulesForBundle = readRulesForBundle(RULES_FILE);
  const define: Record<string, string> = fn === 'ingest' ? { __CASE_BRIDGE_RULES__: rulesForBundle.json, __CASE_BRIDGE_EXPRESSIONS__: rulesForBundle.expressionsJson } : {};
  const started = performance.now();
  const result = await esbuild.build({
    ...lambdaBuildOptions(join(ROOT, `lambda/${fn}/index.ts`), outDir, define),
    absWorkingDir: ROOT,
    metafile: true,
    logLevel: 'silent',
  });
  const buildMs = performance.now() - started;
  const outputs = result.metafile.outputs;
  const outfile = join(outDir, 'index.mjs');
  const entryKey = Object.keys(outputs).find((k) => join(ROOT, k) === outfile || k === outfile);
  if (entryKey === undefined) throw new Error(`esbuild wrote no ${outfile}`);
  // The start set: the entry and, transitively, what it imports statically.
  const start = new Set<string>();
  const visit = (key: string): void => {
    if (start.has(key)) return;
    start.add(key);
    for (const i of outputs[key]?.imports ?? []) if (i.kind === 'import-statement' && !i.external && outputs[i.path]) visit(i.path);
  };
  visit(entryKey);
  const byName = new Map<string, number>();
  let bytes = 0;
  let mapBytes = 0;
  const lazy: { name: string; bytes: number }[] = [];
  for (const [key, output] of Object.entries(outputs)) {
    if (key.endsWith('.map')) {
      mapBytes += output.bytes;
      continue;
    }
    if (!start.has(key)) {
      lazy.push({ name: relative(outDir, join(ROOT, key)), bytes: output.bytes });
      continue;
    }
    bytes += output.bytes;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = contributorOf(input);
      byName.set(name, (byName.get(name) ?? 0) + bytesInOutput);
    }
  }
  const contributors = [...byName].map(([name, b]) => ({ name, bytes: b })).sort((a, b) => b.bytes - a.bytes);
  return { file: outfile, bytes, lazy, mapBytes, buildMs, contributors };
}
