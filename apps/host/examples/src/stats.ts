// Link stats, the second example app: http://127.0.0.1:4477/p/stats/ shows which short links
// of the `links` plugin are followed most. It depends on `links` (`dependsOn`), reaches it with
// `ctx.plugins.get('links')` (a stable handle: it keeps working while `links` reloads), and
// keeps its own page-view count across its reloads in `saveState()`.
import type { PluginContext, PluginDefinition } from '@hotswap/registry'
import type { Link, LinksApi } from './links.js'

const VERSION = '1.0.0'

interface StatsState {
  readonly views: number
}

/** A summary of the links plugin's links. */
export interface Summary {
  readonly version: string
  readonly links: number
  readonly hits: number
  readonly top: readonly Pick<Link, 'key' | 'url' | 'hits'>[]
  readonly views: number
}

interface StatsApi {
  summary(n?: number): Promise<Summary>
  fetch(request: Request): Promise<Response>
}

let views = 0

const plugin: PluginDefinition<StatsApi, StatsState, undefined, string, 'links'> = {
  name: 'stats',
  version: VERSION,
  dependsOn: { links: '^1.0.0' },
  setup(ctx: PluginContext<StatsState, unknown, string, 'links'>): StatsApi {
    views = ctx.state?.views ?? 0
    const links = ctx.plugins.get<LinksApi>('links')
    const summary = async (n = 5): Promise<Summary> => {
      const all = await links.api.list()
      const top = [...all]
        .sort((a, b) => b.hits - a.hits || (a.key < b.key ? -1 : 1))
        .slice(0, Math.max(1, Math.min(50, n)))
        .map(({ key, url, hits }) => ({ key, url, hits }))
      return { version: VERSION, links: all.length, hits: all.reduce((sum, l) => sum + l.hits, 0), top, views }
    }
    return {
      summary,
      async fetch(request) {
        const url = new URL(request.url)
        if (url.pathname === '/api/summary' && request.method === 'GET') {
          const n = Number.parseInt(url.searchParams.get('n') ?? '5', 10)
          return Response.json(await summary(Number.isFinite(n) ? n : 5))
        }
        if (url.pathname === '/' && request.method === 'GET') {
          views++
          return new Response(page(await summary(10)), { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } })
        }
        return new Response('not found\n', { status: 404 })
      },
    }
  },
  saveState: () => ({ views }),
}

export default plugin

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page(s: Summary): string {
  const rows = s.top.map((l) => `<tr data-key="${escape(l.key)}"><td><a href="../links/${escape(l.key)}">${escape(l.key)}</a></td><td>${escape(l.url)}</td><td class="hits">${l.hits}</td></tr>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="5">
<title>link stats</title>
<style>body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem } table { width: 100%; border-collapse: collapse } td, th { text-align: left; padding: .35rem .4rem; border-bottom: 1px solid #e5e7eb } .muted { color: #6b7280 }</style>
</head><body>
<h1>link stats <span class="muted">v${s.version}</span></h1>
<p><span id="links">${s.links}</span> links, <span id="hits">${s.hits}</span> hits; this page was viewed <span id="views">${s.views}</span> times. <a href="../links/">back to the links</a></p>
<table><thead><tr><th>key</th><th>target</th><th>hits</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>
`
}
