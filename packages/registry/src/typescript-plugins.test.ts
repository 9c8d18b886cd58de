// TypeScript plugins served from source (no build step), and the artifact's guarantees as the
// loaders see them: the exact bytes hashed run, file-relative semantics, mapped stack traces.
import { mkdir, writeFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { buildArtifact } from './artifact.js'
import { inProcessLoader } from './in-process-loader.js'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import { put, quiet, rejection, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

const loaders: { label: string; loader: () => Loader }[] = [
  { label: 'worker', loader: () => workerLoader() },
  { label: 'in-process', loader: () => inProcessLoader() },
]

const tsPlugin = (version: string): string =>
  [
    "import { readFileSync } from 'node:fs'",
    "import { shout } from '../lib/shout.js'",
    'interface State { count: number }',
    'let count: number = 0',
    'export default {',
    "  name: 'tsfile',",
    `  version: '${version}',`,
    '  setup(ctx: { state?: State }) {',
    '    count = ctx.state?.count ?? 0',
    '    return {',
    '      hello: (who: string): string => shout(`hello ${who}`),',
    '      inc: (): number => ++count,',
    '      url: (): string => import.meta.url,',
    "      sibling: (): string => readFileSync(new URL('./data.txt', import.meta.url), 'utf8'),",
    "      boom: (): never => { throw new Error('boom at line 15') },",
    '      deep: (): string => shout(undefined as unknown as string),',
    '    }',
    '  },',
    '  saveState(): State { return { count } },',
    '}',
    '',
  ].join('\n')

describe.each(loaders)('TypeScript plugins ($label loader)', ({ loader }) => {
  const t = sandbox(() => createPluginRegistry({ loader: loader(), logger: quiet, setupTimeoutMs: 5000 }))

  async function writeFilePlugin(version: string): Promise<string> {
    await mkdir(`${t.dir}/plugins`, { recursive: true })
    await mkdir(`${t.dir}/lib`, { recursive: true })
    await put(`${t.dir}/lib`, 'shout.ts', 'export function shout(text: string): string {\n  return text.toUpperCase() + \'!\'\n}\n')
    await put(`${t.dir}/plugins`, 'data.txt', 'next to me')
    return put(`${t.dir}/plugins`, 'tsfile.ts', tsPlugin(version))
  }

  it('serves a .ts file plugin from source, with a shared helper outside its folder, import.meta.url and a sibling read', async () => {
    const path = await writeFilePlugin('1.0.0')
    const status = await t.registry.load(path)
    const artifact = await buildArtifact(path)
    expect(status.hash).toBe(artifact.hash)
    expect([...artifact.inputs.keys()]).toEqual([`${t.dir}/lib/shout.ts`, path])
    const h = t.registry.get('tsfile')
    expect(await h.call('hello', 'ts')).toBe('HELLO TS!')
    expect(await h.call('url')).toBe(`file://${path}`)
    expect(await h.call('sibling')).toBe('next to me')
    expect(await h.call('inc')).toBe(1)
    await put(`${t.dir}/plugins`, 'tsfile.ts', tsPlugin('1.1.0'))
    expect((await t.registry.reload('tsfile')).version).toBe('1.1.0')
    expect(await h.call('inc')).toBe(2)
  })

  it('a run-time throw names the .ts file and line, also inside the helper', async () => {
    const path = await writeFilePlugin('1.0.0')
    await t.registry.load(path)
    const h = t.registry.get('tsfile')
    const error = (await h.call('boom').catch((e: unknown) => e)) as Error
    expect(error.message).toBe('boom at line 15')
    expect(error.stack).toContain(`${path}:15:`)
    const deep = (await h.call('deep').catch((e: unknown) => e)) as Error
    expect(deep.stack).toContain(`${t.dir}/lib/shout.ts:2:`)
  })

  it('a top-level throw is LOAD_FAILED naming the .ts line with a code frame; a syntax error is BUILD_FAILED with file:line:col', async () => {
    const thrower = await put(t.dir, 'thrower.ts', "const n: number = 1\nif (n === 1) throw new Error('not today')\nexport default {}\n")
    const error = await rejection(t.registry.load(thrower))
    expect(error.code).toBe('LOAD_FAILED')
    expect(error.message).toContain('not today')
    expect(error.message).toContain(`${thrower}:2:`)
    expect(error.message).toMatch(/> 2 \| if \(n === 1\) throw new Error\('not today'\)/)
    const broken = await put(t.dir, 'broken.ts', 'export default {\n  name: "x" as string\n  version: "1"\n}\n')
    const syntax = await rejection(t.registry.load(broken))
    expect(syntax.code).toBe('BUILD_FAILED')
    expect(syntax.message).toContain(`${broken}:3:3: Expected "}" but found "version"`)
    expect(syntax.message).toMatch(/> 3 \|\s+version: "1"/)
  })

  it('serves a directory plugin whose main is TypeScript, with TS imports and an npm dependency from its own node_modules', async () => {
    const pdir = `${t.dir}/dirplugin`
    await mkdir(`${pdir}/src`, { recursive: true })
    await mkdir(`${pdir}/node_modules/leftpad`, { recursive: true })
    await put(`${pdir}/node_modules/leftpad`, 'package.json', '{ "name": "leftpad", "version": "1.0.0", "main": "index.js" }')
    await put(`${pdir}/node_modules/leftpad`, 'index.js', "module.exports = (s, n) => s.padStart(n, '.')")
    await put(pdir, 'package.json', JSON.stringify({ name: 'dirplugin', version: '2.0.0', main: 'src/main.ts', type: 'module' }))
    await put(`${pdir}/src`, 'words.ts', "export const word: string = 'pad'\n")
    await put(
      `${pdir}/src`,
      'main.ts',
      "import leftpad from 'leftpad'\nimport { word } from './words.ts'\nexport default { name: 'dirplugin', version: '2.0.0', setup() { return { pad: (n: number): string => leftpad(word, n), dir: (): string => import.meta.dirname } } }\n",
    )
    const status = await t.registry.load(pdir)
    expect(status).toMatchObject({ id: 'dirplugin', version: '2.0.0', hash: (await buildArtifact(pdir)).hash })
    expect(await t.registry.get('dirplugin').call('pad', 6)).toBe('...pad')
    expect(await t.registry.get('dirplugin').call('dir')).toBe(`${pdir}/src`)
  })

  it('a write racing the builds never runs bytes other than those hashed (status hash = hash of the bytes that ran)', async () => {
    const path = `${t.dir}/racer.ts`
    // No trailing newline: the only prefix of a version that parses and has a default export is
    // the whole version, so a torn read is refused and a served version is known by its mark.
    const text = (n: number): string =>
      `${'// padding\n'.repeat(200)}export default { name: 'racer', version: '1.0.${n}', setup() { return { mark: (): number => ${n} } } }`
    await writeFile(path, text(0))
    await t.registry.load(path)
    // The hash each version's bytes give, computed apart from the racing file.
    await mkdir(`${t.dir}/ref`)
    const expected = async (n: number): Promise<string> => (await buildArtifact(await put(`${t.dir}/ref`, 'racer.ts', text(n)))).hash
    let writing = true
    let written = 0
    const writer = (async () => {
      while (writing) {
        written++
        await writeFile(path, text(written)) // truncate + write: readers may see a torn file
      }
    })()
    let served = 0
    try {
      for (let i = 0; i < 15; i++) {
        const status = await t.registry.reload('racer').catch(() => undefined)
        if (status === undefined) continue // a torn read that does not parse: refused, fine
        const mark = (await t.registry.get('racer').call('mark')) as number
        expect(status.version).toBe(`1.0.${mark}`)
        expect(status.hash).toBe(await expected(mark))
        served++
      }
    } finally {
      writing = false
      await writer
    }
    expect(served).toBeGreaterThan(0)
  }, 60_000)
})
