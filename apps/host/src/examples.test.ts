import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildExamples, buildTsPlugin, EXAMPLES_PLUGINS, watToWasm, EXAMPLES_SRC } from '../scripts/build-examples.mjs'
import { send, atomicWrite, makeDirs, nextEntry, testConfig, until } from './test-support/host.js'
import { startHost, type Host } from './host.js'

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
  for (const name of ['links.mjs', 'stats.mjs']) await cp(join(dirs.plugins, name), join(web.plugins, name))
  webHost = await startHost(testConfig(web, { debounceMs: 20, loader: 'in-process', plugins: { links: { maxLinks: 3, baseUrl: 'https://sho.rt/' } } }), { stdout: () => undefined, color: false })
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
  it('all six load: counter (.mjs), greeter (directory), clock, links and stats (built from TypeScript), adder (wasm)', () => {
    const plugins = host.pipeline.status().plugins.map((p) => [p.plugin?.id, p.plugin?.loader, p.plugin?.state])
    expect(plugins).toEqual([
      ['adder', 'wasm', 'Running'],
      ['clock', 'worker', 'Running'],
      ['counter', 'worker', 'Running'],
      ['greeter', 'worker', 'Running'],
      ['links', 'worker', 'Running'],
      ['stats', 'worker', 'Running'],
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

  it('links and stats work under the worker loader too, through calls (the kv service and ctx.plugins cross the worker boundary)', async () => {
    const links = host.pipeline.registry.get<{ shorten(url: string): { key: string }; resolve(key: string): string }>('links')
    const stats = host.pipeline.registry.get<{ summary(): { links: number; hits: number } }>('stats')
    const { key } = await links.call('shorten', 'https://example.org/worker')
    expect(await links.call('resolve', key)).toBe('https://example.org/worker')
    expect(await stats.call('summary')).toMatchObject({ links: 1, hits: 1 })
  })
})

// The link shortener and its stats page as `pnpm start` runs them: in-process, the loader whose
// plugins serve routes today (a worker plugin's route answers 501 NOT_TRANSFERABLE until the
// registry moves a Request across; then the same test holds with loader: 'worker').
describe('the link shortener app over HTTP', () => {
  const json = { 'content-type': 'application/json' }
  const webConfig = (): ReturnType<typeof testConfig> => testConfig(web, { debounceMs: 20, loader: 'in-process', plugins: { links: { maxLinks: 3, baseUrl: 'https://sho.rt/' } } })
  const post = (url: string): ReturnType<typeof send> => send(webHost.url, { method: 'POST', path: '/p/links/api/links', body: JSON.stringify({ url }), headers: json })
  let key = ''

  it('serves a page, shortens with its configured base URL, refuses a bad link, redirects', async () => {
    const page = await send(webHost.url, { path: '/p/links/' })
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.text).toContain('hotswap links')
    const made = await post('https://example.com/some/long/path')
    expect(made.status).toBe(201)
    key = made.json.key as string
    expect(made.json.short).toBe(`https://sho.rt/${key}`)
    const bad = await post('javascript:alert(1)')
    expect([bad.status, bad.json.error.code]).toEqual([400, 'BAD_URL'])
    const go = await send(webHost.url, { path: `/p/links/${key}` })
    expect([go.status, go.headers.location]).toEqual([302, 'https://example.com/some/long/path'])
    expect((await send(webHost.url, { path: '/p/links/nope9' })).status).toBe(404)
  })

  it('the stats plugin (dependsOn links) counts the hits through ctx.plugins.get', async () => {
    const summary = await send(webHost.url, { path: '/p/stats/api/summary' })
    expect(summary.json).toMatchObject({ links: 1, hits: 1, top: [{ key, hits: 1 }] })
    const page = await send(webHost.url, { path: '/p/stats/' })
    expect(page.text).toContain(`data-key="${key}"`)
  })

  it('follows keep answering while links reloads to a new version: no failed request, no hit lost', async () => {
    const source = await readFile(join(EXAMPLES_SRC, 'links.ts'), 'utf8')
    const edited = join(EXAMPLES_SRC, '.links-edited.test.ts')
    await writeFile(edited, source.replace("const VERSION = '1.0.0'", "const VERSION = '1.1.0'").replace("const TITLE = 'hotswap links'", "const TITLE = 'hotswap links, edited'"))
    const statuses: number[] = []
    let stop = false
    const hammer = (async () => {
      while (!stop) statuses.push((await send(webHost.url, { path: `/p/links/${key}` })).status)
    })()
    try {
      const done = reloaded('links', webHost)
      await buildTsPlugin(edited, join(web.plugins, 'links.mjs'), 'links')
      await done
      // a few more after the switch, then stop
      const after = statuses.length
      await until(() => statuses.length >= after + 5, 10_000, 'requests after the reload')
    } finally {
      stop = true
      await hammer
      await rm(edited, { force: true })
    }
    expect(statuses.length).toBeGreaterThan(5)
    expect(statuses.filter((s) => s !== 302)).toEqual([])
    const list = await send(webHost.url, { path: '/p/links/api/links' })
    expect(list.json).toMatchObject({ version: '1.1.0', links: [{ key, url: 'https://example.com/some/long/path', hits: 1 + statuses.length }] })
    expect(list.json.recent).toEqual([key]) // the in-memory part came over in saveState
    expect((await send(webHost.url, { path: '/p/links/' })).text).toContain('hotswap links, edited')
    // stats holds a stable handle: it sees the new version's data without a reload of its own
    expect((await send(webHost.url, { path: '/p/stats/api/summary' })).json).toMatchObject({ hits: 1 + statuses.length })
  })

  it('stats keeps its own state across its reload', async () => {
    await send(webHost.url, { path: '/p/stats/' })
    const views = (await send(webHost.url, { path: '/p/stats/api/summary' })).json.views as number
    expect(views).toBeGreaterThanOrEqual(2)
    const built = await readFile(join(web.plugins, 'stats.mjs'), 'utf8')
    const done = reloaded('stats', webHost)
    await atomicWrite(join(web.plugins, 'stats.mjs'), built.replace('VERSION = "1.0.0"', 'VERSION = "1.0.1"'))
    await done
    expect((await send(webHost.url, { path: '/p/stats/api/summary' })).json).toMatchObject({ version: '1.0.1', views })
  })

  it('its config is checked by its schema: maxLinks holds, a bad value is refused with its path, a good one applies', async () => {
    expect((await post('https://example.com/2')).status).toBe(201)
    expect((await post('https://example.com/3')).status).toBe(201)
    const full = await post('https://example.com/4')
    expect([full.status, full.json.error.message]).toEqual([400, 'at most 3 links (setting maxLinks); remove some first'])
    const put = (body: unknown): ReturnType<typeof send> => send(webHost.url, { method: 'PUT', path: '/api/plugins/links/config', token: webHost.token, body: JSON.stringify(body), headers: json })
    const refused = await put({ maxLinks: 0, colour: 'red' })
    expect(refused.status).toBe(422)
    expect(refused.json.error.code).toBe('CONFIG_INVALID')
    expect((refused.json.error.issues as { path: string[] }[]).map((i) => i.path)).toEqual([['colour'], ['maxLinks']])
    // the reload with that config never served: the old version, with its config, still does
    expect(webHost.pipeline.registry.status('links')).toMatchObject({ version: '1.1.0', lastError: { code: 'CONFIG_INVALID' } })
    expect((await post('https://example.com/4')).status).toBe(400)
    expect((await put({ maxLinks: 10 })).status).toBe(200)
    expect((await post('https://example.com/4')).status).toBe(201)
    expect((await send(webHost.url, { path: '/p/links/api/links' })).json.links).toHaveLength(4)
  })

  it('a bad config at start fails the load with the issue named, and the links survive a restart in the kv store', async () => {
    await webHost.close()
    webHost = await startHost(testConfig(web, { debounceMs: 20, loader: 'in-process', plugins: { links: { keyLength: 99 } } }), { stdout: () => undefined, color: false })
    const failed = webHost.pipeline.status().plugins.find((p) => p.path === join(web.plugins, 'links.mjs'))
    expect(failed?.plugin).toBeUndefined()
    expect(failed?.lastError?.message).toMatch(/keyLength: expected a whole number from 4 to 12, got 99/)
    expect((await send(webHost.url, { path: '/p/links/' })).status).toBe(404)
    await webHost.close()
    webHost = await startHost(webConfig(), { stdout: () => undefined, color: false })
    const list = await send(webHost.url, { path: '/p/links/api/links' })
    expect(list.json.links).toHaveLength(4)
    expect((list.json.links as { key: string }[]).find((l) => l.key === key)).toMatchObject({ url: 'https://example.com/some/long/path' })
  })
})
