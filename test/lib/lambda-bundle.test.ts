import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { lambdaBuildOptions } from '../../lib/lambda-bundle.js';
import { precompileExpressions } from '../../lambda/mapping/expression.js';

const out = mkdtempSync(join(tmpdir(), 'case-bridge-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Entry {
  compileExpression(source: string): { fast: boolean; evaluate(input: unknown, bindings: Record<string, unknown>): unknown };
  jsonataLoadedYet(): boolean;
}

describe('Lambda bundles (lib/lambda-bundle.ts)', () => {
  it('put JSONata in its own chunk and load it only for an expression the fast path cannot run', async () => {
    const table = precompileExpressions(['issue.title', '"#" & issue.number']);
    // No source maps here: vitest imports this bundle and would warn that the maps' sources (sources
    // content is left out) are missing beside it. The next test checks the maps.
    await build({ ...lambdaBuildOptions(join(import.meta.dirname, '../support/lazy-jsonata-entry.ts'), out, { __TEST_EXPRESSIONS__: JSON.stringify(table) }), sourcemap: false, logLevel: 'silent' });

    const chunk = readdirSync(join(out, 'chunks')).find((f) => /^jsonata-.*\.mjs$/.test(f));
    expect(chunk).toBeDefined();
    // JSONata's own source (its error table) is in that chunk, not in the entry.
    expect(readFileSync(join(out, 'chunks', chunk ?? ''), 'utf8')).toContain('T1006');
    expect(readFileSync(join(out, 'index.mjs'), 'utf8')).not.toContain('T1006');

    const entry = (await import(pathToFileURL(join(out, 'index.mjs')).href)) as Entry;
    const input = { issue: { title: 'Disk full', number: 7, labels: [{ name: 'a' }, { name: 'b' }] } };
    const title = entry.compileExpression('issue.title');
    expect(title.fast).toBe(true);
    expect(await title.evaluate(input, {})).toBe('Disk full');
    expect(await entry.compileExpression('"#" & issue.number').evaluate(input, {})).toBe('#7');
    const count = entry.compileExpression('$count(issue.labels)');
    expect(count.fast).toBe(false);
    expect(entry.jsonataLoadedYet()).toBe(false);

    expect(await count.evaluate(input, {})).toBe(2);
    expect(entry.jsonataLoadedYet()).toBe(true);
  });

  it('keep zod to the mini build in the ingest entry: no locale but English, no JSON Schema code', async () => {
    // Reaching zod's `core` namespace (e.g. `z.core.$ZodError`) once kept all of it: 370 KB more.
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-ingest-'));
    try {
      const result = await build({
        ...lambdaBuildOptions(join(import.meta.dirname, '../../lambda/ingest/index.ts'), dir, { __CASE_BRIDGE_RULES__: '{}', __CASE_BRIDGE_EXPRESSIONS__: '{}' }),
        sourcemap: false,
        metafile: true,
        logLevel: 'silent',
      });
      const kept = Object.values(result.metafile.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([name]) => name));
      expect(kept.filter((name) => /zod\/v4\/locales\/(?!en\.js|index\.js)|json-schema/.test(name))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('write a source map beside each file, with positions into the TypeScript sources and no copy of them', async () => {
    const dir = join(out, 'maps');
    await build({ ...lambdaBuildOptions(join(import.meta.dirname, '../support/lazy-jsonata-entry.ts'), dir, { __TEST_EXPRESSIONS__: '{}' }), logLevel: 'silent' });

    expect(readFileSync(join(dir, 'index.mjs'), 'utf8')).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[]; sourcesContent?: unknown; mappings: string };
    expect(map.sources.some((s) => s.endsWith('lambda/mapping/expression.ts'))).toBe(true);
    expect(map.mappings.length).toBeGreaterThan(0);
    expect(map.sourcesContent).toBeUndefined();
  });
});
