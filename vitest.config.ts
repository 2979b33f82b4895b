import { defineConfig } from 'vitest/config';
import { conformancePlan } from './test/support/conformance-gate.js';

// The conformance suite reads ../shared: without it, a local run leaves test/conformance out and
// says so in one line; under CI the suite runs and fails, naming the folder (test/support/conformance-gate.ts).
const conformance = conformancePlan();
if (conformance.note !== undefined) console.warn(conformance.note);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/kill/**', ...(conformance.include ? [] : ['test/conformance/**'])],
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
