import { uncloneablePath } from './clone-path.js'
import { workerHotWindow } from './hot-window.js'
import { CONTRACT_BOOTSTRAP } from './worker-contract.js'
import { WEB_BOOTSTRAP } from './worker-web.js'

/**
 * An expression that warms a fresh worker thread while it waits for its first version, as a
 * promise that never rejects. The ESM loader and the parser: two imports of a module of 300
 * functions (the second runs warmed code; nothing is written to disk). And fetch's `Response`,
 * `Request` and `Headers` with the web streams under them, which Node builds on first use (about
 * 20 ms in a fresh worker); every call's result is checked against `Response`, so the first call
 * after a switch would pay for them.
 *
 * @internal
 */
export const WARM_UP: string = String.raw`(() => {
  let warm = ''
  for (let k = 0; k < 300; k++) warm += 'function w' + k + '(a, b) { return a * ' + k + ' + b }\n'
  warm += 'export default { name: "warm-up", version: "0.0.0", setup() { return {} } }\n'
  return import('data:text/javascript,' + encodeURIComponent(warm))
    .then(() => import('data:text/javascript,' + encodeURIComponent(warm + '// again')))
    .then(() => new Response(new Request('http://localhost/', { method: 'POST', body: 'x', headers: new Headers({ a: 'b' }) }).body).text())
    .catch(() => undefined)
})()`

/**
 * The code every plugin worker runs, started with `new Worker(WORKER_BOOTSTRAP, { eval: true })`
 * so that it ships inside the ESM and CJS bundles alike. It waits for a `load` request (a warm
 * spare sits here), imports the plugin, and serves `setup`, `call`, `save`, `dispose`.
 *
 * The protocol runs on a private `MessagePort` handed over in `workerData.port` (transferred)
 * and removed from `workerData` before any plugin code runs; `parentPort` carries nothing of
 * it, so a plugin (or a library) posting there cannot forge a reply. The bootstrap also hides
 * the port from the usual ways to find an object: `process._getActiveHandles()` is removed,
 * `executionAsyncResource()` inside a request is a bare `AsyncResource`, and it posts through
 * `MessagePort.prototype.postMessage` as it was at boot (a patched prototype sees nothing).
 * The inspector (which can reach any object) is refused, and `process.stdout`, `stderr` and
 * `stdin` are the bootstrap's own streams, so Node's internal channel to the host is out of
 * reach too. Code that still finds our port can only send messages the host validates:
 * garbage ends that worker, never the host.
 *
 * Output (stdout, stderr, `ctx.log`) is metered here, before it costs the host anything: up to
 * `workerData.linesPerSecond` lines pass, the rest are dropped and counted (`{ dropped }`).
 *
 * Requests: `{ id, op, ... }`; replies: `{ id, ok, value | error }`; logs: `{ log, message }`;
 * output: `{ out: 'stdout' | 'stderr', text }`; dropped output: `{ dropped }`.
 *
 * @internal
 */
export const WORKER_BOOTSTRAP: string = workerBootstrap(String.raw`
// It runs the artifact's code as sent (m.code: the CommonJS bundle with its source map), never a
// file: a fresh module named m.file (beside the entry, so npm packages resolve from the plugin's
// folder), and Node maps stack traces to the original files through the source map.
const CjsModule = require('node:module')
process.setSourceMapsEnabled(true)
async function importPlugin(m) {
  const mod = new CjsModule(m.file)
  mod.filename = m.file
  mod.paths = CjsModule._nodeModulePaths(require('node:path').dirname(m.entry))
  mod._compile(m.code, m.file, 'commonjs')
  mod.loaded = true
  return { default: mod.exports }
}
// Run by the boot's warm-up, before any version arrives: the first compile of a module with a
// source map in a worker costs about twice the next (the CommonJS compile path and Node's source
// map cache are built on first use); this compiles a small one, so a version's load does not.
function warmImport() {
  const map = { version: 3, sources: ['warm-up.js'], names: [], mappings: 'AAAA;AACA' }
  const code = 'module.exports = { name: "warm-up", version: "0.0.0", setup() { return {} } }\nvoid 0\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,' + Buffer.from(JSON.stringify(map)).toString('base64') + '\n'
  const file = require('node:path').join(require('node:os').tmpdir(), 'hotswap-warm-up.js')
  return importPlugin({ entry: file, file: file + '.bundle.js', code })
}`)

