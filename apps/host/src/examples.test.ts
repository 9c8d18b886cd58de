import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildExamples, buildTsPlugin, EXAMPLES_PLUGINS, watToWasm, EXAMPLES_SRC } from '../scripts/build-examples.mjs'
import { send } from './http-client.test-support.js'
import { startHost, type Host } from './host.js'
import { atomicWrite, makeDirs, nextEntry, testConfig } from './test-support.js'

// The bundled example plugins, built from source into a temp dir and run by a real host.
let host: Host
let dirs: Awaited<ReturnType<typeof makeDirs>>
let webHost: Host
let web: Awaited<ReturnType<typeof makeDirs>>

beforeAll(async () => {
  dirs = await makeDirs('hotswap-examples-')
  for (const name of ['counter.mjs', 'greeter', 'adder.plugin.json']) await cp(join(EXAMPLES_PLUGINS, name), join(dirs.plugins, name), { recursive: true })
  await buildExamples(dirs.plugins)
  host = await startHost(testConfig(dirs, { debounceMs: 20 }), { stdout: () => undefined, color: false })
  // The link shortener as `pnpm start` runs it: in-process, so its fetch handler serves /p/links/.
  web = await makeDirs('hotswap-examples-web-')
  await cp(join(dirs.plugins, 'links.mjs'), join(web.plugins, 'links.mjs'))
  webHost = await startHost(testConfig(web, { debounceMs: 20, loader: 'in-process' }), { stdout: () => undefined, color: false })
})
afterAll(async () => {
  await webHost?.close()
  await web?.cleanup()
  await host?.close()
  await dirs?.cleanup()
})

const reloaded = (id: string, on: Host = host): Promise<unknown> =>
  nextEntry(on.journal, (e) => e.event.type === 'reload' && e.event.id === id && e.event.action === 'reload', 10_000, `a reload of ${id}`).then((e) => {
    expect(e.data.outcome).toBe('success')
  })

