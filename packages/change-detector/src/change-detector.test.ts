import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { chmod, mkdir, mkdtemp, open, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChangeDetector, ChangeDetectorError, fnv1a64Hex, hashFile, fnv1a32, fnv1a64 } from './index.js'
import { fromFsError } from './errors.js'
import { readAndHash } from './hash-file.js'
import type * as HashFile from './hash-file.js'

// The real reader, wrapped so a test can count how often the detector reads a file.
vi.mock('./hash-file.js', async (importOriginal) => {
  const real = await importOriginal<typeof HashFile>()
  return { ...real, readAndHash: vi.fn(real.readAndHash) }
})

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotswap-cd-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Sets a file's mtime well in the past so the racy window does not force re-reads. */
async function age(path: string, secondsAgo = 60): Promise<void> {
  const t = Date.now() / 1000 - secondsAgo
  await utimes(path, t, t)
}

describe('ChangeDetector', () => {
  it('says added, then unchanged, then modified on a real change, each against the previous check', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'export default 1')
    const detector = new ChangeDetector()
    const first = await detector.check(file)
    expect(first).toMatchObject({ status: 'added', hash: fnv1a64Hex('export default 1'), previousHash: undefined, size: 16 })
    expect(await detector.check(file)).toMatchObject({ status: 'unchanged', hash: first.hash, previousHash: first.hash })
    await writeFile(file, 'export default 2')
    const changed = await detector.check(file)
    expect(changed).toMatchObject({ status: 'modified', hash: fnv1a64Hex('export default 2'), previousHash: first.hash })
    expect((await detector.check(file)).status).toBe('unchanged')
  })

  it('gives a hash and a size whenever the file exists, and none when it is removed (narrowed by status)', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'abc')
    const detector = new ChangeDetector()
    const result = await detector.check(file)
    if (result.status === 'removed') throw new Error('expected the file to exist')
    // No `!` needed: the type of `hash` and `size` is narrowed by `status`.
    const hash: string = result.hash
    const size: number = result.size
    expect([hash, size]).toEqual([fnv1a64Hex('abc'), 3])
    await unlink(file)
    const gone = await detector.check(file)
    expect(gone).toEqual({ path: file, status: 'removed', hash: undefined, previousHash: hash, size: undefined, read: false })
  })

  it('treats a touch without a content change as unchanged', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'same')
    const detector = new ChangeDetector()
    await detector.check(file)
    const later = Date.now() / 1000 + 5
    await utimes(file, later, later)
    const result = await detector.check(file)
    expect(result.status).toBe('unchanged')
    expect(result.read).toBe(true) // mtime moved, so it had to look at the content
  })

  it('treats a rewrite with the same bytes as unchanged', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'identical build output')
    const detector = new ChangeDetector()
    await detector.check(file)
    await writeFile(file, 'identical build output')
    expect((await detector.check(file)).status).toBe('unchanged')
  })

  it('answers from size and mtime without reading when nothing moved, unless asked to verify', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'content')
    await age(file)
    const detector = new ChangeDetector()
    await detector.check(file)
    const fast = await detector.check(file)
    expect(fast).toMatchObject({ status: 'unchanged', read: false })
    const verified = await detector.check(file, { verify: true })
    expect(verified).toMatchObject({ status: 'unchanged', read: true })
  })

  it('re-reads a file written within the racy window even when size and mtime match', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'aaaa')
    const detector = new ChangeDetector({ racyWindowMs: 60_000 })
    await detector.check(file)
    // Same size, and the mtime forced back to the very same value: only a re-read can see it.
    const { mtime } = await stat(file)
    await writeFile(file, 'bbbb')
    await utimes(file, mtime, mtime)
    const second = await detector.check(file)
    expect(second).toMatchObject({ status: 'modified', read: true, hash: fnv1a64Hex('bbbb') })
  })

  it('reports a delete as removed with the hash it had, and the file coming back as added', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'one')
    const detector = new ChangeDetector()
    await detector.check(file)
    await unlink(file)
    expect(await detector.check(file)).toMatchObject({ status: 'removed', hash: undefined, previousHash: fnv1a64Hex('one') })
    expect(await detector.check(file)).toMatchObject({ status: 'removed', previousHash: undefined })
    await writeFile(file, 'one')
    expect(await detector.check(file)).toMatchObject({ status: 'added', hash: fnv1a64Hex('one'), previousHash: undefined })
  })

  it('says removed with no previous hash for a path it never saw', async () => {
    const detector = new ChangeDetector()
    expect(await detector.check(join(dir, 'nope.mjs'))).toMatchObject({ status: 'removed', previousHash: undefined })
    expect(await detector.check(join(dir, 'nope', 'deeper.mjs'))).toMatchObject({ status: 'removed' })
  })

  it('gives typed errors for a directory and for a file it may not read', async () => {
    const detector = new ChangeDetector()
    await mkdir(join(dir, 'sub'))
    await expect(detector.check(join(dir, 'sub'))).rejects.toMatchObject({ name: 'ChangeDetectorError', code: 'IS_DIRECTORY' })
    const secret = join(dir, 'secret.mjs')
    await writeFile(secret, 'x')
    await chmod(secret, 0o000)
    const canBypass = process.getuid?.() === 0
    if (canBypass) {
      // root reads any file: the mapping of EACCES/EPERM is checked directly below
      expect((await detector.check(secret)).status).toBe('added')
    } else {
      await expect(detector.check(secret)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' })
    }
    for (const code of ['EACCES', 'EPERM']) {
      expect(fromFsError(Object.assign(new Error(code), { code }), secret)).toMatchObject({ code: 'PERMISSION_DENIED', path: secret })
    }
    expect(fromFsError(Object.assign(new Error('EIO'), { code: 'EIO' }), secret).code).toBe('IO_ERROR')
  })

  it('reads a file once for concurrent checks of the same path', async () => {
    const file = join(dir, 'big.bin')
    await writeFile(file, Buffer.alloc(4 * 1024 * 1024, 7))
    const detector = new ChangeDetector()
    const reads = vi.mocked(readAndHash)
    reads.mockClear()
    const results = await Promise.all(Array.from({ length: 8 }, () => detector.check(file, { verify: true })))
    expect(reads).toHaveBeenCalledTimes(1)
    expect(new Set(results.map((r) => r.hash)).size).toBe(1)
    expect(results.every((r) => r.read)).toBe(true)
    // All eight got the very same observation object's hash from one read: the inflight map is
    // empty again, and a later fast-path check returns without reading.
    await age(file)
    const again = await detector.check(file, { verify: true })
    expect((await detector.check(file)).read).toBe(false)
    expect(again.hash).toBe(results[0]!.hash)
  })

  it('never reports a hash that mixes two versions of a file being written while it is hashed', async () => {
    const file = join(dir, 'growing.bin')
    const chunk = Buffer.alloc(128 * 1024, 1)
    const chunks = 24
    const handle = await open(file, 'w')
    const detector = new ChangeDetector({ maxRereads: 2 })
    const writer = (async () => {
      for (let i = 0; i < chunks; i++) {
        chunk.fill(i)
        await handle.write(chunk)
      }
      await handle.close()
    })()
    const seen: string[] = []
    let unstable = 0
    while (seen.length + unstable < 60) {
      try {
        const r = await detector.check(file, { verify: true })
        if (r.hash !== undefined) seen.push(`${r.size}:${r.hash}`)
      } catch (error) {
        expect(error).toBeInstanceOf(ChangeDetectorError)
        expect((error as ChangeDetectorError).code).toBe('UNSTABLE')
        unstable++
      }
      if (await Promise.race([writer.then(() => true), Promise.resolve(false)])) break
    }
    await writer
    // Every reported (size, hash) must be the hash of a whole prefix written by whole chunks.
    const prefixHash = (n: number): string => {
      const parts = Array.from({ length: n }, (_, i) => Buffer.alloc(chunk.length, i))
      return fnv1a64Hex(Buffer.concat(parts))
    }
    for (const entry of new Set(seen)) {
      const [size, hash] = entry.split(':')
      const n = Number(size) / chunk.length
      if (Number.isInteger(n)) expect(hash).toBe(prefixHash(n))
    }
    const final = await detector.check(file, { verify: true })
    expect(final.hash).toBe(prefixHash(chunks))
  }, 30_000)

  it('forgets a path, and refuses bad options with INVALID_OPTIONS', async () => {
    const file = join(dir, 'a.mjs')
    await writeFile(file, 'x')
    const detector = new ChangeDetector()
    await detector.check(file)
    expect(detector.forget(file)).toBe(true)
    expect(detector.forget(file)).toBe(false)
    expect((await detector.check(file)).status).toBe('added')
    for (const options of [{ racyWindowMs: -1 }, { maxRereads: 1.5 }, { maxRereads: -1 }, { racyWindowMs: Number.NaN }]) {
      expect(() => new ChangeDetector(options)).toThrow(expect.objectContaining({ name: 'ChangeDetectorError', code: 'INVALID_OPTIONS' }))
    }
  })
})

