import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** A script as its npm script runs it: exit code, stdout, stderr. */
async function script(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join('node_modules', '.bin', 'tsx'), [file, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the npm scripts --help', () => {
  it('prints the usage and exits 0 with no side effect, for preview, send, rules:schema, redrive and cases', { timeout: 120_000 }, async () => {
    const schema = 'config/rules.schema.json';
    const before = { text: readFileSync(schema, 'utf8'), mtime: statSync(schema).mtimeMs };

    const [preview, send, rulesSchema, redrive, cases, previewShort] = await Promise.all([
      script('lambda/local/preview.ts', ['--help']),
      script('lambda/local/send.ts', ['--help']),
      script('scripts/write-rules-schema.ts', ['--help']),
      script('scripts/redrive.ts', ['--help']),
      script('scripts/cases.ts', ['--help']),
      script('lambda/local/preview.ts', ['-h']),
    ]);

    expect(preview.stdout).toMatch(/^usage: npm run preview -- <source> <payload\.json> \[headers\.json\]/);
    expect(previewShort.stdout).toBe(preview.stdout);
    expect(send.stdout).toMatch(/^usage: npm run send -- <source> <event\|payload\.json> \[--url /);
    expect(rulesSchema.stdout).toMatch(/^usage: npm run rules:schema/);
    expect(redrive.stdout).toContain('npm run redrive -- --copy --dlq-url URL --destination-url URL');
    expect(cases.stdout).toMatch(/^usage: npm run cases \[-- --url http:\/\/127\.0\.0\.1:3000\] .*\n {7}npm run cases -- <source> <identity>/);
    for (const r of [preview, send, rulesSchema, redrive, cases, previewShort]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    }
    // rules:schema --help did not rewrite the schema.
    expect(readFileSync(schema, 'utf8')).toBe(before.text);
    expect(statSync(schema).mtimeMs).toBe(before.mtime);
  });

  it('rules:schema refuses an argument it does not know, without writing', { timeout: 60_000 }, async () => {
    const mtime = statSync('config/rules.schema.json').mtimeMs;
    const result = await script('scripts/write-rules-schema.ts', ['--out', 'x.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^usage: npm run rules:schema/);
    expect(statSync('config/rules.schema.json').mtimeMs).toBe(mtime);
  });
});

describe('npm run preview without a headers file', () => {
  it('says that it looked for the headers file and where, when the source needs a header', { timeout: 60_000 }, async () => {
    const payload = join(mkdtempSync(join(tmpdir(), 'preview-')), 'issue.json');
    copyFileSync('test/fixtures/github/issues.opened.json', payload);

    const result = await script('lambda/local/preview.ts', ['github', payload]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing X-GitHub-Event header');
    expect(result.stderr).toContain(`no headers file: looked for ${payload.replace(/\.json$/, '.headers.json')}; pass one as the third argument`);
  });
});
