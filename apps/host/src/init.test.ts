// hotswap-host init: the folder it writes type-checks against @hotswap/registry, compiles with
// tsc, and the host serves the plugin it contains.
import { execFile } from 'node:child_process'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHost } from './host.js'
import { send, makeDirs, testConfig } from './test-support/host.js'
import { main, type CliIo } from './main.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
let dirs: Awaited<ReturnType<typeof makeDirs>>
let folder: string

beforeAll(async () => {
  dirs = await makeDirs('hotswap-init-')
  folder = join(dirs.root, 'my-plugins')
})
afterAll(() => dirs.cleanup())

function io(): CliIo & { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: {}, cwd: dirs.root, out: () => out, err: () => err }
}

describe('hotswap-host init', () => {
  it('writes a TypeScript plugin folder that type-checks, compiles and serves', { timeout: 180_000 }, async () => {
    const first = io()
    expect(await main(['init', 'my-plugins'], first)).toBe(0)
    expect(first.out()).toContain('wrote my-plugins/')
    // What `npm install` would give it: @hotswap/registry (types) from this workspace.
    await mkdir(join(folder, 'node_modules', '@hotswap'), { recursive: true })
    await symlink(join(ROOT, 'packages', 'registry'), join(folder, 'node_modules', '@hotswap', 'registry'), 'dir')
    await run(process.execPath, [TSC, '-p', join(folder, 'tsconfig.json')], { cwd: folder })
    expect(await readFile(join(folder, 'plugins', 'hello.mjs'), 'utf8')).toContain("name: 'hello'")

    const host = await startHost(testConfig({ plugins: join(folder, 'plugins'), state: join(dirs.root, 'state') }, { loader: 'in-process' }), { stdout: () => undefined, color: false })
    try {
      const res = await send(host.url, { path: '/p/hello/?who=init' })
      expect(res.json).toMatchObject({ message: 'hello, init', version: '1.0.0' })
      expect(await host.pipeline.registry.get('hello').call('greet', 'you')).toMatch(/^hello, you/)
    } finally {
      await host.close()
    }
  })

  it('its tsconfig catches a plugin that does not fit PluginDefinition', { timeout: 180_000 }, async () => {
    await writeFile(join(folder, 'src', 'wrong.mts'), `import type { PluginDefinition } from '@hotswap/registry'\nexport default { name: 'wrong', version: 1, setup() { return {} } } satisfies PluginDefinition\n`)
    const failed = await run(process.execPath, [TSC, '-p', join(folder, 'tsconfig.json'), '--noEmit'], { cwd: folder }).then(
      () => undefined,
      (error: { stdout?: string }) => error.stdout ?? 'failed',
    )
    expect(failed).toMatch(/wrong\.mts.*Type 'number' is not assignable to type 'string'/s)
  })

  it('never overwrites: a second init into the same folder stops with exit code 1', async () => {
    const again = io()
    expect(await main(['init', 'my-plugins'], again)).toBe(1)
    expect(again.err()).toContain('would overwrite')
  })
})
