// A link shortener, the example app: open http://127.0.0.1:4477/p/links/ in a browser.
// Written in TypeScript; `pnpm run build` bundles it into examples/plugins/links.mjs.
// Edit it while a tab uses it (change TITLE, rebuild with `pnpm --filter hotswap-host run
// build:examples`): the page shows the new version and every link and hit count is still there,
// because saveState() hands them to the next version.
import type { PluginContext, PluginDefinition } from '@hotswap/registry'

const VERSION = '1.0.0'
const TITLE = 'hotswap links'
/** Per-plugin settings (the host has no per-plugin config yet: they live here). */
const SETTINGS = { keyLength: 5, maxLinks: 1000 } as const

interface Link {
  readonly key: string
  readonly url: string
  readonly hits: number
  readonly createdAt: number
}

interface LinksState {
  readonly links: readonly Link[]
}

interface LinksApi {
  shorten(url: string): Link
  resolve(key: string): string | undefined
  list(): readonly Link[]
  remove(key: string): boolean
  entries(): AsyncIterable<Link>
  fetch(request: Request): Promise<Response>
}

let links = new Map<string, Link>()

const plugin: PluginDefinition<LinksApi, LinksState> = {
  name: 'links',
  version: VERSION,
  setup(ctx: PluginContext<LinksState>): LinksApi {
    links = new Map((ctx.state?.links ?? []).map((l) => [l.key, l]))
    if (ctx.previousVersion !== undefined) ctx.log.info(`took over ${links.size} links from ${ctx.previousVersion}`)
    const api: LinksApi = {
      shorten(url) {
        const target = checkUrl(url)
        const existing = [...links.values()].find((l) => l.url === target)
        if (existing !== undefined) return existing
        if (links.size >= SETTINGS.maxLinks) throw new Error(`at most ${SETTINGS.maxLinks} links; remove some first`)
        let key = randomKey()
        while (links.has(key)) key = randomKey()
        const link: Link = { key, url: target, hits: 0, createdAt: Date.now() }
        links.set(key, link)
        return link
      },
      resolve(key) {
        const link = links.get(key)
        if (link === undefined) return undefined
        links.set(key, { ...link, hits: link.hits + 1 })
        return link.url
      },
      list: () => [...links.values()].sort((a, b) => b.createdAt - a.createdAt),
      remove: (key) => links.delete(key),
      async *entries() {
        // One link at a time, yielding to the event loop between them (a long list never blocks).
        for (const link of api.list()) {
          await Promise.resolve()
          yield link
        }
      },
      async fetch(request) {
        const url = new URL(request.url)
        const prefix = request.headers.get('x-forwarded-prefix') ?? ''
        const path = url.pathname
        if (path === '/' && request.method === 'GET') return html(page(prefix))
        if (path === '/api/links' && request.method === 'GET') return Response.json({ version: VERSION, links: api.list() })
        if (path === '/api/links' && request.method === 'POST') {
          const body = (await request.json().catch(() => ({}))) as { url?: unknown }
          try {
            return Response.json(api.shorten(typeof body.url === 'string' ? body.url : ''), { status: 201 })
          } catch (error) {
            return Response.json({ error: { code: 'BAD_URL', message: (error as Error).message } }, { status: 400 })
          }
        }
        const key = /^\/api\/links\/([A-Za-z0-9]+)$/.exec(path)?.[1]
        if (key !== undefined && request.method === 'DELETE') return new Response(null, { status: api.remove(key) ? 204 : 404 })
        const go = /^\/([A-Za-z0-9]+)$/.exec(path)?.[1]
        if (go !== undefined && request.method === 'GET') {
          const target = api.resolve(go)
          return target === undefined ? new Response(`no link ${go}\n`, { status: 404 }) : new Response(null, { status: 302, headers: { location: target } })
        }
        return new Response('not found\n', { status: 404 })
      },
    }
    return api
  },
  saveState: () => ({ links: [...links.values()] }),
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

function randomKey(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  let key = ''
  for (let i = 0; i < SETTINGS.keyLength; i++) key += alphabet[Math.floor(Math.random() * alphabet.length)]
  return key
}

function html(body: string): Response {
  return new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } })
}

function page(prefix: string): string {
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
<p class="muted">A hotswap plugin. Edit <code>examples/src/links.ts</code> and rebuild: this page picks up the new version and keeps every link.</p>
<form id="add"><input id="url" name="url" type="url" placeholder="https://example.com/a/long/path" required><button>Shorten</button></form>
<p id="error" role="alert"></p>
<table><thead><tr><th>short</th><th>target</th><th>hits</th><th></th></tr></thead><tbody id="links"></tbody></table>
<script>
const base = ${JSON.stringify(`${prefix}/`)}
async function refresh() {
  const res = await fetch(base + 'api/links')
  const data = await res.json()
  document.getElementById('version').textContent = 'v' + data.version
  const rows = data.links.map((l) => {
    const tr = document.createElement('tr')
    const a = document.createElement('a'); a.href = base + l.key; a.textContent = location.origin + base + l.key
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
