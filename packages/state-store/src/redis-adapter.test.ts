import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adapterContract } from './adapter-contract.js'
import type { AdapterEvent } from './adapter.js'
import { StateStoreError } from './errors.js'
import { encodeSnapshotFile } from './file-format.js'
import { redisAdapter } from './redis-adapter.js'
import { createSnapshot } from './snapshot.js'
import type { StateSnapshot } from './snapshot.js'
import { createStateStore } from './state-store.js'
import { freePort, redisMissing, startRedis } from './testing.js'
import type { TestRedis } from './testing.js'

const missing = redisMissing()
if (missing !== undefined) console.warn(`[state-store] ${missing}`)

let counter = 0
const freshPrefix = (): string => `test:${process.pid}:${++counter}:`
const snap = (n: number, pluginId = 'victim'): StateSnapshot =>
  createSnapshot({ pluginId, pluginVersion: '1.2.3', data: { n }, timestamp: n })

describe.skipIf(missing !== undefined)('redisAdapter', () => {
  let redis: TestRedis
  let raw: Redis
  beforeAll(async () => {
    redis = await startRedis()
    raw = new Redis(redis.url)
  })
  afterAll(async () => {
    raw?.disconnect()
    await redis?.stop()
  })

  describe('passes the adapter contract', () => {
    let prefix = ''
    const cases = adapterContract({
      create: () => redisAdapter({ url: redis.url, prefix: (prefix = freshPrefix()) }),
      reopen: () => redisAdapter({ url: redis.url, prefix }),
    })
    for (const c of cases) it(c.name, c.run)
  })

  it('stores each snapshot in the checksummed envelope, newest at the head of one list per plugin', async () => {
    const prefix = freshPrefix()
    const adapter = redisAdapter({ url: redis.url, prefix })
    await adapter.open({ emit: () => undefined })
    await adapter.put(snap(1), 3)
    await adapter.put(snap(2), 3)
    const entries = await raw.lrangeBuffer(`${prefix}snap:victim`, 0, -1)
    expect(entries.map((e) => e.toString('latin1').split('\n')[0])).toEqual([
      expect.stringMatching(/^hotswap-state 2 \d+ [0-9a-f]{64}$/),
      expect.stringMatching(/^hotswap-state 2 \d+ [0-9a-f]{64}$/),
    ])
    expect(entries[0]).toEqual(encodeSnapshotFile(snap(2)))
    expect(await raw.smembers(`${prefix}ids`)).toEqual(['victim'])
    await adapter.close()
  })

  it('refuses hostile ids with INVALID_ID before any key is built', async () => {
    const prefix = freshPrefix()
    const adapter = redisAdapter({ url: redis.url, prefix })
    await adapter.open({ emit: () => undefined })
    const hostile = ['', '*', 'a*', '{x}', 'a b', 'a\nb', 'a:b', '../x', 'UPPER', 'a\u0000b', 'x'.repeat(65), 'ids', '\r\nFLUSHALL\r\n']
    for (const id of hostile.filter((id) => id !== 'ids')) {
      await expect(adapter.list(id, 1)).rejects.toMatchObject({ code: 'INVALID_ID' })
      await expect(adapter.remove(id)).rejects.toMatchObject({ code: 'INVALID_ID' })
      await expect(adapter.put({ ...snap(1), pluginId: id }, 1)).rejects.toMatchObject({ code: 'INVALID_ID' })
    }
    // A valid id that looks like one of the adapter's own key names cannot collide with them.
    await adapter.put(snap(1, 'ids'), 2)
    await adapter.put(snap(1, 'lock'), 2)
    expect(await adapter.ids()).toEqual(['ids', 'lock'])
    expect((await raw.keys(`${prefix}*`)).sort()).toEqual([`${prefix}ids`, `${prefix}lock`, `${prefix}snap:ids`, `${prefix}snap:lock`])
    await adapter.close()
  })

  it('moves a damaged entry to the corrupt list, reports it and serves the newest good one', async () => {
    const prefix = freshPrefix()
    const events: AdapterEvent[] = []
    const adapter = redisAdapter({ url: redis.url, prefix })
    await adapter.open({ emit: (e) => events.push(e) })
    for (let n = 1; n <= 3; n++) await adapter.put(snap(n), 5)
    const good = encodeSnapshotFile(snap(3))
    const damaged = Buffer.from(good)
    damaged[damaged.length - 3]! ^= 0x04
    await raw.lset(`${prefix}snap:victim`, 0, damaged)
    const list = await adapter.list('victim', 5)
    expect(list.map((s) => (s.data as { n: number }).n)).toEqual([2, 1])
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'corrupt', pluginId: 'victim', movedTo: `${prefix}corrupt:victim` })
    expect(events[0]?.type === 'corrupt' && events[0].error.code).toBe('CORRUPT')
    expect(await raw.lrangeBuffer(`${prefix}corrupt:victim`, 0, -1)).toEqual([damaged])
    expect(await raw.llen(`${prefix}snap:victim`)).toBe(2)
    await adapter.close()
  })

  it('refuses an entry of a newer format and leaves it untouched, also through the store', async () => {
    const prefix = freshPrefix()
    const seed = redisAdapter({ url: redis.url, prefix })
    await seed.open({ emit: () => undefined })
    await seed.put(snap(1), 5)
    await seed.close()
    const body = JSON.stringify({ ...snap(2), futureField: true })
    const head = `hotswap-state 3 ${Buffer.byteLength(body)}`
    const digest = createHash('sha256').update(`${head}\n`).update(body).digest('hex')
    const newer = Buffer.from(`${head} ${digest}\n${body}`)
    await raw.lpush(`${prefix}snap:victim`, newer)
    const store = await createStateStore({ adapter: redisAdapter({ url: redis.url, prefix }) })
    await expect(store.latest('victim')).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' })
    expect(await raw.lindexBuffer(`${prefix}snap:victim`, 0)).toEqual(newer)
    // A later save goes on top (as with the file adapter); the refused entry stays, byte for byte.
    await store.save(snap(3))
    await store.close()
    expect(await raw.lindexBuffer(`${prefix}snap:victim`, 1)).toEqual(newer)
  })

  it('a second store on the same prefix is refused with LOCKED until the first closes', async () => {
    const prefix = freshPrefix()
    const first = redisAdapter({ url: redis.url, prefix })
    await first.open({ emit: () => undefined })
    const second = redisAdapter({ url: redis.url, prefix })
    await expect(second.open({ emit: () => undefined })).rejects.toMatchObject({ code: 'LOCKED' })
    await first.close()
    const third = redisAdapter({ url: redis.url, prefix })
    await third.open({ emit: () => undefined })
    await third.close()
  })

  it('rejects bad options with INVALID_OPTIONS', () => {
    expect(() => redisAdapter({ prefix: '' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => redisAdapter({ commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/)
    expect(() => redisAdapter({ lockTtlMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  it('open rejects with UNAVAILABLE when nothing listens, without hanging', async () => {
    const port = await freePort()
    const adapter = redisAdapter({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 1000 })
    const error = await adapter.open({ emit: () => undefined }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(StateStoreError)
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`127.0.0.1:${port}`) })
    await adapter.close()
  }, 10_000)

  it('while Redis is down calls reject with UNAVAILABLE; once it is back the saves land again', async () => {
    const own = await startRedis()
    const store = await createStateStore({ adapter: redisAdapter({ url: own.url, prefix: 'p:', commandTimeoutMs: 1000 }) })
    await store.save(snap(1))
    await own.stop()
    await expect(store.save(snap(2))).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    await expect(store.latest('victim')).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    const back = await startRedis({ port: own.port })
    try {
      // The client reconnects by itself (backoff up to 2 s); the first save after that lands.
      const deadline = Date.now() + 15_000
      for (;;) {
        const saved = await store.save(snap(3)).then(() => true, (e: unknown) => {
          if (!(e instanceof StateStoreError) || e.code !== 'UNAVAILABLE' || Date.now() > deadline) throw e
          return false
        })
        if (saved) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect((await store.latest('victim'))?.data).toEqual({ n: 3 })
    } finally {
      await store.close()
      await back.stop()
    }
  }, 30_000)
})
