// Plugin sources and the peer hosts of the edit-to-serving suite. Every host answers
// GET /js and GET /ts with the plugin's `get()` ({ marker, count }) and keeps the plugin's
// state across reloads where its system lets it (globalThis survives bun --hot, hot-hook and
// Vite's ModuleRunner; node --watch restarts the process, so its count starts again).

/** The host's JS example (a counter), with a marker that says which edit is serving. */
export function jsPlugin(marker) {
  return `// counter: the JS example plugin, edit ${marker}
let count = 0
export default {
  name: 'counter',
  version: '1.0.${marker}',
  setup(ctx) {
    if (ctx && ctx.state && typeof ctx.state.count === 'number') count = ctx.state.count
    return { get: () => ({ marker: ${marker}, count: ++count }) }
  },
  saveState() {
    return { count }
  },
}
`
}

/** The host's TS example (a clock-like plugin with types), with a marker. */
export function tsPlugin(marker) {
  return `// clock: the TS example plugin, edit ${marker}
interface ClockState {
  readonly count: number
}
interface ClockApi {
  get(): { marker: number; count: number }
}
let state: ClockState = { count: 0 }
const clock = {
  name: 'clock',
  version: '1.0.${marker}',
  setup(ctx: { state?: ClockState } | undefined): ClockApi {
    state = { count: ctx?.state?.count ?? 0 }
    return {
      get: () => {
        state = { count: state.count + 1 }
        return { marker: ${marker} as number, count: state.count }
      },
    }
  },
  saveState: (): ClockState => state,
}
export default clock
`
}

// Calls setup() again (with the saved state) whenever the module instance changed.
const adapter = `const g = globalThis
g.__e2s ??= { state: {}, inst: {} }
function call(key, def) {
  const s = g.__e2s
  if (s.inst[key]?.def !== def) s.inst[key] = { def, api: def.setup({ state: s.state[key] }) }
  const r = s.inst[key].api.get()
  s.state[key] = def.saveState()
  return r
}
`

const nodeServe = (handler) => `import http from 'node:http'
${adapter}
const server = http.createServer(async (req, res) => {
  try {
    const r = await (${handler})(req.url.slice(1))
    if (r === undefined) { res.statusCode = 404; res.end('{}'); return }
    res.end(JSON.stringify(r))
  } catch (error) {
    res.statusCode = 500
    res.end(JSON.stringify({ error: String(error) }))
  }
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('PORT ' + server.address().port))
`

/** bun --hot: static imports, re-evaluated on change; Bun.serve reloaded in place. */
export function bunHost(ts) {
  return `import counter from './plugins/counter.mjs'
${ts ? "import clock from './plugins/clock.ts'" : 'const clock = undefined'}
${adapter}
const defs = { js: counter, ts: clock }
const fetch = (req) => {
  const key = new URL(req.url).pathname.slice(1)
  if (defs[key] === undefined) return new Response('{}', { status: 404 })
  return Response.json(call(key, defs[key]))
}
if (g.__server) g.__server.reload({ fetch })
else {
  g.__server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), fetch })
  console.log('PORT ' + g.__server.port)
}
`
}

/** node --watch: static imports; every edit restarts the process. */
export function nodeWatchHost(ts) {
  return `import counter from './plugins/counter.mjs'
${ts ? "import clock from './plugins/clock.ts'" : 'const clock = undefined'}
const defs = { js: counter, ts: clock }
${nodeServe('async (key) => (defs[key] === undefined ? undefined : call(key, defs[key]))')}`
}

/** hot-hook: the plugins are boundaries, imported dynamically on each request. */
export function hotHookHost(ts) {
  return `const files = { js: './plugins/counter.mjs'${ts ? ", ts: './plugins/clock.ts'" : ''} }
${nodeServe('async (key) => (files[key] === undefined ? undefined : call(key, (await import(files[key], import.meta.hot?.boundary)).default))')}`
}

export const hotHookPackage = JSON.stringify({ name: 'e2s-hot-hook', private: true, type: 'module', hotHook: { boundaries: ['./plugins/*.mjs', './plugins/*.ts'] } })

/** Vite's ModuleRunner (SSR environment, HMR through the in-process channel). */
export function viteHost(ts) {
  return `import { createServer, createServerModuleRunner } from 'vite'
const vite = await createServer({ root: process.cwd(), configFile: false, logLevel: 'silent', appType: 'custom', server: { middlewareMode: true, ws: false }, optimizeDeps: { noDiscovery: true, include: [] } })
const runner = createServerModuleRunner(vite.environments.ssr, { hmr: { logger: false } })
const files = { js: '/plugins/counter.mjs'${ts ? ", ts: '/plugins/clock.ts'" : ''} }
${nodeServe('async (key) => (files[key] === undefined ? undefined : call(key, (await runner.import(files[key])).default))')}`
}