/**
 * The bootstrap with another module-evaluation step: `importStep` defines
 * `async function importPlugin(m)` returning the module namespace (`{ default }`) of the
 * version (the pool loader evaluates `artifact.code` in a realm of its own there). `warm`:
 * whether it warms the thread while it waits (see {@link WARM_UP}); a pool tenant does not,
 * its worker did that once for all its realms.
 *
 * @internal
 */
export function workerBootstrap(importStep: string, warm = true): string {
  return String.raw`
'use strict'
const wt = require('node:worker_threads')
const asyncHooks = require('node:async_hooks')
const { AsyncResource, AsyncLocalStorage } = asyncHooks
const { format } = require('node:util')
const { Writable, Readable } = require('node:stream')
const apply = Reflect.apply
const defineProperty = Object.defineProperty
const getPrototypeOf = Object.getPrototypeOf
const MessagePortClass = wt.MessagePort
const postMessage = MessagePortClass.prototype.postMessage
const port = wt.workerData.port
const linesPerSecond = wt.workerData.linesPerSecond
// The hot window (hot-window.ts): the loop keeps polling for a while after each message in or
// out, so the next request of a burst does not pay a wake-up. A pool tenant uses its worker's
// (workerData.hot: one window for all the tenants of a pool worker) instead of one of its own.
${workerHotWindow('wt.workerData.hotWindowUs', 'ownHot')}
const hot = typeof wt.workerData.hot === 'function' ? wt.workerData.hot : ownHot
delete wt.workerData.port
delete wt.workerData.linesPerSecond
delete wt.workerData.hotWindowUs
delete wt.workerData.hot
const send = (message) => { hot(false); apply(postMessage, port, [message]) }
const scope = new AsyncResource('hotswap-request')
const uncloneablePath = ${uncloneablePath.toString()}
// Nothing that reaches a MessagePort (ours, or Node's own channel to the host, which Node does
// not validate) is left to plugin code: no active-handle list, no inspector, no port as the
// current async resource, and stdio streams of our own instead of Node's (their internal port).
const refuse = () => { throw new Error('not available to plugins: it reaches the host process\'s internals') }
delete process._getActiveHandles
delete process._getActiveRequests
for (const id of ['node:inspector', 'node:inspector/promises']) {
  let m
  try { m = require(id) } catch { continue }
  for (const key of ['connect', 'connectToMainThread']) if (m.Session && m.Session.prototype) defineProperty(m.Session.prototype, key, { value: refuse, writable: false, configurable: false })
  for (const key of ['open', 'waitForDebugger']) if (key in m) defineProperty(m, key, { value: refuse, writable: false, configurable: false })
}
const binding = process.binding
defineProperty(process, 'binding', { value: function (name) { if (String(name) === 'inspector') refuse(); return apply(binding, process, [name]) }, writable: false, configurable: false })
const isPort = (r) => { for (let o = r; o !== null && o !== undefined && (typeof o === 'object' || typeof o === 'function'); o = getPrototypeOf(o)) if (o === MessagePortClass.prototype) return true; return false }
const executionAsyncResource = asyncHooks.executionAsyncResource
defineProperty(asyncHooks, 'executionAsyncResource', { value: function () { const r = executionAsyncResource(); return isPort(r) ? scope : r }, writable: false, configurable: false })
// Output: every line costs one token of linesPerSecond, shared by stdout, stderr and ctx.log;
// over budget, lines are dropped here (the host never sees them) and counted.
let tokens = linesPerSecond
let last = performance.now()
let dropped = 0
let dropTimer
function take(n) {
  const now = performance.now()
  tokens = Math.min(linesPerSecond, tokens + ((now - last) / 1000) * linesPerSecond)
  last = now
  if (tokens >= n) { tokens -= n; return true }
  dropped += n
  if (dropTimer === undefined) { dropTimer = setTimeout(() => { dropTimer = undefined; send({ dropped }); dropped = 0 }, 250); dropTimer.unref() }
  return false
}
function lines(text) {
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
  return text.length > 0 && text[text.length - 1] !== '\n' ? n + 1 : n
}
function stdio(out) {
  const stream = new Writable({ decodeStrings: false, write(chunk, encoding, done) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    if (take(lines(text))) send({ out, text })
    done()
  } })
  stream.isTTY = false
  return stream
}
const stdout = stdio('stdout')
const stderr = stdio('stderr')
const stdin = new Readable({ read() { this.push(null) } })
defineProperty(process, 'stdout', { get: () => stdout, configurable: false, enumerable: true })
defineProperty(process, 'stderr', { get: () => stderr, configurable: false, enumerable: true })
defineProperty(process, 'stdin', { get: () => stdin, configurable: false, enumerable: true })
require('node:module').syncBuiltinESMExports()
// --- the plugin contract (config, services, dependencies, events, streams): worker-contract.ts
${CONTRACT_BOOTSTRAP}
// --- web handlers (a Request argument, a Response result): worker-web.ts
${WEB_BOOTSTRAP}
// --- end of the plugin contract
let def
let api
let methods = new Set()
const controller = new AbortController()
// Calls made with a signal: each gets an AbortController of its own, aborted by { op: 'abort' }
// (the caller aborted), by the consumer leaving its stream, or by dispose; ctx.signal read
// inside that call (its async context, through callScope) is that controller's signal.
const callScope = new AsyncLocalStorage()
const callControllers = new Map()
const AbortErrorClass = typeof DOMException === 'function' ? DOMException : AbortSignal.abort().reason.constructor
const abortError = (text) => new AbortErrorClass(text, 'AbortError')
const warming = ${warm ? WARM_UP : 'Promise.resolve()'}
  // The module-evaluation step's own warm-up, where it has one (the pool's tenants have none).
  .then(() => (typeof warmImport === 'function' ? warmImport() : undefined))
  .catch(() => undefined)

// The step that evaluates the plugin's code: everything else in this file is protocol.
${importStep}

function serialize(error, tag) {
  if (error instanceof Error) {
    const code = error.code
    return { name: String(error.name), message: String(error.message), stack: typeof error.stack === 'string' ? error.stack : undefined,
      code: typeof code === 'string' || typeof code === 'number' ? code : undefined, tag }
  }
  return { name: 'Error', message: 'non-error thrown: ' + format(error), tag }
}
function ok(id, value, what) {
  try {
    send({ id, ok: true, value })
  } catch (error) {
    const where = uncloneablePath(value, what || 'the value')
    send({ id, ok: false, error: { name: 'DataCloneError', message: where ? where + ', which cannot cross the worker boundary' : String(error && error.message), tag: 'clone' } })
  }
}
function fail(id, error, tag) {
  send({ id, ok: false, error: serialize(error, tag) })
}
function log(level) {
  return (...args) => { if (take(1)) send({ log: level, message: format(...args) }) }
}
function rejectState(reason) {
  const error = new Error(String(reason === undefined ? 'the state was rejected' : reason))
  error.name = 'StateRejectedError'
  throw error
}
function collect(obj) {
  const names = new Set()
  for (let o = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor') continue
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (d && typeof d.value === 'function') names.add(key)
    }
  }
  return names
}
async function load(m) {
  await warming
  let mod
  try {
    mod = await importPlugin(m)
  } catch (error) {
    return fail(m.id, error, 'load')
  }
  let d = mod.default
  if (d && typeof d === 'object' && typeof d.setup !== 'function' && d.default && typeof d.default === 'object') d = d.default
  if (!d || typeof d !== 'object') return fail(m.id, new TypeError('the default export is ' + (d === null ? 'null' : typeof d) + ', not a plugin object with name, version and setup'), 'invalid')
  if (typeof d.setup !== 'function') return fail(m.id, new TypeError('the default export has no setup() function'), 'invalid')
  for (const key of ['saveState', 'migrateState', 'dispose']) {
    if (d[key] !== undefined && typeof d[key] !== 'function') return fail(m.id, new TypeError(key + ' must be a function'), 'invalid')
  }
  let contract
  try { contract = readContract(d) } catch (error) { return fail(m.id, error, 'invalid') }
  def = d
  ok(m.id, { name: d.name, version: d.version, hasSaveState: typeof d.saveState === 'function', hasMigrateState: typeof d.migrateState === 'function', contract })
}
async function setup(m) {
  const init = m.init
  let state = init.state
  if (init.migrateFrom !== undefined && init.hasState) {
    try {
      state = await def.migrateState(state, init.migrateFrom)
    } catch (error) {
      return fail(m.id, error, 'migrate')
    }
  }
  try {
    const ctx = { ...contractContext(init), state: init.hasState ? state : undefined, previousVersion: init.previousVersion, rejectState,
      log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } }
    defineProperty(ctx, 'signal', { get() { const call = callScope.getStore(); return call === undefined ? controller.signal : call.signal }, enumerable: true })
    const result = await def.setup(ctx)
    if (!result || (typeof result !== 'object' && typeof result !== 'function')) throw new TypeError('setup() returned ' + (result === null ? 'null' : typeof result) + ', not an API object')
    api = result
    methods = collect(result)
  } catch (error) {
    return fail(m.id, error, 'setup')
  }
  ok(m.id, [...methods])
}
async function other(m) {
  switch (m.op) {
    case 'load': return load(m)
    case 'setup': return setup(m)
    case 'save':
      try { return ok(m.id, def.saveState ? await def.saveState() : undefined, 'the state') } catch (error) { return fail(m.id, error, 'save') }
    case 'abort': {
      const call = callControllers.get(m.id)
      if (call !== undefined) {
        callControllers.delete(m.id)
        call.abort(abortError('the caller aborted this call'))
      }
      return
    }
    case 'dispose':
      controller.abort()
      for (const call of callControllers.values()) call.abort(abortError('the plugin version was disposed'))
      callControllers.clear()
      try { if (def && def.dispose) await def.dispose() } catch (error) { return fail(m.id, error, 'dispose') }
      return ok(m.id, undefined)
    case 'config': return contractConfig(m)
    case 'hostReply': return contractReply(m)
    default:
      return fail(m.id, new Error('unknown op ' + m.op), 'op')
  }
}
function onRequest(m) {
  if (m.op !== 'call') {
    void other(m)
    return
  }
  if (!methods.has(m.method)) return fail(m.id, new Error('no method ' + m.method), 'unknown-method')
  if (m.signal === true) return signalledCall(m)
  let r
  try {
    r = api[m.method](...(m.req === undefined ? m.args : webArgs(m, undefined)))
  } catch (error) {
    webDone(m.requests)
    return fail(m.id, error, 'call')
  }
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
    r.then((v) => callResult(m, v), (e) => { webDone(m.requests); fail(m.id, e, 'call') })
  } else {
    callResult(m, r)
  }
}
function signalledCall(m) {
  const call = new AbortController()
  callControllers.set(m.id, call)
  const store = { signal: call.signal }
  const done = () => { if (callControllers.get(m.id) === call) callControllers.delete(m.id) }
  const settle = (v) => {
    if (isAsyncIterable(v)) return contractResult(m.id, scopedIterable(v, store, call, done))
    callResult(m, v, (cancelled) => {
      if (cancelled && !call.signal.aborted) call.abort(abortError('the caller stopped reading the response'))
      done()
    })
  }
  const failed = (error) => {
    done()
    webDone(m.requests)
    fail(m.id, error, 'call')
  }
  let r
  try {
    const args = m.req === undefined ? m.args : webArgs(m, call.signal)
    r = callScope.run(store, () => api[m.method](...args))
  } catch (error) {
    return failed(error)
  }
  if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then(settle, failed)
  else settle(r)
}
// A stream of a signalled call: its producer runs in the call's scope (ctx.signal is the call's),
// and a consumer that leaves (break, cancel, abort) aborts the call's signal first.
function scopedIterable(source, store, call, done) {
  return { [Symbol.asyncIterator]() {
    const it = callScope.run(store, () => source[Symbol.asyncIterator]())
    return {
      next: (v) => callScope.run(store, () => it.next(v)).then((r) => { if (r.done) done(); return r }, (e) => { done(); throw e }),
      return: (v) => {
        if (!call.signal.aborted) call.abort(abortError('the caller stopped reading the stream'))
        done()
        return typeof it.return === 'function' ? callScope.run(store, () => it.return(v)) : Promise.resolve({ value: v, done: true })
      },
    }
  } }
}
port.on('message', (m) => { hot(true); scope.runInAsyncScope(onRequest, null, m) })
`
}
