// `npm run bench [-- flags]`: bundles bench/cli.ts with esbuild (minified, like the Lambda), runs it
// with the flags, then the storm figure (bench/storm.ts, with --strict when given) unless --quick,
// --json, --profile or --no-storm is given. Exits with the first failing step's code.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
await build({
  entryPoints: [`${root}bench/cli.ts`],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  // The emulators of the cost rig (bench/cost-rig.ts) stay packages: dynalite loads a native module.
  external: ['esbuild', '@aws-sdk/*', 'dynalite', 'fauxqs'],
  logLevel: 'warning',
  outfile: `${root}bench/out/bench.mjs`,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const run = (cmd, cmdArgs) => spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' }).status ?? 1;
let status = run(process.execPath, [`${root}bench/out/bench.mjs`, ...args.filter((a) => a !== '--no-storm')]);
const skipStorm = args.some((a) => ['--quick', '--json', '--profile', '--no-storm'].includes(a) || a.startsWith('--size'));
if (!skipStorm) status = run(process.execPath, ['--import', 'tsx', `${root}bench/storm.ts`, ...args.filter((a) => a === '--strict' || a === '--storm-large')]) || status;
process.exit(status);
