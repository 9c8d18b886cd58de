/**
 * Hash bytes with FNV-1a 32.
 *
 * @param input - bytes to hash
 * @returns the 32-bit hash as an unsigned number
 * @throws never
 * @example
 * ```ts
 * fnv1a32(new Uint8Array([97])) // 0xe40c292c
 * ```
 */
export function fnv1a32(input: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < input.length; i++) {
    h ^= input[i]!
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
