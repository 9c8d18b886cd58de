import { defineProject } from 'vitest/config'

// The packed-tarball check (test/packed.e2e.ts): not part of `vitest run`, which runs the guides.
export default defineProject({
  test: {
    name: 'docs-packed',
    include: ['test/**/*.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
})
