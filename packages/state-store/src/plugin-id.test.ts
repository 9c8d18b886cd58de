import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isValidPluginId, pluginIdProblem, validatePluginId } from './plugin-id.js'

describe('plugin id rule', () => {
  it.each(['a', 'greeter', 'my-plugin', 'x.y_z-1', '0', 'a'.repeat(64), 'console', 'con-1', 'comx', 'a..b'])('accepts %j', (id) => {
    expect(pluginIdProblem(id)).toBeUndefined()
    expect(() => validatePluginId(id)).not.toThrow()
  })

  it.each([
    ['', 'must match'],
    ['.', 'must match'],
    ['..', 'must match'],
    ['.hidden', 'must match'],
    ['a/b', 'must match'],
    ['a\\b', 'must match'],
    ['Upper', 'must match'],
    ['a'.repeat(65), 'must match'],
    ['a.', 'must not end with "."'],
    ['con', 'reserved device name'],
    ['nul.txt', 'reserved device name'],
    ['com1', 'reserved device name'],
    ['lpt9.log.old', 'reserved device name'],
  ])('rejects %j: %s', (id, problem) => {
    expect(pluginIdProblem(id)).toContain(problem)
    expect(() => validatePluginId(id)).toThrow(expect.objectContaining({ code: 'INVALID_ID' }))
  })

  it('rejects non-strings', () => {
    for (const id of [undefined, null, 1, {}, Symbol('x')]) expect(isValidPluginId(id)).toBe(false)
  })

  it('accepts exactly the ids of the pattern minus trailing dots and device names (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({ unit: fc.constantFrom(...'aclnoprtuxz019._-A/'), minLength: 1, maxLength: 70 }),
        ),
        (id) => {
        const expected =
          /^[a-z0-9][a-z0-9._-]{0,63}$/.test(id) &&
          !id.endsWith('.') &&
          !/^(con|prn|aux|nul|com\d|lpt\d)$/.test(id.split('.')[0]!)
        expect(isValidPluginId(id)).toBe(expected)
        },
      ),
      { numRuns: 1000 },
    )
  }, 30_000) // pure CPU; on a shared 2-core machine 1,000 runs took 9 s on Node 22
})
