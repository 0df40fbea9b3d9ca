import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    setupFiles: ['./test-support/vitest-setup.ts'],
    // Forks, not threads: tests take real locks, spawn processes and load koffi.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core shared machines: a little parallelism, generous timeouts instead of tight ones.
    maxWorkers: 2,
  },
});
