// The plugin contract across the worker boundary: config checked in the worker (the schema lives
// there), host services and dependency calls as RPC back to the host, events, and streams
// (credit-based, one MessageChannel per stream). CONTRACT_BOOTSTRAP is the worker side, spliced
// into WORKER_BOOTSTRAP; WorkerContractHost is the host side, used by WorkerPlugin.
import { MessageChannel } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { uncloneablePath } from './clone-path.js'
import { checkConfig, readContract } from './contract.js'
import type { PluginContractInfo, PluginHost } from './contract.js'
import { RegistryError } from './errors.js'
import type { SetupInit } from './loader.js'
import type { SerializedError } from './remote-error.js'
import { invokeService, serviceShape } from './services.js'
import { consumeStream, isAsyncIterable, produceStream } from './streams.js'
import type { StreamConsumer, StreamPort } from './streams.js'
import type { JsonValue } from '@hotswap/state-store'
import { toJsonValue } from '@hotswap/state-store'

/** How many stream items may be in flight ahead of a consumer. */
export const STREAM_WINDOW = 512

/**
 * The worker side of the contract. Uses the bootstrap's `send`, `serialize`, `ok`, `fail`,
 * `def`, `apply`, `postMessage`, `port`, `wt` and `uncloneablePath`.
 *
 * Worker to host: `{ c: 'svc', rid, service, method, args }`, `{ c: 'dep', rid, plugin, method,
 * args }`, `{ c: 'emit', type, payload }`. Host to worker: `{ op: 'hostReply', rid, ok, value |
 * stream | error }`, `{ id, op: 'config', value }`. A call result that is an async iterable is
 * the reply `{ id, ok: true, stream: MessagePort }`.
 *
 * @internal
 */
export const CONTRACT_BOOTSTRAP: string = String.raw`
const ContractChannel = wt.MessageChannel
const isAsyncIterable = ${isAsyncIterable.toString()}
const produceStream = ${produceStream.toString()}
const consumeStream = ${consumeStream.toString()}
const readContract = ${readContract.toString()}
const checkConfig = ${checkConfig.toString()}
const contractPending = new Map()
let contractNext = 1
function contractRevive(d) {
  const error = new Error(String(d && d.message))
  defineProperty(error, 'name', { value: String(d && d.name), enumerable: false, configurable: true, writable: true })
  if (d && typeof d.stack === 'string') error.stack = d.stack
  if (d && d.code !== undefined) error.code = d.code
  return error
}
function contractRemote(promise) {
  promise[Symbol.asyncIterator] = () => {
    let inner
    const open = async () => {
      if (inner) return inner
      const value = await promise
      if (!isAsyncIterable(value)) throw new TypeError('the call did not return an async iterable; await it instead of iterating it')
      inner = value[Symbol.asyncIterator]()
      return inner
    }
    return { next: async () => (await open()).next(), return: async () => (inner && inner.return ? inner.return() : { value: undefined, done: true }) }
  }
  return promise
}
function contractRequest(kind, fields) {
  return contractRemote(new Promise((resolve, reject) => {
    const rid = contractNext++
    contractPending.set(rid, { resolve, reject })
    try {
      send({ c: kind, rid, ...fields })
    } catch (error) {
      contractPending.delete(rid)
      const where = uncloneablePath(fields.args, 'args')
      reject(new TypeError((where || 'an argument') + ', which cannot cross the worker boundary'))
    }
  }))
}
function contractReply(m) {
  const p = contractPending.get(m.rid)
  if (p === undefined) return
  contractPending.delete(m.rid)
  if (!m.ok) return p.reject(contractRevive(m.error))
  if (m.stream) return p.resolve(consumeStream(m.stream, contractRevive, { window: ${STREAM_WINDOW}, closedError: () => new Error('the host ended the stream') }))
  p.resolve(m.value)
}
function contractContext(init) {
  const services = {}
  for (const name of Object.keys(init.services || {})) {
    const shape = init.services[name]
    if (shape === 'function') { services[name] = (...args) => contractRequest('svc', { service: name, method: null, args }); continue }
    const client = {}
    for (const method of shape) client[method] = (...args) => contractRequest('svc', { service: name, method, args })
    services[name] = Object.freeze(client)
  }
  const declared = new Set(init.dependsOn || [])
  const handles = new Map()
  const plugins = Object.freeze({ get(id) {
    if (!declared.has(id)) throw new Error('plugin "' + id + '" is not in dependsOn; declare it (dependsOn: { "' + id + '": "^1.0.0" }) to call it')
    let handle = handles.get(id)
    if (handle === undefined) {
      const call = (method, ...args) => contractRequest('dep', { plugin: id, method: String(method), args })
      const cache = new Map()
      const api = new Proxy({}, { get: (_t, prop) => {
        if (typeof prop !== 'string' || prop === 'then') return undefined
        let fn = cache.get(prop)
        if (fn === undefined) { fn = (...args) => call(prop, ...args); cache.set(prop, fn) }
        return fn
      } })
      handle = Object.freeze({ id, call, api })
      handles.set(id, handle)
    }
    return handle
  } })
  const emit = (type, payload) => {
    if (typeof type !== 'string' || type.length === 0) throw new TypeError('emit(type, payload): type must be a non-empty string')
    send({ c: 'emit', type, payload: payload === undefined ? null : payload })
  }
  return { config: init.config, services: Object.freeze(services), plugins, emit }
}
async function contractConfig(m) {
  try {
    if (!def || def.config === undefined) return ok(m.id, { ok: true, value: m.value })
    return ok(m.id, await checkConfig(def.config, m.value), 'the config')
  } catch (error) {
    return fail(m.id, error, 'config')
  }
}
function contractResult(id, value) {
  if (!isAsyncIterable(value)) return ok(id, value, 'the result')
  const channel = new ContractChannel()
  produceStream(channel.port1, value, (error) => serialize(error, 'stream'))
  apply(postMessage, port, [{ id, ok: true, stream: channel.port2 }, [channel.port2]])
}
`

