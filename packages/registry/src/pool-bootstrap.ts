import { pluginExport } from './artifact-run.js'
import { workerHotWindow } from './hot-window.js'
import { WARM_UP, workerBootstrap } from './worker-bootstrap.js'

/**
 * The module-evaluation step of a pool tenant: the worker bootstrap's protocol is unchanged,
 * only `importPlugin` runs `artifact.code` (sent in the `load` request) in the tenant's own realm.
 */
const POOL_IMPORT_STEP = String.raw`
async function importPlugin(m) {
  return { default: require('hotswap:evaluate')(m.code) }
}`

/**
 * The worker bootstrap (see `worker-bootstrap.ts`) as each pool tenant runs it, inside the
 * tenant's own `vm` context: the same protocol, message shapes, output budget and contract,
 * on the tenant's private port.
 *
 * @internal
 */
export const TENANT_BOOTSTRAP: string = workerBootstrap(POOL_IMPORT_STEP, false)

/**
 * The code a pool worker runs (`new Worker(POOL_BOOTSTRAP, { eval: true })`). It owns the
 * worker's main realm and hosts tenants: each `{ op: 'tenant' }` on the private control port
 * (`workerData.control`, removed before any plugin code runs) creates a `vm` context with its
 * own globals and builtins, gives it the host timers, `Buffer`, `URL`, `fetch` and a `process`
 * of its own (an object inheriting from the real one, so the bootstrap's per-version changes
 * stay in the realm), and runs {@link TENANT_BOOTSTRAP} there on the tenant's own port.
 * `{ op: 'drop' }` closes the tenant's port and clears its timers, so nothing references the
 * realm any more. `{ op: 'measure' }` answers the worker's used heap after a full collection.
 *
 * Control requests: `{ op, tid, ... }`; replies: `{ tid, ok, message? }`.
 *
 * @internal
 */
