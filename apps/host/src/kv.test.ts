import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KvError, KvStore } from './kv.js'

// The host's kv service on a real directory.
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotswap-kv-'))
})
afterEach(async () => {
  await chmod(dir, 0o700).catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
})

const code = async (promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> => {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    return error instanceof KvError ? error.code : `not a KvError: ${String(error)}`
  }
  return undefined
}

describe('KvStore', () => {
  it('keeps values on disk: a store opened again sees them', async () => {
    const kv = await KvStore.open(dir)
    await kv.set('links:link:abc', { url: 'https://example.com' })
    await kv.set('other', 1)
    expect(await kv.delete('other')).toBe(true)
    expect(await kv.delete('other')).toBe(false)
    await kv.close()
    const again = await KvStore.open(dir)
    expect(again.get('links:link:abc')).toEqual({ url: 'https://example.com' })
    expect(again.get('other')).toBeNull()
    expect(JSON.parse(await readFile(join(dir, 'kv.json'), 'utf8'))).toEqual({ 'links:link:abc': { url: 'https://example.com' } })
    await again.close()
  })

  it('increments in one step: 200 concurrent increments count 200, and all of them are on disk', async () => {
    const kv = await KvStore.open(dir)
    const results = await Promise.all(Array.from({ length: 200 }, () => kv.increment('hits:abc')))
    expect(new Set(results).size).toBe(200)
    expect(kv.get('hits:abc')).toBe(200)
    await kv.close()
    expect((await KvStore.open(dir)).get('hits:abc')).toBe(200)
  })

  it('lists by prefix, sorted by key', async () => {
    const kv = await KvStore.open(dir)
    await Promise.all([kv.set('a:2', 2), kv.set('a:1', 1), kv.set('b:1', 3)])
    expect(kv.list('a:')).toEqual([
      ['a:1', 1],
      ['a:2', 2],
    ])
    expect(kv.list()).toHaveLength(3)
    await kv.close()
  })

  it('refuses bad keys, non-JSON values, values too large and increments of non-numbers, changing nothing', async () => {
    const kv = await KvStore.open(dir)
    await kv.set('s', 'text')
    expect(await code(() => kv.get('has space'))).toBe('INVALID_KEY')
    expect(await code(kv.set('', 1))).toBe('INVALID_KEY')
    expect(await code(kv.set('x'.repeat(257), 1))).toBe('INVALID_KEY')
    expect(await code(kv.set('f', (() => 1) as never))).toBe('INVALID_VALUE')
    expect(await code(kv.set('big', 'x'.repeat(70_000)))).toBe('TOO_LARGE')
    expect(await code(kv.increment('s'))).toBe('INVALID_VALUE')
    expect(await code(kv.increment('n', Number.NaN))).toBe('INVALID_VALUE')
    expect(kv.list()).toEqual([['s', 'text']])
    await kv.close()
    expect(await code(kv.set('late', 1))).toBe('CLOSED')
  })

  it('refuses a corrupt kv.json with CORRUPT and leaves it as it is', async () => {
    await writeFile(join(dir, 'kv.json'), '{ not json')
    expect(await code(KvStore.open(dir))).toBe('CORRUPT')
    expect(await readFile(join(dir, 'kv.json'), 'utf8')).toBe('{ not json')
  })

  it.skipIf(process.getuid?.() === 0)('a failed write rejects its caller, and the next change writes everything once the disk is back', async () => {
    const kv = await KvStore.open(dir)
    await kv.set('a', 1)
    await chmod(dir, 0o500)
    expect(await code(kv.set('b', 2))).toMatch(/not a KvError: .*EACCES/)
    await chmod(dir, 0o700)
    await kv.set('c', 3)
    await kv.close()
    expect((await KvStore.open(dir)).list()).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ])
  })
})