describe('hashFile', () => {
  it('streams a file larger than its buffer and matches the in-memory hash', async () => {
    const file = join(dir, 'large.bin')
    const data = Buffer.alloc(3 * 1024 * 1024 + 17)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 0xff
    await writeFile(file, data)
    expect(await hashFile(file)).toBe(fnv1a64(data))
    expect(await hashFile(file, { bits: 32, bufferSize: 4096 })).toBe(fnv1a32(data))
    expect(await hashFile(file, { bufferSize: 1000 })).toBe(fnv1a64(data))
  })

  it('gives typed errors for a missing file, a directory and bad options', async () => {
    await expect(hashFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'IO_ERROR', cause: expect.objectContaining({ code: 'ENOENT' }) })
    await expect(hashFile(dir)).rejects.toMatchObject({ code: 'IS_DIRECTORY' })
    await expect(hashFile(dir, { bits: 16 as 32 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
    await writeFile(join(dir, 'f'), 'x')
    await expect(hashFile(join(dir, 'f'), { bufferSize: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
  })
})

describe('ChangeDetector and atomic saves', () => {
  it('never reports removed for a file replaced by rename while it is being read', async () => {
    const { rename } = await import('node:fs/promises')
    const file = join(dir, 'atomic.mjs')
    await writeFile(file, Buffer.alloc(2 * 1024 * 1024, 1))
    const detector = new ChangeDetector({ maxRereads: 20 })
    let replacing = true
    const replacer = (async () => {
      for (let i = 0; i < 40; i++) {
        const tmp = join(dir, `atomic.${i}.tmp`)
        await writeFile(tmp, Buffer.alloc(2 * 1024 * 1024, i % 250))
        await rename(tmp, file)
      }
      replacing = false
    })()
    const statuses = new Set<string>()
    while (replacing) {
      try {
        statuses.add((await detector.check(file, { verify: true })).status)
      } catch (error) {
        expect((error as ChangeDetectorError).code).toBe('UNSTABLE')
      }
    }
    await replacer
    expect(statuses.has('removed')).toBe(false)
    expect(await detector.check(file, { verify: true })).toMatchObject({ hash: fnv1a64Hex(Buffer.alloc(2 * 1024 * 1024, 39)) })
  }, 30_000)
})
