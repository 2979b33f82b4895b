import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Whether `npm test` runs the conformance suite (test/conformance/), which reads the vendor data in
// ../shared. Decided once, in vitest.config.ts; test/conformance/shared.ts reads the same folder.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `CASE_BRIDGE_SHARED_DIR`, else `../shared` beside the repository. */
export function resolveSharedDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env['CASE_BRIDGE_SHARED_DIR'];
  return override ? path.resolve(override) : path.resolve(repoRoot, '..', 'shared');
}

/** CI as most CI services set it (`CI=true`, `CI=1`); `CI=false` or `0` is not CI. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = (env['CI'] ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

export interface ConformancePlan {
  /** Run test/conformance (with the data there, or under CI, where its missing data fails it). */
  readonly include: boolean;
  /** One line for the test run's output, when there is something to say. */
  readonly note?: string;
}

/**
 * With the data: run the suite. Without it: leave the suite out and say so in one line, except
 * under CI, where the suite runs and fails, naming the folder it needs.
 */
export function planConformance(options: { sharedDir: string; sharedExists: boolean; ci: boolean }): ConformancePlan {
  if (options.sharedExists) return { include: true };
  if (options.ci) return { include: true, note: `conformance suite: ${options.sharedDir} not found, and under CI it is required: it fails (set CASE_BRIDGE_SHARED_DIR to the folder)` };
  return { include: false, note: `conformance suite left out: it needs the vendor data in ../shared, not found at ${options.sharedDir} (CASE_BRIDGE_SHARED_DIR points elsewhere)` };
}

/** The plan for this process's environment. */
export function conformancePlan(env: NodeJS.ProcessEnv = process.env): ConformancePlan & { sharedDir: string } {
  const sharedDir = resolveSharedDir(env);
  return { sharedDir, ...planConformance({ sharedDir, sharedExists: existsSync(sharedDir), ci: isCi(env) }) };
}
