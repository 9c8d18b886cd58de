import { mkdir } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RegistryError } from './errors.js'
import { readPluginSource } from './plugin-source.js'
import { put, tempDir } from './test-support.js'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

describe('readPluginSource', () => {
  it('tells the format of .mjs, .cjs and .js (by the nearest package.json type)', async () => {
    expect((await readPluginSource(await put(dir, 'a.mjs', 'export default 1'))).format).toBe('esm')
    expect((await readPluginSource(await put(dir, 'b.cjs', 'module.exports = 1'))).format).toBe('cjs')
    await mkdir(`${dir}/esm`)
    await put(`${dir}/esm`, 'package.json', '{ "type": "module" }')
    expect((await readPluginSource(await put(`${dir}/esm`, 'c.js', 'export default 1'))).format).toBe('esm')
    await mkdir(`${dir}/cjs`)
    await put(`${dir}/cjs`, 'package.json', '{ "type": "commonjs" }')
    expect((await readPluginSource(await put(`${dir}/cjs`, 'd.js', 'module.exports = 1'))).format).toBe('cjs')
  })

  it('hashes the content: same bytes same hash, a change to any file of a directory plugin changes it', async () => {
    const a = await readPluginSource(await put(dir, 'a.mjs', 'export default 1'))
    const b = await readPluginSource(await put(dir, 'b.mjs', 'export default 1'))
    expect(a.hash).toBe(b.hash)
    await mkdir(`${dir}/p/lib`, { recursive: true })
    await put(`${dir}/p`, 'package.json', JSON.stringify({ name: 'p', version: '1.0.0', main: 'lib/index.cjs' }))
    await put(`${dir}/p/lib`, 'index.cjs', 'module.exports = require("./x.cjs")')
    await put(`${dir}/p/lib`, 'x.cjs', 'module.exports = 1')
    const before = await readPluginSource(`${dir}/p`)
    expect(before).toMatchObject({ entry: `${dir}/p/lib/index.cjs`, kind: 'js', format: 'cjs', root: `${dir}/p`, manifest: { name: 'p', version: '1.0.0' } })
    await put(`${dir}/p/lib`, 'x.cjs', 'module.exports = 2')
    expect((await readPluginSource(`${dir}/p`)).hash).not.toBe(before.hash)
  })

  it('reads a .wasm sidecar and refuses other extensions and missing files', async () => {
    await put(dir, 'm.wasm', new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
    await put(dir, 'm.plugin.json', '{ "name": "m", "version": "2.0.0" }')
    expect(await readPluginSource(`${dir}/m.wasm`)).toMatchObject({ kind: 'wasm', manifest: { name: 'm', version: '2.0.0' } })
    const unsupported = (await readPluginSource(await put(dir, 'x.ts', '')).catch((e: unknown) => e)) as RegistryError
    expect(unsupported.code).toBe('UNSUPPORTED')
    const missing = (await readPluginSource(`${dir}/none.mjs`).catch((e: unknown) => e)) as RegistryError
    expect(missing.code).toBe('LOAD_FAILED')
  })
})
