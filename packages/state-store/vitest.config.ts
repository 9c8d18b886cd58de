import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'state-store',
    include: ['src/**/*.test.ts'],
  },
})
