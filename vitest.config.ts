import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The conformance suite reads ../shared (test/conformance/shared.ts). On a clone without it the suite
// fails and says so; CASE_BRIDGE_SKIP_CONFORMANCE=1 leaves its files out instead of skipping tests.
const sharedDir = process.env['CASE_BRIDGE_SHARED_DIR'] ?? resolve(import.meta.dirname, '..', 'shared');
const skipConformance = process.env['CASE_BRIDGE_SKIP_CONFORMANCE'] === '1' && !existsSync(sharedDir);
if (skipConformance) console.warn(`../shared not found at ${sharedDir}: test/conformance left out (CASE_BRIDGE_SKIP_CONFORMANCE=1)`);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(skipConformance ? ['test/conformance/**'] : [])],
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
