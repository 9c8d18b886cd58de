import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'watcher',
    include: ['src/**/*.test.ts'],
    // Waits inside tests are bounded by WAIT_MS (8 s); this is only the outer guard.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
