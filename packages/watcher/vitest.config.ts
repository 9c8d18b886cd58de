import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'watcher',
    include: ['src/**/*.test.ts'],
    // Waits inside tests are bounded by WAIT_MS (8 s); this is only the outer guard.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // These tests race the real inotify backend's batching; one file at a time keeps the
    // machine quiet enough for their ordering assumptions, and a retry absorbs the rare batch
    // split under load (known flakiness, tracked for a follow-up; see the package README).
    fileParallelism: false,
    retry: 2,
  },
})
