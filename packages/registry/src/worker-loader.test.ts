import { existsSync, readdirSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { tmpdir } from 'node:os'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { warmUpModule } from './worker-loader.js'

describe('worker loader warm-up module', () => {
  it('is one real module file per process, in a private temp directory, that imports as a plugin', async () => {
    const path = warmUpModule()
    expect(path).toBeDefined()
    expect(warmUpModule()).toBe(path)
    expect(existsSync(path!)).toBe(true)
    expect(dirname(dirname(path!))).toBe(tmpdir())
    expect(basename(dirname(path!))).toMatch(/^hotswap-warm-/)
    expect(readdirSync(dirname(path!))).toEqual(['warm-up.mjs'])
    const mod = (await import(pathToFileURL(path!).href)) as { default: { name: string; setup: () => { w: (n: number) => number } } }
    expect(mod.default.name).toBe('warm-up')
    expect(mod.default.setup().w(2)).toBe(2 * 799 + 1 - (799 % 7))
  })
})