describe('example plugins', () => {
  it('all five load: counter (.mjs), greeter (directory), clock and links (built from TypeScript), adder (wasm)', () => {
    const plugins = host.pipeline.status().plugins.map((p) => [p.plugin?.id, p.plugin?.loader, p.plugin?.state])
    expect(plugins).toEqual([
      ['adder', 'wasm', 'Running'],
      ['clock', 'worker', 'Running'],
      ['counter', 'worker', 'Running'],
      ['greeter', 'worker', 'Running'],
      ['links', 'worker', 'Running'],
    ])
  })

  it('the counter keeps its count across a reload to a new version', async () => {
    const counter = host.pipeline.registry.get<{ increment(by?: number): number; get(): { version: string; count: number } }>('counter')
    const before = await counter.call('increment', 1000)
    const source = await readFile(join(dirs.plugins, 'counter.mjs'), 'utf8')
    const done = reloaded('counter')
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), source.replaceAll("'1.0.0'", "'1.1.0'"))
    await done
    const after = await counter.call('get')
    expect(after.version).toBe('1.1.0')
    expect(after.count).toBeGreaterThanOrEqual(before)
  })

  it('the directory plugin reloads when a file other than its entry changes', async () => {
    const greeter = host.pipeline.registry.get<{ greet(who?: string): string; stats(): { greeted: number } }>('greeter')
    expect(await greeter.call('greet', 'bob')).toBe('Hello, bob!')
    const done = reloaded('greeter')
    await atomicWrite(join(dirs.plugins, 'greeter', 'messages.mjs'), "export const greeting = 'Howdy,'\n")
    await done
    expect(await greeter.call('greet', 'bob')).toBe('Howdy, bob!')
    expect((await greeter.call('stats')).greeted).toBe(2)
  })

  it('the TypeScript plugin is a self-contained ESM file that keeps its state across a rebuild', async () => {
    const built = await readFile(join(dirs.plugins, 'clock.mjs'), 'utf8')
    expect(built).not.toMatch(/\bimport\b/)
    const clock = host.pipeline.registry.get<{ now(): string; versions(): number }>('clock')
    expect(new Date(await clock.call('now')).getTime()).toBeGreaterThan(0)
    expect(await clock.call('versions')).toBe(1)
    const done = reloaded('clock')
    await atomicWrite(join(dirs.plugins, 'clock.mjs'), built.replace('version: "1.0.0"', 'version: "1.0.1"'))
    await done
    expect(await clock.call('versions')).toBe(2)
  })

  it('the wasm plugin is built from its WAT and keeps its running total across a reload', async () => {
    const adder = host.pipeline.registry.get<{ add(a: number, b: number): number; accumulate(n: number): number; total(): number }>('adder')
    expect(await adder.call('add', 2, 3)).toBe(5)
    expect(await adder.call('accumulate', 40)).toBe(40)
    const wat = await readFile(join(EXAMPLES_SRC, 'adder.wat'), 'utf8')
    expect(Buffer.from(await readFile(join(dirs.plugins, 'adder.wasm'))).equals(Buffer.from(await watToWasm(wat, 'adder.wat')))).toBe(true)
    const done = reloaded('adder')
    await atomicWrite(join(dirs.plugins, 'adder.plugin.json'), JSON.stringify({ name: 'adder', version: '1.0.1' }))
    await done
    expect(host.pipeline.registry.status('adder').version).toBe('1.0.1')
    expect(await adder.call('accumulate', 2)).toBe(42)
  })

  it('the link shortener serves a page, shortens, redirects, and keeps every link and hit across a new version', async () => {
    const page = await send(webHost.url, { path: '/p/links/' })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.text).toContain('hotswap links')
    const json = { 'content-type': 'application/json' }
    const made = await send(webHost.url, { method: 'POST', path: '/p/links/api/links', body: JSON.stringify({ url: 'https://example.com/some/long/path' }), headers: json })
    expect(made.status).toBe(201)
    const key = made.json.key as string
    const bad = await send(webHost.url, { method: 'POST', path: '/p/links/api/links', body: JSON.stringify({ url: 'javascript:alert(1)' }), headers: json })
    expect([bad.status, bad.json.error.code]).toEqual([400, 'BAD_URL'])
    const go = await send(webHost.url, { path: `/p/links/${key}` })
    expect([go.status, go.headers.location]).toEqual([302, 'https://example.com/some/long/path'])

    // A new version, built from an edited source as a person would: the links are still there.
    const source = await readFile(join(EXAMPLES_SRC, 'links.ts'), 'utf8')
    const edited = join(dirs.root, 'links.ts')
    await writeFile(edited, source.replace("const VERSION = '1.0.0'", "const VERSION = '1.1.0'").replace("const TITLE = 'hotswap links'", "const TITLE = 'hotswap links, edited'"))
    const done = reloaded('links', webHost)
    await buildTsPlugin(edited, join(web.plugins, 'links.mjs'), 'links')
    await done
    const list = await send(webHost.url, { path: '/p/links/api/links' })
    expect(list.json).toMatchObject({ version: '1.1.0', links: [{ key, url: 'https://example.com/some/long/path', hits: 1 }] })
    expect((await send(webHost.url, { path: '/p/links/' })).text).toContain('hotswap links, edited')

    // The same plugin through the call API: a plain result and a stream.
    const call = (body: unknown): ReturnType<typeof send> => send(webHost.url, { method: 'POST', path: '/api/plugins/links/call', token: webHost.token, body: JSON.stringify(body), headers: json })
    expect((await call({ method: 'resolve', args: [key] })).json).toEqual({ result: 'https://example.com/some/long/path' })
    const streamed = (await call({ method: 'entries' })).text.trim().split('\n').map((l) => JSON.parse(l) as { key: string; hits: number })
    expect(streamed).toEqual([expect.objectContaining({ key, hits: 2 })])
  })
})
