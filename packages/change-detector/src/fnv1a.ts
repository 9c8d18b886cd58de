import { ChangeDetectorError } from './errors.js'
import {
  FNV32_OFFSET,
  FNV64_OFFSET_HI,
  FNV64_OFFSET_LO,
  hex32,
  toBigInt,
  update32,
  update64,
  updateString32,
  updateString64,
  type State64,
} from './kernel.js'

/**
 * What the FNV functions hash: bytes as they are, or a string as its UTF-8 bytes.
 *
 * @example
 * ```ts
 * const inputs: HashInput[] = ['héllo', new TextEncoder().encode('héllo'), Buffer.from('héllo')]
 * inputs.map(fnv1a64Hex) // the same hash three times
 * ```
 */
export type HashInput = Uint8Array | string

const state: State64 = { lo: 0, hi: 0 }

/**
 * FNV-1a 32 of bytes, or of a string's UTF-8 bytes.
 *
 * Strings are hashed from their char codes without allocating a Buffer; inputs of a few hundred
 * bytes and more go through a small WebAssembly loop.
 *
 * @param input - a `Uint8Array`/`Buffer`, or a string (hashed as UTF-8, lone surrogates as U+FFFD)
 * @returns the hash as an unsigned 32-bit integer
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `input` is neither bytes nor a string
 * @example
 * ```ts
 * fnv1a32('foobar') === 0xbf9cf968 // true
 * ```
 * @see {@link fnv1a64}
 */
export function fnv1a32(input: HashInput): number {
  if (typeof input === 'string') return updateString32(FNV32_OFFSET, input)
  assertBytes(input)
  return update32(FNV32_OFFSET, input, 0, input.length)
}

/**
 * FNV-1a 64 of bytes, or of a string's UTF-8 bytes.
 *
 * The loop works on two 32-bit halves (no BigInt while hashing) or, for longer inputs, in a
 * WebAssembly kernel with native 64-bit multiplies; one bigint is made for the result.
 *
 * @param input - a `Uint8Array`/`Buffer`, or a string (hashed as UTF-8, lone surrogates as U+FFFD)
 * @returns the hash as an unsigned 64-bit bigint
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `input` is neither bytes nor a string
 * @example
 * ```ts
 * fnv1a64('foobar') === 0x85944171f73967e8n // true
 * ```
 * @see {@link fnv1a64Hex} for the same hash as 16 hex digits without a bigint
 */
export function fnv1a64(input: HashInput): bigint {
  const signed = run64(input, false)
  return signed === undefined ? toBigInt(state.lo, state.hi) : BigInt.asUintN(64, signed)
}

/**
 * FNV-1a 64 as 16 lowercase hex digits, computed without creating a bigint.
 *
 * @param input - a `Uint8Array`/`Buffer`, or a string (hashed as UTF-8)
 * @returns the hash, zero-padded to 16 hex digits
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `input` is neither bytes nor a string
 * @example
 * ```ts
 * fnv1a64Hex('foobar') // '85944171f73967e8'
 * ```
 */
export function fnv1a64Hex(input: HashInput): string {
  run64(input, true)
  return hex32(state.hi) + hex32(state.lo)
}

/**
 * FNV-1a 32 as 8 lowercase hex digits.
 *
 * @param input - a `Uint8Array`/`Buffer`, or a string (hashed as UTF-8)
 * @returns the hash, zero-padded to 8 hex digits
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `input` is neither bytes nor a string
 * @example
 * ```ts
 * fnv1a32Hex('foobar') // 'bf9cf968'
 * ```
 */
export function fnv1a32Hex(input: HashInput): string {
  return hex32(fnv1a32(input))
}

/**
 * Formats a 64-bit hash (as returned by {@link fnv1a64}) as 16 lowercase hex digits.
 *
 * @param hash - an unsigned 64-bit value
 * @returns the hash, zero-padded to 16 hex digits
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `hash` is negative or wider than 64 bits
 * @example
 * ```ts
 * toHex64(0xcbf29ce484222325n) // 'cbf29ce484222325'
 * ```
 */
export function toHex64(hash: bigint): string {
  if (hash < 0n || hash > 0xffffffffffffffffn) {
    throw new ChangeDetectorError('INVALID_OPTIONS', `toHex64 takes an unsigned 64-bit bigint, got ${hash}`)
  }
  return hash.toString(16).padStart(16, '0')
}

/**
 * Parses 16 hex digits (as made by {@link toHex64} or {@link fnv1a64Hex}) back into a bigint.
 *
 * @param hex - one to sixteen hex digits, without `0x`
 * @returns the value as a bigint
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `hex` is not 1 to 16 hex digits
 * @example
 * ```ts
 * fromHex64('85944171f73967e8') === 0x85944171f73967e8n // true
 * ```
 */
export function fromHex64(hex: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) {
    throw new ChangeDetectorError('INVALID_OPTIONS', `fromHex64 takes 1 to 16 hex digits, got ${JSON.stringify(hex)}`)
  }
  return BigInt('0x' + hex)
}

/**
 * FNV-1a 64 of bytes through the pure JavaScript loop only (never the WebAssembly kernel), for
 * benchmarks that compare the two kernels.
 *
 * @param input - the bytes to hash
 * @returns the hash as an unsigned 64-bit bigint
 * @throws {@link ChangeDetectorError} `INVALID_OPTIONS` when `input` is not a Uint8Array
 * @internal
 */
export function fnv1a64JsOnly(input: Uint8Array): bigint {
  assertBytes(input)
  state.lo = FNV64_OFFSET_LO
  state.hi = FNV64_OFFSET_HI
  update64(state, input, 0, input.length, false)
  return toBigInt(state.lo, state.hi)
}

function run64(input: HashInput, keepState: boolean): bigint | undefined {
  state.lo = FNV64_OFFSET_LO
  state.hi = FNV64_OFFSET_HI
  if (typeof input === 'string') return updateString64(state, input, keepState)
  assertBytes(input)
  return update64(state, input, 0, input.length)
}

/** Throws unless the value is a Uint8Array (Buffer included). @internal */
export function assertBytes(input: unknown): asserts input is Uint8Array {
  if (!(input instanceof Uint8Array)) {
    throw new ChangeDetectorError(
      'INVALID_OPTIONS',
      `expected a Uint8Array, Buffer or string to hash, got ${input === null ? 'null' : typeof input}`,
    )
  }
}
