import { assertBytes, type HashInput } from './fnv1a.js'
import { FNV32_OFFSET, FNV64_OFFSET_HI, FNV64_OFFSET_LO, hex32, toBigInt, update32, update64, updateString32, updateString64, type State64 } from './kernel.js'

/**
 * An incremental FNV-1a hasher: feed chunks with `update`, read the hash with `digest`.
 * Hashing chunks one after another gives the same result as hashing their concatenation,
 * also for strings split inside a surrogate pair.
 *
 * @example
 * ```ts
 * const hasher: FnvHasher<bigint> = createFnv1a64()
 * for (const file of ['a.mjs', 'b.mjs']) hasher.update(file).update(await readFile(file))
 * console.log(hasher.digestHex()) // one hash over names and contents
 * ```
 */
export interface FnvHasher<T extends number | bigint> {
  /** Adds bytes, or a string's UTF-8 bytes; returns the hasher for chaining. */
  update(chunk: HashInput): FnvHasher<T>
  /** The hash of everything added so far (the hasher can keep going after it). */
  digest(): T
  /** {@link FnvHasher.digest} as zero-padded lowercase hex (8 or 16 digits). */
  digestHex(): string
  /** Starts again from the offset basis. */
  reset(): FnvHasher<T>
}

/**
 * Creates an incremental FNV-1a 64 hasher.
 *
 * @returns a hasher whose `digest()` is an unsigned 64-bit bigint
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` from `update` for a chunk that is neither bytes nor a string
 * @example
 * ```ts
 * const h = createFnv1a64()
 * h.update('foo').update(Buffer.from('bar'))
 * h.digest() === fnv1a64('foobar') // true
 * ```
 */
export function createFnv1a64(): FnvHasher<bigint> {
  const s: State64 = { lo: FNV64_OFFSET_LO, hi: FNV64_OFFSET_HI }
  const text = new PendingSurrogate()
  const hasher: FnvHasher<bigint> = {
    update(chunk) {
      if (typeof chunk === 'string') {
        updateString64(s, text.take(chunk))
      } else {
        assertBytes(chunk)
        updateString64(s, text.flush())
        update64(s, chunk, 0, chunk.length)
      }
      return hasher
    },
    digest() {
      const lo = s.lo
      const hi = s.hi
      const tail = text.peek()
      if (tail === '') return toBigInt(lo, hi)
      const copy: State64 = { lo, hi }
      updateString64(copy, tail)
      return toBigInt(copy.lo, copy.hi)
    },
    digestHex() {
      return hasher.digest().toString(16).padStart(16, '0')
    },
    reset() {
      s.lo = FNV64_OFFSET_LO
      s.hi = FNV64_OFFSET_HI
      text.flush()
      return hasher
    },
  }
  return hasher
}

/**
 * Creates an incremental FNV-1a 32 hasher.
 *
 * @returns a hasher whose `digest()` is an unsigned 32-bit number
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` from `update` for a chunk that is neither bytes nor a string
 * @example
 * ```ts
 * const h = createFnv1a32()
 * h.update('foo').update('bar')
 * h.digest() === fnv1a32('foobar') // true
 * ```
 */
export function createFnv1a32(): FnvHasher<number> {
  let h = FNV32_OFFSET
  const text = new PendingSurrogate()
  const hasher: FnvHasher<number> = {
    update(chunk) {
      if (typeof chunk === 'string') {
        h = updateString32(h, text.take(chunk))
      } else {
        assertBytes(chunk)
        h = updateString32(h, text.flush())
        h = update32(h, chunk, 0, chunk.length)
      }
      return hasher
    },
    digest() {
      const tail = text.peek()
      return tail === '' ? h : updateString32(h, tail)
    },
    digestHex() {
      return hex32(hasher.digest())
    },
    reset() {
      h = FNV32_OFFSET
      text.flush()
      return hasher
    },
  }
  return hasher
}

/**
 * Holds a high surrogate that ended a string chunk, so that a pair split across two chunks is
 * encoded as one code point (4 UTF-8 bytes), exactly as in the concatenated string.
 */
class PendingSurrogate {
  #pending = ''

  /** The chunk to hash now, with any held surrogate in front and a trailing one held back. */
  take(chunk: string): string {
    let text = this.#pending === '' ? chunk : this.#pending + chunk
    this.#pending = ''
    const last = text.charCodeAt(text.length - 1)
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#pending = text.slice(-1)
      text = text.slice(0, -1)
    }
    return text
  }

  /** The held surrogate (hashed as U+FFFD by the encoder), emptied. */
  flush(): string {
    const text = this.#pending
    this.#pending = ''
    return text
  }

  peek(): string {
    return this.#pending
  }
}
