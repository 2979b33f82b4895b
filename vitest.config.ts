import { defineConfig } from 'vitest/config';
import { browserPlan } from './test/support/browser-gate.js';
import { conformancePlan } from './test/support/conformance-gate.js';

// The conformance suite reads ../shared: without it, a local run leaves test/conformance out and
// says so in one line; under CI the suite runs and fails, naming the folder (test/support/conformance-gate.ts).
const conformance = conformancePlan();
if (conformance.note !== undefined) console.warn(conformance.note);
// The console's browser test drives the machine's Chromium: without one, left out with one line; under CI it fails.
const browser = browserPlan();
if (browser.note !== undefined) console.warn(browser.note);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/kill/**', ...(conformance.include ? [] : ['test/conformance/**']), ...(browser.include ? [] : ['test/browser/**'])],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two-core CI machine: keep workers bounded so timing-sensitive servers stay responsive.
    maxWorkers: 2,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  },
});
