import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'docs',
    include: ['test/**/*.test.ts'],
    // Each guide runs its blocks one after another; guides run side by side.
    testTimeout: 40_000,
    maxConcurrency: 4,
  },
})
