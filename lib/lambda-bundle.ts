import type { BuildOptions } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bridgeVersion } from '../lambda/shared/version.js';

/** The project root: the nearest directory above this file with a package.json (also from the bench's bundled copy). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** lambda/shared/node-http.ts: node:http without its ESM facade (which loads undici). */
const NODE_HTTP_SHIM = join(projectRoot(dirname(fileURLToPath(import.meta.url))), 'lambda/shared/node-http.ts');

/**
 * Memory of every bridge function (MB, arm64), unless a construct sets its own: what Lambda bills
 * per GB-second, and what `npm run bench` prices the measured invocations at (docs/cost.md).
 */
export const FUNCTION_MEMORY_MB = 256;

/**
 * The functions' system log level (JSON log format): Lambda's own records of every invocation
 * (platform.start, platform.report) are INFO and dropped at WARN, which is about 0.4 KB of
 * CloudWatch Logs per invocation (docs/cost.md). The alarms read Lambda's metrics (Errors,
 * Throttles, Duration), not these records; the functions' own log lines keep their LOG_LEVEL.
 */
export const FUNCTION_SYSTEM_LOG_LEVEL: 'INFO' | 'WARN' = 'WARN';

/** The Lambda entry chunk's name (`index.mjs`: the handler is `index.handler`). */
export const LAMBDA_ENTRY_NAME = 'index';

/**
 * Environment every bridge function starts with (before its own variables); `npm run bench` loads
 * the bundle with it, so its module load time is the deployed one. Deliberately no
 * NODE_OPTIONS=--enable-source-maps: see lib/bridge-function.ts.
 */
export const LAMBDA_ENVIRONMENT: Readonly<Record<string, string>> = {};

/**
 * esbuild options of every Lambda bundle, shared by the stack (lib/bridge-function.ts) and
 * `npm run bench`, so the bench measures what is deployed:
 * - minified ESM for Node 24, the AWS SDK v3 clients included (their ESM builds, `mainFields`
 *   module first, imported through lambda/shared/sdk-*.ts so only the commands used are kept, in
 *   chunks loaded on first use), and the version deployed is the one tested. A webhook's own AWS
 *   calls (the secret, DynamoDB, the watchdog's SendMessage, the archive's PutObject) are signed
 *   requests (lambda/shared/aws-request.ts) that load none of these chunks: the SDK clients are
 *   loaded only by what else the functions do (the retry function's SQS receive and redrive,
 *   replay's reads of the archive) or where the environment names no plain AWS credentials and
 *   region (the cold first webhook's CPU above bare node, `npm run bench`: about 80-90 ms, against
 *   about 190 ms with the clients, which were about 100 ms of it);
 * - source maps beside each file (file and line positions, no copy of the sources): not read at
 *   run time unless NODE_OPTIONS=--enable-source-maps is set on the function;
 * - code splitting: a dynamic `import()` becomes a chunk next to index.mjs, loaded on first need.
 *   JSONata is one (`__CASE_BRIDGE_LAZY_JSONATA__`, see lambda/mapping/expression.ts): a container
 *   whose rules only use fast expressions never loads it. Each source's code is one
 *   (`__CASE_BRIDGE_LAZY_SOURCES__`, see lambda/sources/index.ts): loaded by the source's first
 *   webhook (a failed load is answered 503 source_unavailable), so a container serving GitHub never
 *   loads the other eight; the registry's names and defaults and the helpers every source uses stay
 *   at start. Every file costs CPU of its own: about 0.35 ms each loaded at start (the ESM
 *   loader's resolve, read, link and evaluate, and this banner), about 1.3 ms for the one chunk a
 *   first webhook imports; and esbuild puts the modules shared by the entry and a lazy chunk in
 *   chunks of their own, also loaded at start. A lazy chunk pays only when what it leaves out
 *   outweighs that: replay (4 KB) and a human's note (2 KB) were measured lazy too and cost more
 *   than they saved (two more files at start), so they stay in the entry;
 * - `http` and `node:http` aliased to lambda/shared/node-http.ts (the module from Node's own
 *   loader): an ESM import of node:http reads every export, Node's fetch classes among them, and so
 *   loads undici, about 22 ms of CPU on the first AWS request over plain HTTP (the bench's and the
 *   local stubs); the Datadog client does not use fetch either (lambda/shared/http.ts), so a cold
 *   container never loads undici;
 * - no test hooks: `__CASE_BRIDGE_STEP_HOOKS__` is false, so every crash-point hook call (guarded by
 *   STEP_HOOKS, lambda/delivery/steps.ts) and its step name are left out of the bundle;
 * - package.json's version inlined (`GET /health` answers it).
 */
export function lambdaBuildOptions(entry: string, outdir: string, define: Readonly<Record<string, string>> = {}): BuildOptions {
  return {
    entryPoints: { [LAMBDA_ENTRY_NAME]: entry },
    outdir,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    mainFields: ['module', 'main'],
    alias: { http: NODE_HTTP_SHIM, 'node:http': NODE_HTTP_SHIM },
    define: { ...define, __CASE_BRIDGE_LAZY_JSONATA__: 'true', __CASE_BRIDGE_LAZY_SOURCES__: 'true', __CASE_BRIDGE_STEP_HOOKS__: 'false', __CASE_BRIDGE_VERSION__: JSON.stringify(bridgeVersion()) },
    // Some CommonJS dependencies call require() for Node built-ins; ESM has none of its own.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  };
}
