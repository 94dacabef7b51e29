import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests bind real sockets and spawn processes; two cores means
    // more parallel forks only add scheduling noise and heartbeat-timing flakes.
    pool: 'forks',
    maxWorkers: 2,
    // CLI tests start many real processes; on a loaded 2-core machine each start can take a second.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
