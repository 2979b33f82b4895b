/**
 * Cold start (issue 15, item 3): the first webhook of a new container. A fresh Node process imports
 * the ingest bundle and handles one first-firing GitHub webhook against the cost rig's local stubs
 * (Secrets Manager stub, dynalite, fauxqs, the local Datadog server); its CPU time (user + system,
 * process.cpuUsage at the end) is compared with a bare `node` started the same way that does nothing.
 * CPU, not wall time: the machine is shared, and CPU is what a 256 MB function gets a fraction of.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSample } from '../lambda/local/samples.js';
import type { CostRig } from './cost-rig.js';
import { median } from './harness.js';
import { OUT_DIR } from './options.js';

export interface ColdResult {
  /** CPU ms of `node -e` doing nothing, per run. */
  readonly bareMs: number[];
  /** CPU ms when the bundle was imported, per run. */
  readonly loadedMs: number[];
  /** CPU ms after the first webhook was answered, per run. */
  readonly firstMs: number[];
  /** Medians: the first webhook's process above bare node, and the part of it the import took. */
  readonly aboveNodeMs: number;
  readonly loadAboveNodeMs: number;
}

function runChild(script: string, env: Readonly<Record<string, string>>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cold-start child exited with ${code}: ${stderr}`))));
  });
}

const cpu = "(() => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; })()";

export async function measureColdStart(rig: CostRig, runs: number): Promise<ColdResult> {
  const out = join(OUT_DIR, `cold-${process.pid}.json`);
  const sample = readSample('github', 'issues.opened');
  const bare: number[] = [];
  const loaded: number[] = [];
  const first: number[] = [];
  const bareScript = `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(out)}, JSON.stringify({ bare: ${cpu} }));`;
  for (let i = 0; i < runs; i++) {
    // A new issue each run: every first webhook is a first firing.
    const body = JSON.stringify({ ...(JSON.parse(sample.body) as Record<string, unknown>), issue: { ...((JSON.parse(sample.body) as { issue: object }).issue), number: 100_000 + i + Math.floor(Date.now() % 1e6) * 10, title: `Cold start ${Date.now()} ${i}` } });
    const event = rig.webhook('github', body, { ...sample.headers, 'x-github-delivery': `cold-${Date.now()}-${i}` });
    const script = `
      import { writeFileSync } from 'node:fs';
      const { handler } = await import(${JSON.stringify(pathToFileURL(rig.bundles.ingest).href)});
      const loaded = ${cpu};
      const context = { functionName: 'ingest', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ingest', memoryLimitInMB: '256', awsRequestId: 'cold', getRemainingTimeInMillis: () => 10000 };
      const answer = await handler(${JSON.stringify(event)}, context);
      const first = ${cpu};
      writeFileSync(${JSON.stringify(out)}, JSON.stringify({ loaded, first, status: answer.statusCode, body: answer.body }));
      process.exit(0);`;
    await runChild(bareScript, rig.env.ingest);
    bare.push((JSON.parse(readFileSync(out, 'utf8')) as { bare: number }).bare);
    await runChild(script, rig.env.ingest);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { loaded: number; first: number; status: number; body?: string };
    if (r.status !== 201) throw new Error(`the cold container answered ${r.status}, not 201 (a first firing): ${r.body ?? ''}`);
    loaded.push(r.loaded);
    first.push(r.first);
  }
  rmSync(out, { force: true });
  const bareMedian = median(bare);
  return { bareMs: bare, loadedMs: loaded, firstMs: first, aboveNodeMs: median(first) - bareMedian, loadAboveNodeMs: median(loaded) - bareMedian };
}
