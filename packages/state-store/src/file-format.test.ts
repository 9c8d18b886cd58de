import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StateStoreError } from './errors.js'
import { decodeSnapshotFile, encodeSnapshotFile, FILE_FORMAT_VERSION } from './file-format.js'
import { createSnapshot } from './snapshot.js'

const snapshot = createSnapshot({
  pluginId: 'greeter',
  pluginVersion: '1.4.0',
  data: { greeted: ['ann', 'bob'], count: 2, ratio: 0.5, unicode: 'é😀' },
  metadata: { reason: 'reload' },
  timestamp: 1_700_000_000_000,
})
const file = encodeSnapshotFile(snapshot)

function outcome(bytes: Buffer): string {
  try {
    decodeSnapshotFile(bytes, 'greeter', 'x')
    return 'ok'
  } catch (error) {
    return error instanceof StateStoreError ? error.code : `unexpected ${String(error)}`
  }
}

describe('snapshot file format', () => {
  it('round-trips a snapshot in the current format', () => {
    expect(file.toString('latin1')).toMatch(new RegExp(`^hotswap-state ${FILE_FORMAT_VERSION} \\d+ [0-9a-f]{64}\\n\\{`))
    expect(decodeSnapshotFile(file, 'greeter', 'x')).toEqual({ snapshot, format: FILE_FORMAT_VERSION })
  })

  it('detects every single-bit flip in the file as CORRUPT', () => {
    const codes = new Map<string, number>()
    for (let byte = 0; byte < file.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(file)
        copy[byte] = copy[byte]! ^ (1 << bit)
        const code = outcome(copy)
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }
    }
    expect(Object.fromEntries(codes)).toEqual({ CORRUPT: file.length * 8 })
  })

  it('detects every truncation as CORRUPT', () => {
    for (let length = 0; length < file.length; length++) expect(outcome(file.subarray(0, length))).toBe('CORRUPT')
  })

  it('never decodes randomly damaged bytes into a different snapshot', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: file.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        (edits) => {
          const copy = Buffer.from(file)
          for (const { at, value } of edits) copy[at] = value
          const result = outcome(copy)
          if (copy.equals(file)) return result === 'ok'
          return result === 'CORRUPT'
        },
      ),
      { numRuns: 1000 },
    )
  })
})
