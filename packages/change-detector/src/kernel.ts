// The FNV-1a cores shared by the one-shot functions and the incremental hashers. Long inputs and
// all 64-bit one-shot hashes go through a small WebAssembly kernel (native 64-bit multiplies;
// strings are UTF-8-encoded straight into its memory with TextEncoder.encodeInto, so no Buffer
// is allocated). Short 32-bit inputs stay in JavaScript, where a call costs less than the copy.
// The JavaScript 64-bit loop keeps the state as two int32 halves, so no BigInt is created while
// hashing. Everything here is internal.

import { FNV_WASM_BASE64 } from './wasm-bytes.js'

/** FNV-1a 32 offset basis. */
export const FNV32_OFFSET = 0x811c9dc5
/** Low and high halves of the FNV-1a 64 offset basis 0xcbf29ce484222325. */
export const FNV64_OFFSET_LO = 0x84222325
export const FNV64_OFFSET_HI = 0xcbf29ce4

/** Byte inputs at least this long go to the WebAssembly kernel (measured: below it JS wins). */
const WASM_MIN_BYTES = 192
const PAGE = 65536

interface Kernel {
  readonly memory: Uint8Array
  readonly fnv1a64: (len: number, lo: number, hi: number) => bigint
  readonly fnv1a32: (len: number, h: number) => number
  readonly lo: WebAssembly.Global
  readonly hi: WebAssembly.Global
}

let kernel: Kernel | undefined

function getKernel(): Kernel {
  if (kernel !== undefined) return kernel
  const module = new WebAssembly.Module(Buffer.from(FNV_WASM_BASE64, 'base64'))
  const exports = new WebAssembly.Instance(module).exports as unknown as {
    memory: WebAssembly.Memory
    fnv1a64: Kernel['fnv1a64']
    fnv1a32: Kernel['fnv1a32']
    lo: WebAssembly.Global
    hi: WebAssembly.Global
  }
  kernel = { memory: new Uint8Array(exports.memory.buffer, 0, PAGE), fnv1a64: exports.fnv1a64, fnv1a32: exports.fnv1a32, lo: exports.lo, hi: exports.hi }
  return kernel
}

const encoder = new TextEncoder()

/** A 64-bit hash state as two unsigned 32-bit halves; mutated in place. */
export interface State64 {
  lo: number
  hi: number
}

/**
 * Folds bytes[start..end) into a 64-bit state and returns the new value as a signed 64-bit bigint
 * when the WebAssembly kernel ran (undefined from the JavaScript loop).
 */
export function update64(state: State64, bytes: Uint8Array, start: number, end: number, allowWasm = true): bigint | undefined {
  if (allowWasm && end - start >= WASM_MIN_BYTES) {
    const k = getKernel()
    let result = 0n
    for (let at = start; at < end; at += PAGE) {
      const n = Math.min(PAGE, end - at)
      k.memory.set(bytes.subarray(at, at + n), 0)
      result = k.fnv1a64(n, state.lo, state.hi)
      state.lo = k.lo.value as number
      state.hi = k.hi.value as number
    }
    return result
  }
  let lo = state.lo | 0
  let hi = state.hi | 0
  for (let i = start; i < end; i++) {
    // (hi:lo) = ((hi:lo) ^ byte) * (2^40 + 0x1b3) mod 2^64 with int32 arithmetic only: the
    // 2^40 term adds lo << 8 to hi, and lo * 0x1b3 carries (lo * 0x1b3) >>> 32 into hi.
    lo ^= bytes[i]!
    const carry = ((lo >>> 16) * 0x1b3 + (((lo & 0xffff) * 0x1b3) >>> 16)) >>> 16
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) | 0
    lo = Math.imul(lo, 0x1b3)
  }
  state.lo = lo
  state.hi = hi
  return undefined
}

/**
 * Folds a string's UTF-8 bytes into a 64-bit state, encoding it straight into the kernel's
 * memory; returns the new value as a signed 64-bit bigint. With `keepState` false the state is
 * left stale after the last chunk (reading the kernel's globals costs more than hashing 64 bytes).
 */
export function updateString64(state: State64, str: string, keepState = true): bigint {
  const k = getKernel()
  let rest = str
  for (;;) {
    const { read, written } = encoder.encodeInto(rest, k.memory)
    const result = k.fnv1a64(written, state.lo, state.hi)
    const done = read >= rest.length
    if (keepState || !done) {
      state.lo = k.lo.value as number
      state.hi = k.hi.value as number
    }
    if (done) return result
    rest = rest.slice(read)
  }
}

/** Folds bytes[start..end) into a 32-bit hash and returns it (unsigned). */
export function update32(h: number, bytes: Uint8Array, start: number, end: number): number {
  if (end - start >= WASM_MIN_BYTES) {
    const k = getKernel()
    for (let at = start; at < end; at += PAGE) {
      const n = Math.min(PAGE, end - at)
      k.memory.set(bytes.subarray(at, at + n), 0)
      h = k.fnv1a32(n, h)
    }
    return h >>> 0
  }
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return h >>> 0
}

/**
 * Folds a string's UTF-8 bytes into a 32-bit hash and returns it (unsigned). Short ASCII runs
 * are hashed from the char codes, four at a time; the rest goes through the kernel.
 */
export function updateString32(h: number, str: string): number {
  const n = str.length
  if (n >= WASM_MIN_BYTES) return kernelString32(h, str)
  let i = 0
  for (; i + 4 <= n; i += 4) {
    const c0 = str.charCodeAt(i)
    const c1 = str.charCodeAt(i + 1)
    const c2 = str.charCodeAt(i + 2)
    const c3 = str.charCodeAt(i + 3)
    if ((c0 | c1 | c2 | c3) >= 0x80) break
    h = Math.imul(h ^ c0, 0x01000193)
    h = Math.imul(h ^ c1, 0x01000193)
    h = Math.imul(h ^ c2, 0x01000193)
    h = Math.imul(h ^ c3, 0x01000193)
  }
  for (; i < n; i++) {
    const c = str.charCodeAt(i)
    if (c >= 0x80) return kernelString32(h, str.slice(i))
    h = Math.imul(h ^ c, 0x01000193)
  }
  return h >>> 0
}

function kernelString32(h: number, str: string): number {
  const k = getKernel()
  let rest = str
  for (;;) {
    const { read, written } = encoder.encodeInto(rest, k.memory)
    h = k.fnv1a32(written, h)
    if (read >= rest.length) return h >>> 0
    rest = rest.slice(read)
  }
}

const halves = new Uint32Array(2)
const joined = new BigUint64Array(halves.buffer)
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The state's 64-bit value as an unsigned bigint. */
export function toBigInt(lo: number, hi: number): bigint {
  halves[littleEndian ? 0 : 1] = lo
  halves[littleEndian ? 1 : 0] = hi
  return joined[0]!
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Eight lowercase hex digits of a 32-bit number (signed or unsigned). */
export function hex32(n: number): string {
  return HEX_BYTE[(n >>> 24) & 255]! + HEX_BYTE[(n >>> 16) & 255]! + HEX_BYTE[(n >>> 8) & 255]! + HEX_BYTE[n & 255]!
}
