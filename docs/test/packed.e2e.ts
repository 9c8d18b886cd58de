// The packages as a user gets them: every published package is packed (`pnpm pack`, as
// `pnpm publish` would), the tarballs are installed with npm into a fresh project outside the
// repository next to the user's own rxjs (7.5 and 7.8), and there
// - the tree holds one rxjs, the user's, and `s.pipe(coalesceByKey(...))` type-checks;
// - every package holds its LICENSE;
// - every README example runs as written (ESM) and its TypeScript type-checks (strict);
// - a script that forgets `close()` still exits.
// The packages must be built first. Run: pnpm run check:install (about two minutes; npm fetches
// the third-party dependencies from the registry).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_DIR, listReadmes, parseBlocks, readReadme, runGuide } from './guide-blocks.js'
import type { Block } from './guide-blocks.js'
import { typecheckBlocks } from './typecheck-blocks.js'

const run = promisify(execFile)
const RXJS_VERSIONS = ['~7.5.0', '~7.8.2'] as const

// What a user of the operators writes with their own rxjs: it failed to type-check (TS2345,
// "separate declarations of a private property") while the packages brought their own copy.
const PIPE_WITH_USER_RXJS = parseBlocks(
  'rxjs-peer.md',
  [
    '```ts test',
    "import { Subject, toArray } from 'rxjs'",
    "import { coalesceByKey } from '@hotswap/operators'",
    '',
    'const s = new Subject<{ id: string; n: number }>()',
    'const done = new Promise<unknown>((resolve) => s.pipe(coalesceByKey((v) => v.id, { windowMs: 5 }), toArray()).subscribe(resolve))',
    "s.next({ id: 'a', n: 1 })",
    "s.next({ id: 'a', n: 2 })",
    's.complete()',
    'console.log(JSON.stringify(await done))',
    '```',
  ].join('\n'),
)

// A script that uses the registry (worker loader and its warm spare) and the file state store
// and never calls close(): it must exit by itself once its work is done.
const FORGETS_CLOSE = parseBlocks(
  'forgets-close.md',
  [
    '```js file=plugins/counter.mjs',
    'let count = 0',
    "export default { name: 'counter', version: '1.0.0', setup: () => ({ increment: () => ++count }) }",
    '```',
    '```ts test',
    "import { createPluginRegistry } from '@hotswap/registry'",
    "import { createSnapshot, createStateStore, fileAdapter } from '@hotswap/state-store'",
    '',
    'const registry = createPluginRegistry()',
    "await registry.load('./plugins/counter.mjs')",
    "console.log(await registry.get<{ increment(): number }>('counter').api.increment())",
    "const store = await createStateStore({ adapter: fileAdapter({ dir: './state' }) })",
    "await store.save(createSnapshot({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 1 } }))",
    '// no registry.close(), no store.close()',
    '```',
  ].join('\n'),
)

let packDir: string
let tarballs: string[]
const readmes = await listReadmes()
// Every package that is not private is published (the host too); its name says where npm puts it.
const published: string[] = []
const nameOf = new Map<string, string>()
for (const readme of readmes) {
  const manifest = JSON.parse(await readFile(join(REPO_DIR, readme.replace(/README\.md$/, 'package.json')), 'utf8')) as { private?: boolean; name: string }
  if (manifest.private !== true) {
    published.push(readme)
    nameOf.set(readme, manifest.name)
  }
}
const readmeBlocks = new Map<string, Block[]>()
for (const readme of published) readmeBlocks.set(readme, await readReadme(readme))

beforeAll(async () => {
  packDir = await mkdtemp(join(tmpdir(), 'hotswap-packed-'))
  for (const readme of published) {
    const dir = join(REPO_DIR, readme.replace(/\/README\.md$/, ''))
    await run('pnpm', ['pack', '--pack-destination', packDir], { cwd: dir })
  }
  tarballs = (await readdir(packDir)).filter((f) => f.endsWith('.tgz')).map((f) => join(packDir, f))
  expect(tarballs).toHaveLength(published.length)
}, 180_000)

afterAll(async () => {
  if (packDir !== undefined) await rm(packDir, { recursive: true, force: true })
})

for (const rxjs of RXJS_VERSIONS) {
  describe.sequential(`installed from the tarballs next to rxjs@${rxjs}`, () => {
    let project: string
    let nodeModules: string

    beforeAll(async () => {
      project = await mkdtemp(join(tmpdir(), `hotswap-user-rxjs-${rxjs.replace(/\W/g, '')}-`))
      nodeModules = join(project, 'node_modules')
      await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', private: true, type: 'module' }) + '\n')
      await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, `rxjs@${rxjs}`, '@types/node@~20.19.43'], { cwd: project, maxBuffer: 16 * 1024 * 1024 })
    }, 300_000)

    afterAll(async () => {
      if (project !== undefined) await rm(project, { recursive: true, force: true })
    })

    it('has one rxjs in the tree: the one the user installed', async () => {
      const copies = await findPackages(nodeModules, 'rxjs')
      const versions = await Promise.all(copies.map(async (dir) => (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string }).version))
      expect(copies.map((dir) => dir.slice(project.length))).toEqual(['/node_modules/rxjs'])
      expect(versions[0]).toMatch(new RegExp(`^${rxjs.slice(1).replace(/\.\d+$/, '').replace('.', '\\.')}\\.`))
    })

    it('every package holds its LICENSE', async () => {
      for (const readme of published) {
        const license = join(nodeModules, nameOf.get(readme) ?? '', 'LICENSE')
        expect(existsSync(license), `${license} is missing`).toBe(true)
        expect(await readFile(license, 'utf8')).toMatch(/^MIT License/)
      }
    })

    it('s.pipe(coalesceByKey()) type-checks and runs with the user’s rxjs', async () => {
      expect(await typecheckBlocks(PIPE_WITH_USER_RXJS, nodeModules)).toEqual([])
      await runGuide('rxjs-peer.md', PIPE_WITH_USER_RXJS, nodeModules)
    })

    it('the TypeScript of every README type-checks (strict) against the installed declarations', async () => {
      expect(await typecheckBlocks([...readmeBlocks.values()].flat(), nodeModules)).toEqual([])
    }, 120_000)

    for (const readme of published) {
      const blocks = readmeBlocks.get(readme) ?? []
      if (!blocks.some((b) => b.test)) continue
      it(`${readme}: the examples run as written`, async () => {
        const { ran } = await runGuide(readme, blocks, nodeModules)
        expect(ran).toBe(blocks.filter((b) => b.test && b.file === undefined).length)
      }, 120_000)
    }

    it('a script that forgets close() still exits', async () => {
      await expect(runGuide('forgets-close.md', FORGETS_CLOSE, nodeModules)).resolves.toEqual({ ran: 1, wrote: 1 })
    }, 60_000)
  })
}

/** Every installed copy of a package below `nodeModules` (nested node_modules included). */
async function findPackages(nodeModules: string, name: string): Promise<string[]> {
  const found: string[] = []
  const visit = async (dir: string): Promise<void> => {
    if (existsSync(join(dir, name, 'package.json'))) found.push(join(dir, name))
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '.bin') continue
      const children = entry.name.startsWith('@') ? (await readdir(join(dir, entry.name))).map((c) => join(dir, entry.name, c)) : [join(dir, entry.name)]
      for (const child of children) if (existsSync(join(child, 'node_modules'))) await visit(join(child, 'node_modules'))
    }
  }
  await visit(nodeModules)
  return found.sort()
}
