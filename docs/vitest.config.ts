import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    // Each guide runs its blocks one after another; guides run side by side.
    // Generous: a guide or README runs several Node processes, on a machine that may be busy.
    testTimeout: 120_000,
    maxConcurrency: 4,
    // The watcher guide's block misses a change within its 5 s bound about one run in three on
    // Node 24 (seen 2026-12-01; never on Node 20, and the watcher's own suite passes there): an
    // open defect of the watcher's fast path on newer Node lines. Retried, as the watcher's own
    // tests are, until it is found.
    retry: 2,
  },
})
