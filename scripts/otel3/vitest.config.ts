// The otel adapter's tests against OpenTelemetry 3.x, in the tree scripts/otel3.mjs builds in .tmp/otel3.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root: `${repo}.tmp/otel3`,
  test: {
    include: ['packages/otel/test/**/*.test.ts'],
    setupFiles: [`${repo}test-support/vitest-setup.ts`],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    // The adapter's copy sits in node_modules: inline it like the workspace's linked one, so that it
    // and the tests share one instance of core (HolderCache, LockError checks by class).
    server: { deps: { inline: [/@lockscope\//] } },
  },
});