export const POOL_BOOTSTRAP: string = String.raw`
'use strict'
const wt = require('node:worker_threads')
const vm = require('node:vm')
const v8 = require('node:v8')
const { createRequire } = require('node:module')
const { dirname } = require('node:path')
const asyncHooks = require('node:async_hooks')
const { Console } = require('node:console')
const control = wt.workerData.control
const TENANT = wt.workerData.tenantBootstrap
// One hot window for the worker (hot-window.ts), extended by any tenant's messages in and out
// (each tenant's bootstrap gets it as workerData.hot).
${workerHotWindow('wt.workerData.hotWindowUs')}
delete wt.workerData.control
delete wt.workerData.tenantBootstrap
delete wt.workerData.hotWindowUs
const apply = Reflect.apply
const postMessage = wt.MessagePort.prototype.postMessage
const reply = (message) => apply(postMessage, control, [message])
if (typeof process.setSourceMapsEnabled === 'function') process.setSourceMapsEnabled(true)
// Done once for the worker (the tenant bootstrap's copies act on its own process object).
const refuse = () => { throw new Error('not available to plugins: it reaches the host process\'s internals') }
delete process._getActiveHandles
delete process._getActiveRequests
for (const id of ['node:inspector', 'node:inspector/promises']) {
  let m
  try { m = require(id) } catch { continue }
  for (const key of ['connect', 'connectToMainThread']) if (m.Session && m.Session.prototype) Object.defineProperty(m.Session.prototype, key, { value: refuse, writable: false, configurable: false })
  for (const key of ['open', 'waitForDebugger']) if (key in m) Object.defineProperty(m, key, { value: refuse, writable: false, configurable: false })
}
const pluginExport = ${pluginExport.toString()}
const SHARED = ['queueMicrotask', 'structuredClone', 'Buffer', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal',
  'Event', 'EventTarget', 'MessageChannel', 'MessagePort', 'performance', 'fetch', 'Headers', 'Request', 'Response', 'FormData', 'Blob', 'atob', 'btoa', 'crypto',
  'ReadableStream', 'WritableStream', 'TransformStream', 'BroadcastChannel', 'WebAssembly']
const tenants = new Map()
// Warmed once for every realm of this worker, while it waits for its first (the realms share
// this thread's loader, parser and web classes; a realm made meanwhile only finds them built later).
const warming = ${WARM_UP}
// Compiled once per worker: each realm runs the same compiled script (V8 shares the code), so a
// tenant costs its context and its own closures, not a parse of the whole bootstrap.
const bootScript = new vm.Script('(function (require) {' + TENANT + '\n})', { filename: 'hotswap-pool-tenant.js' })
// Made first, so that it is the oldest context of the worker (the last one vm.measureMemory lists).
v8.setFlagsFromString('--expose-gc')
const collect = vm.runInNewContext('gc')
const fullGc = () => collect()
// Blame: slot 0 of the shared array holds the tid whose code runs now (set on every entry into a
// realm: a message on its port, one of its timers, its process.exit), so the host knows who took
// the worker down when it ends.
const running = new Int32Array(wt.workerData.running)
delete wt.workerData.running
const enter = (tid) => Atomics.store(running, 0, tid)
function timers(live, tid) {
  const entered = (fn) => (typeof fn === 'function' ? function (...a) { enter(tid); return apply(fn, this, a) } : fn)
  const wrap = (set, clear) => [(fn, ...a) => { const t = set(entered(fn), ...a); live.add(t); return t }, (t) => { live.delete(t); clear(t) }]
  const [st, ct] = wrap(setTimeout, clearTimeout)
  const [si, ci] = wrap(setInterval, clearInterval)
  const [sm, cm] = wrap(setImmediate, clearImmediate)
  return { setTimeout: st, clearTimeout: ct, setInterval: si, clearInterval: ci, setImmediate: sm, clearImmediate: cm }
}
// Creating a context is most of a realm's cost (about 0.5 ms here): one is made ahead for the
// next version once the worker has been idle for a moment, and the version's own globals (its
// timers and process) are added to it when it comes.
let spare
let spareTimer
// measurements in flight: no context is made ahead meanwhile (it would shift their list)
let measurements = 0
function freshContext() {
  const sandbox = {}
  for (const key of SHARED) if (globalThis[key] !== undefined) sandbox[key] = globalThis[key]
  return vm.createContext(sandbox, { name: 'hotswap-pool-realm' })
}
function spareSoon() {
  clearTimeout(spareTimer)
  spareTimer = setTimeout(() => {
    if (measurements > 0) spareSoon()
    else if (spare === undefined) spare = freshContext()
  }, 50)
  spareTimer.unref()
}
function addTenant(m) {
  const live = new Set()
  const ctx = spare ?? freshContext()
  spare = undefined
  Object.assign(ctx, timers(live, m.tid))
  const ownProcess = Object.create(process)
  ownProcess.exit = (code) => { enter(m.tid); process.exit(code) }
  // What reached the tenant: slot 0 holds the highest request id its port delivered (this
  // listener runs before the tenant's own), so the host retries only calls that never arrived.
  const seen = new Int32Array(m.seen)
  m.port.on('message', (r) => { enter(m.tid); if (r !== null && typeof r === 'object' && typeof r.id === 'number' && r.id > seen[0]) Atomics.store(seen, 0, r.id) })
  ctx.process = ownProcess
  const tenantWt = { ...wt, workerData: { port: m.port, linesPerSecond: m.linesPerSecond, hot } }
  const pluginRequire = createRequire(m.file)
  let evaluated = false
  function evaluate(code) {
    if (evaluated) throw new Error('the tenant was evaluated already')
    evaluated = true
    const module = { exports: {}, id: m.file, filename: m.file, loaded: false, paths: pluginRequire.resolve.paths('x') || [], require: pluginRequire }
    const fn = vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: m.file, parsingContext: ctx })
    apply(fn, module.exports, [module.exports, pluginRequire, module, m.file, dirname(m.file)])
    module.loaded = true
    return pluginExport(module.exports)
  }
  const shim = (id) => {
    switch (id) {
      case 'node:worker_threads': return tenantWt
      case 'node:async_hooks': return { ...asyncHooks }
      case 'node:inspector': case 'node:inspector/promises': throw new Error('handled once by the pool worker')
      case 'node:module': return { syncBuiltinESMExports() {} }
      case 'hotswap:evaluate': return evaluate
      default: return require(id)
    }
  }
  const boot = bootScript.runInContext(ctx)
  boot(shim)
  // made on first use: most plugins never log through console, and a Console is not cheap
  let console
  Object.defineProperty(ctx, 'console', { configurable: true, enumerable: false,
    get: () => (console ??= new Console({ stdout: ownProcess.stdout, stderr: ownProcess.stderr })),
    set: (value) => { console = value } })
  tenants.set(m.tid, { port: m.port, live })
  spareSoon()
}
// Per-realm heap: vm.measureMemory lists the worker's live contexts but the main one, newest
// first; that matches the spare (when there is one, the newest), the tenants (newest first) and
// then the gc context only when the counts agree (a plugin that makes contexts of its own, or a
// dropped realm not yet collected, shifts the list: that round is answered as unattributed).
async function measureTenants() {
  const emitWarning = process.emitWarning
  let measuring
  const ahead = spare === undefined ? 0 : 1
  process.emitWarning = () => undefined // its ExperimentalWarning, once per worker, is noise here
  try { measuring = vm.measureMemory({ mode: 'detailed', execution: 'eager' }) } finally { process.emitWarning = emitWarning }
  measurements++
  let result
  try { result = await measuring } finally { measurements-- }
  const others = result.other
  const tids = [...tenants.keys()].reverse()
  if (others.length !== tids.length + ahead + 1) return { attributed: false, heaps: [], contexts: others.length, tenants: tids.length }
  return { attributed: true, heaps: tids.map((tid, i) => [tid, others[i + ahead].jsMemoryEstimate]) }
}
function dropTenant(tid) {
  const t = tenants.get(tid)
  if (t === undefined) return
  tenants.delete(tid)
  t.port.close()
  for (const timer of t.live) { clearTimeout(timer); clearInterval(timer); clearImmediate(timer) }
  t.live.clear()
}
control.on('message', (m) => {
  try {
    if (m.op === 'tenant') addTenant(m)
    else if (m.op === 'drop') dropTenant(m.tid)
    else if (m.op === 'ping') { /* answered below: the thread is free */ }
    else if (m.op === 'memory') {
      measureTenants().then((r) => reply({ tid: m.tid, ok: true, ...r }), (error) => reply({ tid: m.tid, ok: false, message: String(error && error.message) }))
      return
    } else if (m.op === 'measure') {
      fullGc()
      return reply({ tid: m.tid, ok: true, heap: v8.getHeapStatistics().used_heap_size, tenants: tenants.size })
    } else throw new Error('unknown control op ' + String(m.op))
    reply({ tid: m.tid, ok: true })
  } catch (error) {
    reply({ tid: m.tid, ok: false, message: String(error && error.message) })
  }
})
`
