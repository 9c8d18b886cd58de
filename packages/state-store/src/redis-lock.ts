// A Redis lock held by a token: renew (or re-take after a Redis restart) and release, each one
// script so no other holder's lock is touched. Shared by the Redis adapter and @hotswap/fleet.
import type { Redis } from 'ioredis'

// KEYS: lock. ARGV: token, ttl. 1: held (renewed, or taken when free), 0: someone else's.
const RENEW = `local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`
// KEYS: lock. ARGV: token.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Holds the lock `key` for `token` another `ttlMs`: renews it when `token` holds it, takes it
 * when it is free (also after a Redis restart lost it), leaves another holder's alone.
 *
 * @internal Shared with `@hotswap/fleet`.
 * @param client - the connection
 * @param key - the lock's key
 * @param token - this holder's token
 * @param ttlMs - how long the lock lives without another renewal
 * @returns whether `token` holds the lock now
 * @throws the client's error when Redis does not answer
 * @example
 * ```ts
 * if (await holdRedisLock(client, 'app:lock', token, 1500)) doTheWork()
 * ```
 */
export async function holdRedisLock(client: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
  return Number(await client.eval(RENEW, 1, key, token, ttlMs)) === 1
}

/**
 * Releases the lock `key` if `token` holds it.
 *
 * @internal Shared with `@hotswap/fleet`.
 * @param client - the connection
 * @param key - the lock's key
 * @param token - this holder's token
 * @returns whether it was released (`false`: someone else's, or gone)
 * @throws the client's error when Redis does not answer
 * @example
 * ```ts
 * await releaseRedisLock(client, 'app:lock', token)
 * ```
 */
export async function releaseRedisLock(client: Redis, key: string, token: string): Promise<boolean> {
  return Number(await client.eval(RELEASE, 1, key, token)) === 1
}
