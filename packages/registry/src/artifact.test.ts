import { mkdir, readFile } from 'node:fs/promises'
import { fnv1a64Hex } from '@hotswap/change-detector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildArtifact, isPluginArtifact } from './artifact.js'
import { failureKind } from './failure-kind.js'
import { put, rejection, tempDir } from './test-support.js'

let dir: string
let cleanup: () => Promise<void>
beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir())
})
afterEach(() => cleanup())

/** A file reader that counts how often each file is read. */
function countingReader(): { readonly counts: Map<string, number>; readonly readFile: (path: string) => Promise<Uint8Array> } {
  const counts = new Map<string, number>()
  return {
    counts,
    readFile: (path) => {
      counts.set(path, (counts.get(path) ?? 0) + 1)
      return readFile(path)
    },
  }
}

describe('buildArtifact', () => {
  it('tells the format of each extension (and .js/.ts by the nearest package.json type)', async () => {
    expect((await buildArtifact(await put(dir, 'a.mjs', 'export default 1'))).format).toBe('esm')
    expect((await buildArtifact(await put(dir, 'b.cjs', 'module.exports = 1'))).format).toBe('cjs')
    expect((await buildArtifact(await put(dir, 'c.mts', 'export default 1 as number'))).format).toBe('esm')
    expect((await buildArtifact(await put(dir, 'd.cts', 'export = 1'))).format).toBe('cjs')
    await mkdir(`${dir}/esm`)
    await put(`${dir}/esm`, 'package.json', '{ "type": "module" }')
    expect((await buildArtifact(await put(`${dir}/esm`, 'c.js', 'export default 1'))).format).toBe('esm')
    expect((await buildArtifact(await put(`${dir}/esm`, 'e.ts', 'export default 1'))).format).toBe('esm')
    await mkdir(`${dir}/cjs`)
    await put(`${dir}/cjs`, 'package.json', '{ "type": "commonjs" }')
    expect((await buildArtifact(await put(`${dir}/cjs`, 'd.js', 'module.exports = 1'))).format).toBe('cjs')
  })

  it('hashes every input with FNV-1a 64: per file, and one hash over paths and bytes', async () => {
    const text = 'export default { name: "a", version: "1.0.0", setup() { return {} } }'
    await mkdir(`${dir}/x`)
    await mkdir(`${dir}/y`)
    const a = await buildArtifact(await put(`${dir}/x`, 'a.mjs', text))
    const b = await buildArtifact(await put(`${dir}/y`, 'a.mjs', text))
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(a.hash).toBe(b.hash) // same files relative to the plugin's dir: same hash, wherever the folder is
    expect([...a.inputs]).toEqual([[`${dir}/x/a.mjs`, fnv1a64Hex(text)]])
    expect(isPluginArtifact(a)).toBe(true)
    expect(isPluginArtifact(`${dir}/x/a.mjs`)).toBe(false)
    const renamed = await buildArtifact(await put(`${dir}/y`, 'b.mjs', text))
    expect(renamed.hash).not.toBe(a.hash) // the path is part of the hash

    await mkdir(`${dir}/p/lib`, { recursive: true })
    await put(`${dir}/p`, 'package.json', JSON.stringify({ name: 'p', version: '1.0.0', main: 'lib/index.cjs' }))
    await put(`${dir}/p/lib`, 'index.cjs', 'module.exports = require("./x.cjs")')
    await put(`${dir}/p/lib`, 'x.cjs', 'module.exports = 1')
    await put(`${dir}/p/lib`, 'unused.cjs', 'module.exports = 3')
    const before = await buildArtifact(`${dir}/p`)
    expect(before).toMatchObject({ entry: `${dir}/p/lib/index.cjs`, kind: 'js', format: 'cjs', dir: `${dir}/p`, manifest: { name: 'p', version: '1.0.0' } })
    expect([...before.inputs.keys()]).toEqual([`${dir}/p/lib/index.cjs`, `${dir}/p/lib/x.cjs`, `${dir}/p/package.json`])
    await put(`${dir}/p/lib`, 'unused.cjs', 'module.exports = 4')
    expect((await buildArtifact(`${dir}/p`)).hash).toBe(before.hash) // not an input
    await put(`${dir}/p/lib`, 'x.cjs', 'module.exports = 2')
    expect((await buildArtifact(`${dir}/p`)).hash).not.toBe(before.hash)
  })

  it('takes every local import into the input set, also outside the plugin folder, and no node_modules file', async () => {
    await mkdir(`${dir}/lib`)
    await mkdir(`${dir}/plugins/p/src`, { recursive: true })
    await mkdir(`${dir}/plugins/p/node_modules/dep`, { recursive: true })
    await put(`${dir}/lib`, 'shared.ts', 'export const twice = (n: number): number => n * 2\n')
    await put(`${dir}/lib`, 'types.ts', 'export interface Point { x: number }\n')
    await put(`${dir}/plugins/p/node_modules/dep`, 'package.json', '{ "name": "dep", "main": "index.js" }')
    await put(`${dir}/plugins/p/node_modules/dep`, 'index.js', 'exports.three = 3')
    await put(`${dir}/plugins/p`, 'package.json', JSON.stringify({ name: 'p', version: '1.0.0', main: 'src/index.ts' }))
    await put(`${dir}/plugins/p/src`, 'util.ts', 'export const one: number = 1\n')
    await put(
      `${dir}/plugins/p/src`,
      'index.ts',
      [
        "import { twice } from '../../../lib/shared.js'",
        "import type { Point } from '../../../lib/types.js'",
        "import { three } from 'dep'",
        "import { one } from './util.js'",
        "import { join } from 'node:path'",
        'const p: Point = { x: 1 }',
        "export default { name: 'p', version: '1.0.0', setup() { return { n: () => twice(one) + three + p.x, j: () => join('a', 'b') } } }",
      ].join('\n'),
    )
    const reader = countingReader()
    const artifact = await buildArtifact(`${dir}/plugins/p`, { readFile: reader.readFile })
    expect([...artifact.inputs.keys()]).toEqual([
      `${dir}/lib/shared.ts`,
      `${dir}/plugins/p/package.json`,
      `${dir}/plugins/p/src/index.ts`,
      `${dir}/plugins/p/src/util.ts`,
    ])
    // One read per input per build; node_modules and type-only imports are never read.
    expect(Object.fromEntries(reader.counts)).toEqual(Object.fromEntries([...artifact.inputs.keys()].map((k) => [k, 1])))
    expect(artifact.code).toMatch(/require\("dep"\)/)
    expect(artifact.code).toMatch(/require\("node:path"\)/)
    expect(artifact.code).not.toMatch(/interface|: number/)
    const map = JSON.parse(artifact.sourceMap ?? '{}') as { sources: string[]; sourcesContent: string[] }
    expect(map.sources).toContain('../../../lib/shared.ts')
    expect(map.sourcesContent).toContain('export const twice = (n: number): number => n * 2\n')
  })

  it('bundles a plugin that itself lives under node_modules (the examples of an installed package) with its local imports', async () => {
    const plugins = `${dir}/node_modules/some-host/examples/plugins`
    await mkdir(`${plugins}/lib`, { recursive: true })
    await put(`${plugins}/lib`, 'words.mjs', "export const hello = 'hello'\n")
    await put(plugins, 'greet.mjs', "import { hello } from './lib/words.mjs'\nexport default { name: 'greet', version: '1.0.0', setup: () => ({ hi: () => hello }) }\n")
    const artifact = await buildArtifact(`${plugins}/greet.mjs`)
    expect([...artifact.inputs.keys()]).toEqual([`${plugins}/greet.mjs`, `${plugins}/lib/words.mjs`])
    expect(artifact.code).toMatch(/["']hello["']/)
  })

  it('reads a .wasm file and its sidecar as the inputs', async () => {
    await put(dir, 'm.wasm', new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))
    await put(dir, 'm.plugin.json', '{ "name": "m", "version": "2.0.0" }')
    const artifact = await buildArtifact(`${dir}/m.wasm`)
    expect(artifact).toMatchObject({ kind: 'wasm', code: '', manifest: { name: 'm', version: '2.0.0' } })
    expect([...artifact.inputs.keys()]).toEqual([`${dir}/m.plugin.json`, `${dir}/m.wasm`])
    expect(Buffer.from(artifact.bytes)).toEqual(Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]))
  })

  it('names file:line:col with a code frame for a syntax error, in the entry or in an imported file (BUILD_FAILED, deterministic)', async () => {
    const entry = await put(dir, 'bad.ts', 'const a: number = 1\nexport default {\n  name: "bad",,\n}\n')
    const error = await rejection(buildArtifact(entry))
    expect(error.code).toBe('BUILD_FAILED')
    expect(failureKind(error)).toBe('deterministic')
    expect(error.message).toContain(`${entry}:3:15:`)
    expect(error.message).toMatch(/> 3 \|\s+name: "bad",,\n\s+\|\s{15}\^/)

    await put(dir, 'helper.ts', 'export const x = (;\n')
    const importer = await put(dir, 'ok.ts', "import { x } from './helper.js'\nexport default x\n")
    const inHelper = await rejection(buildArtifact(importer))
    expect(inHelper.message).toContain(`${dir}/helper.ts:1:19:`)
  })

  it('tells deterministic failures from transient ones by their code', async () => {
    const missing = await rejection(buildArtifact(`${dir}/none.mjs`))
    expect([missing.code, failureKind(missing)]).toEqual(['READ_FAILED', 'transient'])
    await put(dir, 'gone.mjs', 'export {}\n')
    const gone = await rejection(buildArtifact(await put(dir, 'g.mjs', "import './gone.mjs'\n"), {
      // The import resolves, then the file vanishes before it is read.
      readFile: (path) => (path.endsWith('gone.mjs') ? Promise.reject(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })) : readFile(path)),
    }))
    expect([gone.code, failureKind(gone)]).toEqual(['READ_FAILED', 'transient'])
    expect(gone.message).toContain(`${dir}/gone.mjs`)
    const unresolved = await rejection(buildArtifact(await put(dir, 'u.mjs', "import './nowhere.mjs'\n")))
    expect([unresolved.code, failureKind(unresolved)]).toEqual(['BUILD_FAILED', 'deterministic'])
    expect(unresolved.message).toContain(`${dir}/u.mjs:1:8: Could not resolve "./nowhere.mjs"`)
    const unsupported = await rejection(buildArtifact(await put(dir, 'x.py', '')))
    expect(unsupported.code).toBe('UNSUPPORTED')
    const tla = await rejection(buildArtifact(await put(dir, 't.mjs', 'await Promise.resolve()\nexport default {}\n')))
    expect(tla.code).toBe('BUILD_FAILED')
    expect(tla.message).toMatch(/Top-level await.*\n.*setup\(\)/s)
    await mkdir(`${dir}/badpkg`)
    await put(`${dir}/badpkg`, 'package.json', '{ "name": ')
    expect((await rejection(buildArtifact(`${dir}/badpkg`))).code).toBe('BUILD_FAILED')
  })
})
