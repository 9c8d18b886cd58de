import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createFnv1a32, createFnv1a64, fnv1a32, fnv1a32Hex, fnv1a64, fnv1a64Hex, fnv1a64JsOnly, fromHex64, toHex64 } from './index.js'
import { ChangeDetectorError } from './errors.js'
import { FNV1A_32_EXPECTED, FNV1A_64_EXPECTED, FNV_TEST_STRINGS } from './fixtures/fnv-test-vectors.js'

// A deliberately naive reference: BigInt arithmetic straight from the definition.
function reference64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn
  return h
}
function reference32(bytes: Uint8Array): number {
  let h = 0x811c9dc5n
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x01000193n) & 0xffffffffn
  return Number(h)
}

describe('FNV reference test suite (test_fnv.c)', () => {
  it('has all 203 test strings with both expected tables', () => {
    expect(FNV_TEST_STRINGS).toHaveLength(203)
    expect(FNV1A_32_EXPECTED).toHaveLength(203)
    expect(FNV1A_64_EXPECTED).toHaveLength(203)
  })

  it.each(FNV_TEST_STRINGS.map((v, i) => [i, v.label, v.bytes] as const))('vector %i %s', (i, _label, bytes) => {
    expect(fnv1a32(bytes)).toBe(FNV1A_32_EXPECTED[i])
    expect(fnv1a64(bytes)).toBe(FNV1A_64_EXPECTED[i])
    expect(fnv1a64Hex(bytes)).toBe(toHex64(FNV1A_64_EXPECTED[i]!))
    expect(createFnv1a64().update(bytes).digest()).toBe(FNV1A_64_EXPECTED[i])
    expect(createFnv1a32().update(bytes).digest()).toBe(FNV1A_32_EXPECTED[i])
  })

  it('hashes the ASCII vectors the same as strings', () => {
    for (const [i, v] of FNV_TEST_STRINGS.entries()) {
      if (v.bytes.some((b) => b >= 0x80)) continue
      const text = Buffer.from(v.bytes).toString('latin1')
      expect(fnv1a64(text)).toBe(FNV1A_64_EXPECTED[i])
      expect(fnv1a32(text)).toBe(FNV1A_32_EXPECTED[i])
    }
  })
})

describe('fnv1a32 / fnv1a64', () => {
  it('hash non-ASCII strings as their UTF-8 bytes', () => {
    for (const text of ['héllo', 'ßtraße', '日本語のテキスト', '🙂 emoji 🎉', 'x'.repeat(300) + 'ä', 'mixé'.repeat(20000)]) {
      const utf8 = Buffer.from(text, 'utf8')
      expect(fnv1a64(text)).toBe(reference64(utf8))
      expect(fnv1a32(text)).toBe(reference32(utf8))
    }
  })

  it('hash lone surrogates as U+FFFD, like Buffer.from', () => {
    for (const text of ['\ud800', 'a\udc00b', 'end\ud83d']) {
      expect(fnv1a64(text)).toBe(reference64(Buffer.from(text, 'utf8')))
    }
  })

  it('match a BigInt reference on random bytes of every length around the wasm threshold and the 64 KiB page', () => {
    const agrees = (bytes: Uint8Array): void => {
      expect(fnv1a64(bytes)).toBe(reference64(bytes))
      expect(fnv1a32(bytes)).toBe(reference32(bytes))
      expect(fnv1a64JsOnly(bytes)).toBe(reference64(bytes))
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), agrees), { numRuns: 150 })
    // Around the 64 KiB page: fewer runs, as the BigInt reference is slow on 64 KiB.
    fc.assert(fc.property(fc.uint8Array({ minLength: 65530, maxLength: 65560 }), agrees), { numRuns: 20 })
  }, 180_000) // pure CPU: 4 s on an idle machine, over 60 s at a load average of 26

  it('match the reference on random strings, including astral and non-BMP text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const utf8 = Buffer.from(text, 'utf8')
        expect(fnv1a64(text)).toBe(reference64(utf8))
        expect(fnv1a32(text)).toBe(reference32(utf8))
      }),
      { numRuns: 300 },
    )
  }, 60_000)

  it('format hashes as hex and parse them back', () => {
    expect(fnv1a64Hex('')).toBe('cbf29ce484222325')
    expect(fnv1a32Hex('')).toBe('811c9dc5')
    expect(fnv1a32Hex('\x01\x00\x00\xff')).toHaveLength(8)
    expect(toHex64(0x1n)).toBe('0000000000000001')
    expect(fromHex64(toHex64(0x85944171f73967e8n))).toBe(0x85944171f73967e8n)
    expect(() => fromHex64('xyz')).toThrow(ChangeDetectorError)
    expect(() => toHex64(-1n)).toThrow(/unsigned 64-bit/)
  })

  it('reject input that is neither bytes nor a string with a typed error', () => {
    expect(() => fnv1a64(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => fnv1a32(null as unknown as string)).toThrow(ChangeDetectorError)
  })
})

describe('incremental hashers', () => {
  it('give the one-shot hash for any split of the bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(3000), { maxLength: 12 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
        const h64 = createFnv1a64()
        const h32 = createFnv1a32()
        let at = 0
        for (const p of [...points, bytes.length]) {
          h64.update(bytes.subarray(at, p))
          h32.update(bytes.subarray(at, p))
          at = p
        }
        expect(h64.digest()).toBe(fnv1a64(bytes))
        expect(h32.digest()).toBe(fnv1a32(bytes))
      }),
      { numRuns: 300 },
    )
  })

  it('give the one-shot hash for any split of a string, even inside a surrogate pair (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 8 }), (text, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
        const h64 = createFnv1a64()
        const h32 = createFnv1a32()
        let at = 0
        for (const p of [...points, text.length]) {
          h64.update(text.slice(at, p))
          h32.update(text.slice(at, p))
          at = p
        }
        expect(h64.digest()).toBe(fnv1a64(text))
        expect(h32.digest()).toBe(fnv1a32(text))
      }),
      { numRuns: 300 },
    )
  })

  it('mix strings and bytes, digest without ending, and reset', () => {
    const h = createFnv1a64().update('foo')
    expect(h.digest()).toBe(fnv1a64('foo'))
    h.update(Buffer.from('bar'))
    expect(h.digestHex()).toBe('85944171f73967e8')
    expect(h.reset().update('a').digest()).toBe(0xaf63dc4c8601ec8cn)
    const split = createFnv1a32().update('\ud83d')
    expect(split.digest()).toBe(fnv1a32('\ud83d'))
    expect(split.update('\ude42').digest()).toBe(fnv1a32('🙂'))
  })
})
