import { defineConfig } from 'tsup'
import { base } from '../../tsup.base.js'

// `redis` is its own entry so that only users of the Redis adapter load ioredis.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/redis.ts', 'src/testing.ts'] })
