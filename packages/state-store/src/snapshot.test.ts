import { describe, expect, it } from 'vitest'
import type { JsonObject } from './json.js'
import { createSnapshot, isCompatible, readValue } from './snapshot.js'
import type { CreateSnapshotInput } from './snapshot.js'

const at = (pluginVersion: string): ReturnType<typeof createSnapshot> =>
  createSnapshot({ pluginId: 'p', pluginVersion, data: { count: 3, user: { name: 'ann', tags: ['a'] }, 'a.b': 1 } })

describe('createSnapshot', () => {
  it('fills defaults and copies the data', () => {
    const data = { count: 1 }
    const before = Date.now()
    const snapshot = createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data })
    expect(snapshot).toMatchObject({ pluginId: 'counter', pluginVersion: '1.0.0', schemaVersion: 1, data: { count: 1 }, metadata: {} })
    expect(snapshot.timestamp).toBeGreaterThanOrEqual(before)
    data.count = 2
    expect(snapshot.data).toEqual({ count: 1 })
  })

  it.each<[Partial<CreateSnapshotInput<unknown>>, string]>([
    [{ pluginId: 'Nope' }, 'INVALID_ID'],
    [{ pluginVersion: '1.0' }, 'INVALID_DATA'],
    [{ schemaVersion: 1.5 }, 'INVALID_DATA'],
    [{ schemaVersion: -1 }, 'INVALID_DATA'],
    [{ timestamp: Number.NaN }, 'INVALID_DATA'],
    [{ metadata: [] as unknown as JsonObject }, 'INVALID_DATA'],
    [{ data: { d: new Date() } }, 'INVALID_DATA'],
  ])('rejects %o with %s', (override, code) => {
    expect(() => createSnapshot({ pluginId: 'p', pluginVersion: '1.0.0', data: {}, ...override })).toThrow(
      expect.objectContaining({ code }),
    )
  })
})

describe('readValue', () => {
  const snapshot = at('1.0.0')
  it('reads by dotted path or key array, typed by the fallback', () => {
    expect(readValue(snapshot, 'count', 0)).toBe(3)
    expect(readValue(snapshot, 'user.name', '')).toBe('ann')
    expect(readValue(snapshot, ['user', 'tags', 0], '')).toBe('a')
    expect(readValue(snapshot, ['a.b'], 0)).toBe(1)
    expect(readValue(snapshot, '', {})).toEqual(snapshot.data)
  })

  it('falls back when missing, of another kind, or without a snapshot', () => {
    expect(readValue(snapshot, 'missing', 7)).toBe(7)
    expect(readValue(snapshot, 'count', 'x')).toBe('x')
    expect(readValue(snapshot, 'user', [] as unknown[])).toEqual([])
    expect(readValue(snapshot, 'user.name.length', 0)).toBe(0)
    expect(readValue(snapshot, 'constructor', 0)).toBe(0)
    expect(readValue(undefined, 'count', 5)).toBe(5)
  })

  it('uses a guard when given', () => {
    const isTags = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string')
    expect(readValue(snapshot, 'user.tags', [], isTags)).toEqual(['a'])
    expect(readValue(snapshot, 'count', ['none'], isTags)).toEqual(['none'])
  })
})

describe('isCompatible', () => {
  it('compares semver majors by default', () => {
    expect(isCompatible(at('1.2.0'), '1.9.3')).toBe(true)
    expect(isCompatible(at('1.9.3'), '2.0.0')).toBe(false)
    expect(isCompatible(at('2.0.0-rc.1'), '2.1.0')).toBe(true)
    expect(isCompatible(at('0.3.0'), '0.4.0')).toBe(true)
    expect(isCompatible(at('1.0.0+build.1'), '1.0.1')).toBe(true)
  })

  it('supports minor, exact and custom rules', () => {
    expect(isCompatible(at('1.2.0'), '1.2.9', 'minor')).toBe(true)
    expect(isCompatible(at('1.2.0'), '1.3.0', 'minor')).toBe(false)
    expect(isCompatible(at('1.2.0'), '1.2.0', 'exact')).toBe(true)
    expect(isCompatible(at('1.2.0'), '1.2.1', 'exact')).toBe(false)
    const seen: string[] = []
    const rule = (from: string, to: string): boolean => (seen.push(`${from}->${to}`), to.startsWith('3.'))
    expect(isCompatible(at('1.2.0'), '3.0.0', rule)).toBe(true)
    expect(seen).toEqual(['1.2.0->3.0.0'])
  })

  it('rejects a target that is not semver', () => {
    expect(() => isCompatible(at('1.0.0'), 'v-next')).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }))
  })
})
