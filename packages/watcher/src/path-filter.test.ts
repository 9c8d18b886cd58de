import { describe, expect, it } from 'vitest'
import { DEFAULT_EXCLUDE } from './options.js'
import { createPathFilter } from './path-filter.js'

describe('createPathFilter', () => {
  const filter = createPathFilter({ include: ['.mjs', 'config/**/*.json'], exclude: [...DEFAULT_EXCLUDE, 'node_modules/**', '**/cache/**'], recursive: true })

  it('matches extensions anywhere and globs against the relative path', () => {
    expect(filter.acceptsFile('a.mjs')).toBe(true)
    expect(filter.acceptsFile('deep/er/a.mjs')).toBe(true)
    expect(filter.acceptsFile('a.js')).toBe(false)
    expect(filter.acceptsFile('config/x/y.json')).toBe(true)
    expect(filter.acceptsFile('other/y.json')).toBe(false)
  })

  it('excludes base-name patterns at any depth and anchored patterns at the root', () => {
    expect(filter.acceptsFile('deep/a.mjs.tmp')).toBe(false)
    expect(filter.acceptsFile('deep/.a.mjs.swp')).toBe(false)
    expect(filter.acceptsDir('node_modules')).toBe(false)
    expect(filter.acceptsDir('x/node_modules')).toBe(true)
    expect(filter.acceptsDir('x/.git')).toBe(true)
    expect(filter.acceptsDir('.git')).toBe(false)
    expect(filter.acceptsDir('a/b/cache')).toBe(false)
  })

  it('hands only directory patterns to the backend: anchored ones as paths, the others as one RegExp', () => {
    expect(filter.nativeIgnore.filter((p) => typeof p === 'string')).toEqual(['.git', 'node_modules'])
    const re = filter.nativeIgnore.find((p) => p instanceof RegExp)
    expect(re).toBeInstanceOf(RegExp)
    expect((re as RegExp).test('a/cache/x')).toBe(true)
    expect((re as RegExp).test('a/cached/x')).toBe(false)
    expect(filter.nestedIgnore).toEqual([re])
  })

  it('keeps only direct children when not recursive, and one name for a file root', () => {
    const flat = createPathFilter({ include: undefined, exclude: [], recursive: false })
    expect(flat.acceptsFile('a.js')).toBe(true)
    expect(flat.acceptsFile('d/a.js')).toBe(false)
    expect(flat.acceptsDir('d')).toBe(false)
    const one = createPathFilter({ include: undefined, exclude: [], recursive: true, only: 'a(1).js' })
    expect(one.acceptsFile('a(1).js')).toBe(true)
    expect(one.acceptsFile('b.js')).toBe(false)
    expect(one.nativeIgnore).toHaveLength(1)
  })
})
