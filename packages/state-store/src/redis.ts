export { redisAdapter } from './redis-adapter.js'
export type { RedisAdapterOptions } from './redis-adapter.js'
export { holdRedisLock, releaseRedisLock } from './redis-lock.js'
