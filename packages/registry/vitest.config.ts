import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'registry',
    include: ['src/**/*.test.ts'],
    // Worker starts and esbuild builds slow down a lot on a shared 2-core machine: generous bound.
    testTimeout: 30_000,
    // A fixed, small young generation: V8 otherwise grows new space with the allocation rate
    // (up to tens of MB), which would hide or fake RSS growth in the memory tests.
    execArgv: ['--max-semi-space-size=2'],
  },
})
