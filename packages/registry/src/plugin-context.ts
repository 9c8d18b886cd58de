import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { JsonValue } from '@hotswap/state-store'
import type { PluginHost } from './contract.js'
import type { PluginHandle, UnknownApi } from './handle.js'
import type { RemoteResult } from './services.js'
import { localServices, remoteResult } from './services.js'

/**
 * The host services a plugin may ask for, by name: empty here, filled in by the host's code
 * through declaration merging, so that `ctx.services` is typed in plugins:
 *
 * ```ts
 * declare module '@hotswap/registry' {
 *   interface PluginServices { kv: { get(key: string): string | undefined; set(key: string, value: string): void } }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface PluginServices {}

/** A service as a plugin sees it: every function async (a {@link RemoteResult}), since in a worker it is a call to the host. */
export type ServiceClient<T> = T extends (...args: infer A) => infer R
  ? (...args: A) => RemoteResult<Awaited<R>>
  : { readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => RemoteResult<Awaited<R>> : never }

/** `ctx.services` of a plugin that `uses` the services `U`. */
export type ServicesOf<U extends string> = { readonly [K in U]: K extends keyof PluginServices ? ServiceClient<PluginServices[K]> : ServiceClient<Record<string, (...args: never[]) => unknown>> }

/** `ctx.config` of a plugin whose `config` is `C`: the schema's output type, else any JSON. */
export type ConfigOf<C> = C extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<C> : JsonValue | undefined

/** A handle a plugin holds on another plugin: like {@link PluginHandle}, but `call` and `api` results are {@link RemoteResult}s. */
export interface DependencyHandle<Api extends object = UnknownApi> {
  /** The plugin id. */
  readonly id: string
  /** Calls API function `method` of the other plugin (rejects with `NOT_FOUND` while it is not loaded). */
  call(method: string, ...args: unknown[]): RemoteResult<unknown>
  /** The other plugin's API; each function returns a {@link RemoteResult}. */
  readonly api: { readonly [K in keyof Api]: Api[K] extends (...args: infer A) => infer R ? (...args: A) => RemoteResult<Awaited<R>> : never }
}

/** `ctx.plugins`: stable handles on the plugins a plugin `dependsOn`. */
export interface PluginDependencies<D extends string = string> {
  /**
   * A stable handle on plugin `id` (declared in `dependsOn`): it survives that plugin's
   * reloads; while the plugin is gone its calls reject with `NOT_FOUND`, and they work again
   * once it is back. Throws for an id that is not in `dependsOn`.
   */
  get<Api extends object = UnknownApi>(id: D): DependencyHandle<Api>
}

/**
 * The contract part of `setup(ctx)` in a loader without workers: config, services, handles,
 * events, straight from the registry's {@link PluginHost}.
 *
 * @internal
 */
export function localContext(host: PluginHost | undefined, pluginId: string): { config: unknown; services: unknown; plugins: PluginDependencies; emit: (type: string, payload?: JsonValue) => void } {
  const declared = new Set(host?.dependsOn ?? [])
  return {
    config: host?.config,
    services: localServices(host?.services ?? {}, pluginId),
    plugins: Object.freeze({
      get<Api extends object = UnknownApi>(id: string): DependencyHandle<Api> {
        if (host === undefined || !declared.has(id)) throw new Error(`plugin "${id}" is not in dependsOn of "${pluginId}"; declare it (dependsOn: { "${id}": "^1.0.0" }) to call it`)
        return dependencyHandle<Api>(host.plugin(id))
      },
    }),
    emit(type: string, payload?: JsonValue): void {
      if (typeof type !== 'string' || type.length === 0) throw new TypeError('emit(type, payload): type must be a non-empty string')
      host?.emit(type, payload ?? null)
    },
  }
}

const wrapped = new WeakMap<object, DependencyHandle<object>>()

/** A registry handle as a plugin sees it: results are {@link RemoteResult}s (awaitable and iterable), as in a worker. */
function dependencyHandle<Api extends object>(handle: PluginHandle<object>): DependencyHandle<Api> {
  let dep = wrapped.get(handle)
  if (dep === undefined) {
    const call = (method: string, ...args: unknown[]): RemoteResult<unknown> => remoteResult((handle.call as (m: string, ...a: unknown[]) => Promise<unknown>)(method, ...args))
    const cache = new Map<string, (...args: unknown[]) => RemoteResult<unknown>>()
    const api = new Proxy(Object.create(null) as object, {
      get(_target, prop) {
        if (typeof prop !== 'string' || prop === 'then') return undefined
        let fn = cache.get(prop)
        if (fn === undefined) {
          fn = (...args: unknown[]) => call(prop, ...args)
          cache.set(prop, fn)
        }
        return fn
      },
    })
    dep = Object.freeze({ id: handle.id, call, api })
    wrapped.set(handle, dep)
  }
  return dep as unknown as DependencyHandle<Api>
}

/** Re-exported for the context types. */
export type { PluginHandle }
