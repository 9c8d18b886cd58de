// A link shortener, the example app: open http://127.0.0.1:4477/p/links/ in a browser.
// Written in TypeScript; `pnpm run build` bundles it into examples/plugins/links.mjs.
// - Links and hit counts live in the host's `kv` service (`uses: ['kv']`), so they survive
//   every reload and a restart of the host.
// - Its settings come from the host's config file (`plugins.links` in hotswap.config.json, or
//   `PUT /api/plugins/links/config`), checked by the Standard Schema below before it serves.
// - The links followed lately move to the next version in `saveState()`.
// Edit it while a tab uses it (change TITLE, rebuild with `pnpm --filter hotswap-host run
// build:examples`): the page shows the new version and every link and hit is still there.
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { PluginContext, PluginDefinition, ServiceClient } from '@hotswap/registry'

const VERSION = '1.0.0'
const TITLE = 'hotswap links'

/** The host's `kv` service (apps/host/src/kv.ts), as this plugin uses it. */
interface Kv {
  get(key: string): unknown
  set(key: string, value: unknown): void
  delete(key: string): boolean
  increment(key: string, by?: number): number
  list(prefix?: string): [string, unknown][]
}

declare module '@hotswap/registry' {
  interface PluginServices {
    kv: Kv
  }
}

/** The settings, after the schema. */
export interface LinksConfig {
  /** Where short links point, e.g. `https://sho.rt/` (default: this route's own address). */
  readonly baseUrl: string | undefined
  /** How many links it keeps (1-100000, default 1000). */
  readonly maxLinks: number
  /** Characters in a new key (4-12, default 5). */
  readonly keyLength: number
}

/** A Standard Schema (https://standardschema.dev) for the settings, without a library. */
export const linksConfig: StandardSchemaV1<unknown, LinksConfig> = {
  '~standard': {
    version: 1,
    vendor: 'hotswap-links',
    validate(value) {
      const input = value ?? {}
      if (typeof input !== 'object' || Array.isArray(input)) return { issues: [{ message: 'expected an object like { "maxLinks": 100 }' }] }
      const raw = input as Record<string, unknown>
      const issues: StandardSchemaV1.Issue[] = []
      for (const key of Object.keys(raw)) if (!['baseUrl', 'maxLinks', 'keyLength'].includes(key)) issues.push({ message: `unknown setting; known: baseUrl, maxLinks, keyLength`, path: [key] })
      const int = (key: string, min: number, max: number, fallback: number): number => {
        const v = raw[key] ?? fallback
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) issues.push({ message: `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`, path: [key] })
        return v as number
      }
      const maxLinks = int('maxLinks', 1, 100_000, 1000)
      const keyLength = int('keyLength', 4, 12, 5)
      let baseUrl: string | undefined
      if (raw.baseUrl !== undefined) {
        try {
          if (typeof raw.baseUrl !== 'string') throw new Error('not a string')
          const url = new URL(raw.baseUrl)
          if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
          baseUrl = url.href.endsWith('/') ? url.href : `${url.href}/`
        } catch {
          issues.push({ message: `expected an http(s) URL like "https://sho.rt/", got ${JSON.stringify(raw.baseUrl)}`, path: ['baseUrl'] })
        }
      }
      return issues.length > 0 ? { issues } : { value: { baseUrl, maxLinks, keyLength } }
    },
  },
}

/** A short link. */
export interface Link {
  readonly key: string
  readonly url: string
  readonly short: string
  readonly hits: number
  readonly createdAt: number
}

interface LinksState {
  /** The keys followed lately, newest first. */
  readonly recent: readonly string[]
}

/** What the plugin offers to calls (`POST /api/plugins/links/call`) and to plugins that depend on it. */
export interface LinksApi {
  shorten(url: string): Promise<Link>
  resolve(key: string): Promise<string | undefined>
  list(): Promise<Link[]>
  remove(key: string): Promise<boolean>
  recent(): readonly string[]
  entries(): AsyncIterable<Link>
  fetch(request: Request): Promise<Response>
}

const LINK = 'links:link:'
const HITS = 'links:hits:'
let recent: string[] = []