/** A contract message from a worker (checked by {@link parseContractMessage}). */
export type ContractMessage =
  | { readonly c: 'svc'; readonly rid: number; readonly service: string; readonly method: string | null; readonly args: readonly unknown[] }
  | { readonly c: 'dep'; readonly rid: number; readonly plugin: string; readonly method: string; readonly args: readonly unknown[] }
  | { readonly c: 'emit'; readonly type: string; readonly payload: unknown }

/**
 * Checks a contract message from a worker; returns it typed, or what is wrong with it.
 *
 * @internal
 */
export function parseContractMessage(m: Record<string, unknown>): ContractMessage | string {
  if (m.c === 'emit') {
    if (typeof m.type !== 'string' || m.type.length === 0) return 'an event type that is not a non-empty string'
    return { c: 'emit', type: m.type, payload: m.payload }
  }
  if (typeof m.rid !== 'number' || !Number.isSafeInteger(m.rid) || m.rid <= 0) return 'a host request id that is not a positive integer'
  if (!Array.isArray(m.args)) return 'host request arguments that are not an array'
  if (m.c === 'svc') {
    if (typeof m.service !== 'string' || (m.method !== null && typeof m.method !== 'string')) return 'a service request without a service name'
    return { c: 'svc', rid: m.rid, service: m.service, method: m.method, args: m.args }
  }
  if (m.c === 'dep') {
    if (typeof m.plugin !== 'string' || typeof m.method !== 'string') return 'a plugin request without a plugin id and method'
    return { c: 'dep', rid: m.rid, plugin: m.plugin, method: m.method, args: m.args }
  }
  return `an unknown contract message kind ${JSON.stringify(String(m.c)).slice(0, 40)}`
}

/**
 * The load-reply `contract` field checked; `undefined` when it is malformed.
 *
 * @internal
 */
export function parseContractInfo(value: unknown): PluginContractInfo | undefined {
  try {
    const info = value as PluginContractInfo
    const checked = readContract({ uses: info.uses, dependsOn: info.dependsOn })
    if (typeof info.hasConfigSchema !== 'boolean') return undefined
    return { ...checked, hasConfigSchema: info.hasConfigSchema }
  } catch {
    return undefined
  }
}

/**
 * The cloneable part of a setup request: the host's services and plugin handles become their
 * shapes (the worker rebuilds them as RPC).
 *
 * @internal
 */
