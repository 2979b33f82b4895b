/** The bench's flags, targets, measurement windows and paths, and where its human output goes. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest directory above this file with a package.json (also from a bundled copy). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const RULES_FILE = join(ROOT, 'config/rules.yaml');
export const OUT_DIR = join(ROOT, 'bench/out');

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
export const option = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
export const STRICT = flag('strict');
export const JSON_OUT = flag('json');
export const QUICK = flag('quick');
export const PROFILE = flag('profile');
export const STAGES = flag('stages');
export const BASE64 = flag('base64');

export const WRITE_COST_DOC = flag('write-cost-doc');
/** `--archive=all|failed|off`: the cost rig's archive mode (the stack's `-c archive`). @default all */
export const ARCHIVE_MODE = option('archive') ?? 'all';

export const TARGETS = {
  ratio2KB: 2.5,
  ratio20KB: 1.75,
  bundleKB: 180,
  loadAboveNodeMs: 40,
  coldFirstWebhookMs: 100,
  usdPerMillion: 2.5,
} as const;

export const WARMUP_CALLS = QUICK ? 100 : 300;
export const WARMUP_MS = QUICK ? 100 : 400;
export const MEASURE_MS = QUICK ? 400 : 1500;
export const BATCH_MS = 5;
export const LOAD_RUNS = QUICK ? 5 : 15;
export const COLD_RUNS = QUICK ? 3 : 7;
/** Webhooks of each kind in the cost mix. */
export const COST_WEBHOOKS_PER_KIND = QUICK ? 2 : 5;

/** Human output goes to stderr with --json so stdout stays machine-readable. */
export const say = (line = ''): void => {
  (JSON_OUT ? process.stderr : process.stdout).write(`${line}\n`);
};
