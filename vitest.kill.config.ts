import { defineConfig } from 'vitest/config';

// `npm run test:kill`: the kill -9 burst test (wall-clock, about a minute), not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/kill/**/*.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
  },
});
