import { existsSync } from 'node:fs';
import { isCi } from './conformance-gate.js';

// Whether `npm test` runs the browser test of the local console (test/browser/), which drives the
// machine's Chromium (Debian's `chromium` package) with playwright-core: no browser is downloaded.
// Decided once, in vitest.config.ts, as the conformance gate is.

/** `CASE_BRIDGE_CHROMIUM`, else Debian's /usr/bin/chromium. */
export function resolveChromium(env: NodeJS.ProcessEnv = process.env): string {
  return env['CASE_BRIDGE_CHROMIUM'] || '/usr/bin/chromium';
}

export interface BrowserPlan {
  /** Run test/browser (with a Chromium, or under CI, where a missing one fails it). */
  readonly include: boolean;
  /** One line for the test run's output, when there is something to say. */
  readonly note?: string;
}

/**
 * With a Chromium: run the test. Without one: leave it out and say so in one line, except under CI
 * (.ci/run installs Chromium), where the test runs and fails, naming the path it needs.
 */
export function planBrowser(options: { chromium: string; exists: boolean; ci: boolean }): BrowserPlan {
  if (options.exists) return { include: true };
  if (options.ci) return { include: true, note: `console browser test: no Chromium at ${options.chromium}, and under CI it is required: it fails (apt-get install chromium, or set CASE_BRIDGE_CHROMIUM)` };
  return { include: false, note: `console browser test left out: no Chromium at ${options.chromium} (apt-get install chromium, or set CASE_BRIDGE_CHROMIUM)` };
}

/** The plan for this process's environment. */
export function browserPlan(env: NodeJS.ProcessEnv = process.env): BrowserPlan & { chromium: string } {
  const chromium = resolveChromium(env);
  return { chromium, ...planBrowser({ chromium, exists: existsSync(chromium), ci: isCi(env) }) };
}
