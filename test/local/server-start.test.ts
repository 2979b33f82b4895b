import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLACEHOLDER_PROJECT } from '../../lambda/mapping/placeholder-project.js';

/** `npm start`'s start-up lines (stderr up to the "try:" line), then the server is stopped. */
async function startupLines(env: Record<string, string>): Promise<string> {
  const child = spawn(join('node_modules', '.bin', 'tsx'), ['lambda/local/server.ts'], { env: { ...process.env, PORT: '0', DD_API_URL: 'http://127.0.0.1:9', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${stderr}`)), 60_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('  try:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited ${code}:\n${stderr}`));
      });
    });
  } finally {
    child.kill('SIGTERM');
  }
  return stderr;
}

describe('npm start with the preset placeholder project', () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-'));
  const withKeys = join(dir, 'secrets.json');
  writeFileSync(withKeys, JSON.stringify({ ...(JSON.parse(readFileSync('config/dev-secrets.json', 'utf8')) as Record<string, string>), DD_API_KEY: 'k', DD_APP_KEY: 'a' }));

  it('warns when real keys would file cases under it, and not against the local Case Management or in a dry run; says which Datadog is in use', { timeout: 120_000 }, async () => {
    const [live, local, dry] = await Promise.all([startupLines({ CASE_BRIDGE_SECRETS_FILE: withKeys }), startupLines({}), startupLines({ CASE_BRIDGE_DRY_RUN: 'true' })]);

    expect(live).toContain(`WARNING: config/rules.yaml files cases under the placeholder project ${PLACEHOLDER_PROJECT} (defaults.project)`);
    expect(live).toContain('  Datadog: http://127.0.0.1:9 (keys from the secret)');
    expect(local).not.toContain('placeholder project');
    expect(local).toMatch(/ {2}Datadog: LOCAL Case Management http:\/\/127\.0\.0\.1:\d+ \(the secret has no DD_API_KEY and DD_APP_KEY/);
    expect(local).toMatch(/ {2}cases: {3}IN MEMORY .*GET http:\/\/127\.0\.0\.1:\d+\/local\/cases/);
    expect(dry).not.toContain('placeholder project');
    expect(dry).toContain('  Datadog: none, DRY RUN (CASE_BRIDGE_DRY_RUN is set)');
    expect(dry).not.toContain('Case Management');
    // The local redrive, ready to paste (test/retry/redrive-script.test.ts runs it).
    expect(local).toMatch(/redrive: npm run redrive -- --copy --dlq-url http:\/\/\S+ --destination-url http:\/\/\S+/);
    expect(local).toMatch(/ {2}health: {2}GET http:\/\/127\.0\.0\.1:\d+\/health/);
  });
});
