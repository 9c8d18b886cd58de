import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toJsonValue } from './json.js'

describe('toJsonValue', () => {
  it('copies JSON values deeply and exactly', () => {
    const value = { a: [1, 'two', null, true, { b: -0.5 }], '': {}, 'x.y': [] }
    const copy = toJsonValue(value, 'data')
    expect(copy).toEqual(value)
    expect(copy).not.toBe(value)
    expect((copy as { a: unknown[] }).a).not.toBe(value.a)
  })

  it('keeps a "__proto__" key as plain data', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}}') as object
    const copy = toJsonValue(value, 'data') as Record<string, unknown>
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.keys(copy)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([
    ['undefined', { a: undefined }, 'data.a is a undefined'],
    ['a function', { f: () => 1 }, 'data.f is a function'],
    ['a symbol', [Symbol('s')], 'data[0] is a symbol'],
    ['a bigint', { n: 1n }, 'data.n is a bigint'],
    ['NaN', { n: Number.NaN }, 'data.n is the number NaN'],
    ['Infinity', [Infinity], 'data[0] is the number Infinity'],
    ['a Date', { 'created at': new Date(0) }, 'data["created at"] is a Date instance'],
    ['a Map', { m: new Map() }, 'data.m is a Map instance'],
    ['a Buffer', { b: Buffer.from('x') }, 'data.b is a Buffer instance'],
    ['a sparse array', { s: sparse() }, 'data.s[1] is a hole in a sparse array'],
    ['an accessor', Object.defineProperty({}, 'g', { get: () => 1, enumerable: true }), 'data.g is an accessor'],
  ])('rejects %s with INVALID_DATA naming the path', (_kind, value, message) => {
    expect(() => toJsonValue(value, 'data')).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringContaining(message) }))
  })

  it('rejects cycles but accepts shared references', () => {
    const shared = { x: 1 }
    expect(toJsonValue({ a: shared, b: shared }, 'data')).toEqual({ a: { x: 1 }, b: { x: 1 } })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = { back: cyclic }
    expect(() => toJsonValue(cyclic, 'data')).toThrow(/data\.self\.back is a circular reference/)
  })

  it('accepts exactly what JSON round-trips (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(toJsonValue(value, 'data')).toEqual(JSON.parse(JSON.stringify(value)))
      }),
      { numRuns: 300 },
    )
  })
})

function sparse(): number[] {
  const list = [1, 2, 3]
  // eslint-disable-next-line @typescript-eslint/no-array-delete -- a hole is what this test needs
  delete list[1]
  return list
}
