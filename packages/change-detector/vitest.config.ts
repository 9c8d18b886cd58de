import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'change-detector',
    include: ['src/**/*.test.ts'],
  },
})