export function workerSetupInit(init: SetupInit): Record<string, unknown> {
  const { host, ...rest } = init
  if (host === undefined) return rest
  return { ...rest, config: host.config, services: serviceShape(host.services), dependsOn: [...host.dependsOn] }
}

/** Serializes an error for the worker (code and name kept, so typed errors stay typed). */
function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return { name: error.name, message: error.message, stack: error.stack, code: typeof code === 'string' || typeof code === 'number' ? code : undefined }
  }
  return { name: 'Error', message: `non-error thrown: ${String(error)}` }
}

/**
 * The host side of one worker's contract requests: service calls, dependency calls, events.
 *
 * @internal
 */
export class WorkerContractHost {
  readonly #port: MessagePort
  readonly #label: () => string
  readonly #pluginId: () => string
  readonly #warn: (message: string) => void
  #host: PluginHost | undefined

  constructor(port: MessagePort, pluginId: () => string, label: () => string, warn: (message: string) => void) {
    this.#port = port
    this.#warn = warn
    this.#pluginId = pluginId
    this.#label = label
  }

  /** Sets the host of the version (at setup). */
  attach(host: PluginHost | undefined): void {
    this.#host = host
  }

  /** Serves one contract message; returns a protocol problem to end the worker for, if any. */
  handle(message: ContractMessage): string | undefined {
    const host = this.#host
    if (message.c === 'emit') {
      if (host === undefined) return undefined
      let payload: JsonValue
      try {
        payload = toJsonValue(message.payload, 'payload')
      } catch (error) {
        this.#warn(`${this.#label()} emitted "${message.type}" with a payload that is not JSON (${(error as Error).message}); the event was dropped`)
        return undefined
      }
      host.emit(message.type, payload)
      return undefined
    }
    const run = (): Promise<unknown> => {
      if (host === undefined) return Promise.reject(new RegistryError('SERVICE_DENIED', `${this.#label()} has no host services before setup()`))
      if (message.c === 'svc') return invokeService(host.services, message.service, message.method, message.args, this.#pluginId())
      if (!host.dependsOn.includes(message.plugin)) {
        return Promise.reject(new RegistryError('DEPENDENCY_MISSING', `${this.#label()} called plugin "${message.plugin}", which is not in its dependsOn`, { pluginId: this.#pluginId() }))
      }
      return host.plugin(message.plugin).call(message.method as never, ...(message.args as never[]))
    }
    run().then(
      (value) => this.#reply(message.rid, value),
      (error: unknown) => this.#post({ op: 'hostReply', rid: message.rid, ok: false, error: serializeError(error) }),
    )
    return undefined
  }

  #reply(rid: number, value: unknown): void {
    if (!isAsyncIterable(value)) {
      if (!this.#post({ op: 'hostReply', rid, ok: true, value })) {
        const where = uncloneablePath(value, 'the result') ?? 'the result'
        this.#post({ op: 'hostReply', rid, ok: false, error: { name: 'RegistryError', code: 'NOT_CLONEABLE', message: `${where}, which cannot cross the worker boundary` } })
      }
      return
    }
    const channel = new MessageChannel()
    channel.port1.unref()
    produceStream(channel.port1, value, serializeError)
    try {
      this.#port.postMessage({ op: 'hostReply', rid, ok: true, stream: channel.port2 }, [channel.port2])
    } catch {
      channel.port1.close()
    }
  }

  #post(message: Record<string, unknown>): boolean {
    try {
      this.#port.postMessage(message)
      return true
    } catch {
      return false
    }
  }
}

/**
 * Reads a stream a worker replied with, as a call in flight (`hold`) until it ends.
 *
 * @internal
 */
export function workerStream(
  port: StreamPort,
  revive: (error: unknown) => unknown,
  closedError: () => Error,
  hold: (cancel: (error: unknown) => void) => () => void,
  window: number = STREAM_WINDOW,
): StreamConsumer {
  const held: { release?: () => void } = {}
  const consumer = consumeStream(port, revive, { window, closedError, onEnd: () => held.release?.() })
  held.release = hold((error) => consumer.cancel(error))
  return consumer
}

