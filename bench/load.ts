/** Module load time (wall): a fresh `node` importing the bundle vs `node` doing nothing, same harness. The target is checked on CPU time (bench/cold.ts). */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { LAMBDA_ENVIRONMENT } from '../lib/lambda-bundle.js';
import { median } from './harness.js';
import { LOAD_RUNS, ROOT } from './options.js';

export interface LoadResult {
  readonly bareNodeMs: number;
  readonly bundleNodeMs: number;
  readonly aboveNodeMs: number;
  /** Inside the child: performance.now() around `await import(bundle)`. */
  readonly importMs: number;
  readonly runs: number;
}

function spawnTimed(args: string[], env: NodeJS.ProcessEnv): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', cwd: ROOT });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

export function measureLoad(bundleFile: string): LoadResult {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    CASE_BRIDGE_SECRET_ID: 'bench',
    // The entry reads its queue URLs at load, as the stack sets them; nothing is sent.
    CASE_BRIDGE_RETRY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-retry',
    CASE_BRIDGE_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-dlq',
    CASE_BRIDGE_LEDGER_TABLE: 'bench-ledger',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // What the deployed function starts with (NODE_OPTIONS included, were it set there).
    ...LAMBDA_ENVIRONMENT,
  };
  const url = pathToFileURL(bundleFile).href;
  const bareArgs = ['--input-type=module', '-e', 'const t = performance.now(); process.stdout.write(String(performance.now() - t));'];
  const bundleArgs = ['--input-type=module', '-e', `const t = performance.now(); const m = await import(${JSON.stringify(url)}); if (typeof m.handler !== 'function') process.exit(3); process.stdout.write(String(performance.now() - t));`];
  // One of each first: the file system cache.
  spawnTimed(bareArgs, env);
  spawnTimed(bundleArgs, env);
  const bare: number[] = [];
  const bundle: number[] = [];
  const inner: number[] = [];
  for (let i = 0; i < LOAD_RUNS; i++) {
    bare.push(spawnTimed(bareArgs, env).ms);
    const r = spawnTimed(bundleArgs, env);
    bundle.push(r.ms);
    inner.push(Number(r.stdout));
  }
  const bareNodeMs = median(bare);
  const bundleNodeMs = median(bundle);
  return { bareNodeMs, bundleNodeMs, aboveNodeMs: bundleNodeMs - bareNodeMs, importMs: median(inner), runs: LOAD_RUNS };
}