const plugin: PluginDefinition<LinksApi, LinksState, typeof linksConfig, 'kv'> = {
  name: 'links',
  version: VERSION,
  config: linksConfig,
  uses: ['kv'],
  setup(ctx: PluginContext<LinksState, LinksConfig, 'kv'>): LinksApi {
    const kv: ServiceClient<Kv> = ctx.services.kv
    const settings = ctx.config
    recent = [...(ctx.state?.recent ?? [])]
    const shortOf = (key: string, base: string): string => `${settings.baseUrl ?? base}${key}`
    const all = async (base: string): Promise<Link[]> => {
      const hits = new Map((await kv.list(HITS)).map(([k, v]) => [k.slice(HITS.length), v as number]))
      return (await kv.list(LINK))
        .map(([k, v]) => {
          const key = k.slice(LINK.length)
          const stored = v as { url: string; createdAt: number }
          return { key, url: stored.url, short: shortOf(key, base), hits: hits.get(key) ?? 0, createdAt: stored.createdAt }
        })
        .sort((a, b) => b.createdAt - a.createdAt || (a.key < b.key ? -1 : 1))
    }
    const shorten = async (text: string, base = '/p/links/'): Promise<Link> => {
      const url = checkUrl(text)
      const links = await all(base)
      const existing = links.find((l) => l.url === url)
      if (existing !== undefined) return existing
      if (links.length >= settings.maxLinks) throw new Error(`at most ${settings.maxLinks} links (setting maxLinks); remove some first`)
      let key = randomKey(settings.keyLength)
      while (links.some((l) => l.key === key)) key = randomKey(settings.keyLength)
      const createdAt = Date.now()
      await kv.set(`${LINK}${key}`, { url, createdAt })
      return { key, url, short: shortOf(key, base), hits: 0, createdAt }
    }
    const resolve = async (key: string): Promise<string | undefined> => {
      if (!/^[A-Za-z0-9]{1,12}$/.test(key)) return undefined
      const stored = (await kv.get(`${LINK}${key}`)) as { url: string } | null
      if (stored === null) return undefined
      await kv.increment(`${HITS}${key}`)
      recent = [key, ...recent.filter((k) => k !== key)].slice(0, 10)
      return stored.url
    }
    const remove = async (key: string): Promise<boolean> => {
      await kv.delete(`${HITS}${key}`)
      recent = recent.filter((k) => k !== key)
      return kv.delete(`${LINK}${key}`)
    }
    if (ctx.previousVersion !== undefined) ctx.log.info(`${VERSION} took over from ${ctx.previousVersion} (${recent.length} recent links)`)
    const api: LinksApi = {
      shorten: (url) => shorten(url),
      resolve,
      list: () => all('/p/links/'),
      remove,
      recent: () => recent,
      async *entries() {
        for (const link of await all('/p/links/')) yield link
      },
      async fetch(request) {
        const url = new URL(request.url)
        const prefix = request.headers.get('x-forwarded-prefix') ?? ''
        const base = `${url.origin}${prefix}/`
        const path = url.pathname
        if (path === '/' && request.method === 'GET') return html(page(prefix, settings))
        if (path === '/api/links' && request.method === 'GET') return Response.json({ version: VERSION, maxLinks: settings.maxLinks, links: await all(base), recent })
        if (path === '/api/links' && request.method === 'POST') {
          const body = (await request.json().catch(() => ({}))) as { url?: unknown }
          try {
            return Response.json(await shorten(typeof body.url === 'string' ? body.url : '', base), { status: 201 })
          } catch (error) {
            return Response.json({ error: { code: 'BAD_URL', message: (error as Error).message } }, { status: 400 })
          }
        }
        const key = /^\/api\/links\/([A-Za-z0-9]+)$/.exec(path)?.[1]
        if (key !== undefined && request.method === 'DELETE') return new Response(null, { status: (await remove(key)) ? 204 : 404 })
        const go = /^\/([A-Za-z0-9]+)$/.exec(path)?.[1]
        if (go !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
          const target = await resolve(go)
          return target === undefined ? new Response(`no link ${go}\n`, { status: 404 }) : new Response(null, { status: 302, headers: { location: target } })
        }
        return new Response('not found\n', { status: 404 })
      },
    }
    return api
  },
  saveState: () => ({ recent }),
}

export default plugin

function checkUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    throw new Error(`${JSON.stringify(text)} is not a URL; write it with http:// or https://`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`only http and https links, not ${url.protocol}`)
  return url.href
}

function randomKey(length: number): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  let key = ''
  for (let i = 0; i < length; i++) key += alphabet[Math.floor(Math.random() * alphabet.length)]
  return key
}

function html(body: string): Response {
  return new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } })
}

function page(prefix: string, settings: LinksConfig): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLE}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330 }
h1 { font-size: 1.4rem } .muted { color: #6b7280 } form { display: flex; gap: .5rem }
input { flex: 1; padding: .45rem .6rem; font: inherit } button { font: inherit; padding: .45rem .8rem }
table { width: 100%; border-collapse: collapse; margin-top: 1rem } td, th { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid #e5e7eb }
#error { color: #b91c1c } code { background: #f3f4f6; padding: 0 .25rem }
</style></head>
<body>
<h1>${TITLE} <span class="muted" id="version">v${VERSION}</span></h1>
<p class="muted">A hotswap plugin. Edit <code>examples/src/links.ts</code> and rebuild: this page picks up the new version and keeps every link.
Up to <span id="max">${settings.maxLinks}</span> links (setting <code>maxLinks</code>). Hits by link: <a href="../stats/">stats</a>.</p>
<form id="add"><input id="url" name="url" type="url" placeholder="https://example.com/a/long/path" required><button>Shorten</button></form>
<p id="error" role="alert"></p>
<table><thead><tr><th>short</th><th>target</th><th>hits</th><th></th></tr></thead><tbody id="links"></tbody></table>
<script>
const base = ${JSON.stringify(`${prefix}/`)}
async function refresh() {
  const res = await fetch(base + 'api/links')
  const data = await res.json()
  document.getElementById('version').textContent = 'v' + data.version
  document.getElementById('max').textContent = data.maxLinks
  const rows = data.links.map((l) => {
    const tr = document.createElement('tr')
    tr.dataset.key = l.key
    const a = document.createElement('a'); a.href = base + l.key; a.textContent = l.short
    const target = document.createElement('td'); target.textContent = l.url
    const hits = document.createElement('td'); hits.textContent = l.hits; hits.className = 'hits'
    const del = document.createElement('button'); del.textContent = 'remove'
    del.onclick = async () => { await fetch(base + 'api/links/' + l.key, { method: 'DELETE' }); refresh() }
    const short = document.createElement('td'); short.append(a)
    const actions = document.createElement('td'); actions.append(del)
    tr.append(short, target, hits, actions)
    return tr
  })
  document.getElementById('links').replaceChildren(...rows)
}
document.getElementById('add').onsubmit = async (event) => {
  event.preventDefault()
  const res = await fetch(base + 'api/links', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: document.getElementById('url').value }) })
  const data = await res.json()
  document.getElementById('error').textContent = res.ok ? '' : data.error.message
  if (res.ok) document.getElementById('url').value = ''
  refresh()
}
refresh()
setInterval(refresh, 2000)
</script>
</body></html>
`
}
