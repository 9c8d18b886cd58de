import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    // Each guide runs its blocks one after another; guides run side by side.
    // Generous: a guide or README runs several Node processes, on a machine that may be busy.
    testTimeout: 120_000,
    maxConcurrency: 4,
  },
})
