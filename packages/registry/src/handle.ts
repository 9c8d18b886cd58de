import type { Observable } from 'rxjs'
import type { PluginEvent } from './contract-events.js'
/** Any function, for the API type parameters. */
export type AnyFunction = (...args: never[]) => unknown

/** The names of an API's functions. */
export type MethodName<Api> = { [K in keyof Api]: Api[K] extends AnyFunction ? K : never }[keyof Api] & string

/** The arguments of API function `K`. */
export type MethodArgs<Api, K extends keyof Api> = Api[K] extends (...args: infer A) => unknown ? A : never

/** What API function `K` resolves to through a handle (calls are always async). */
export type MethodResult<Api, K extends keyof Api> = Api[K] extends (...args: never[]) => infer R ? Awaited<R> : never

/** An API seen through a handle: the same functions, each returning a promise. */
export type AsyncApi<Api> = { readonly [K in MethodName<Api>]: (...args: MethodArgs<Api, K>) => Promise<MethodResult<Api, K>> }

/** The API type of a handle when none is given: any method, any arguments. */
export type UnknownApi = Record<string, (...args: unknown[]) => unknown>

/**
 * A stable handle on a plugin: every call reaches the version that is current when the
 * call starts (calls made during a reload wait at the gate, then reach the new version).
 * Keep it as long as you like: it survives reloads, rollbacks, and even unload + load.
 *
 * @typeParam Api - The plugin's API (what its `setup` returns).
 */
export interface PluginHandle<Api extends object = UnknownApi> {
  /** The plugin id. */
  readonly id: string
  /**
   * Calls API function `method` with `args` (structured-cloned by the worker loader).
   * Rejects with the plugin's own error when it throws, or a `RegistryError`
   * (`NOT_FOUND`, `UNKNOWN_METHOD`, `CALL_TIMEOUT`, `DRAIN_TIMEOUT`, `WORKER_CRASHED`, `CLOSED`).
   */
  call<K extends MethodName<Api>>(method: K, ...args: MethodArgs<Api, K>): Promise<MethodResult<Api, K>>
  /** The API as an object: `handle.api.greet('bob')` is `handle.call('greet', 'bob')`. */
  readonly api: AsyncApi<Api>
  /** Events the plugin publishes with `ctx.emit(type, payload)`, each with its id and version (hot: from subscription on). */
  readonly events$: Observable<PluginEvent>
}

/**
 * Builds a {@link PluginHandle} over a call function.
 *
 * @internal
 */
export function createHandle<Api extends object>(id: string, invoke: (method: string, args: unknown[]) => Promise<unknown>, events$: Observable<PluginEvent>): PluginHandle<Api> {
  const cache = new Map<string, (...args: unknown[]) => Promise<unknown>>()
  const api = new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined
      let fn = cache.get(prop)
      if (fn === undefined) {
        fn = (...args: unknown[]) => invoke(prop, args)
        cache.set(prop, fn)
      }
      return fn
    },
  }) as AsyncApi<Api>
  return {
    id,
    call: ((method: string, ...args: unknown[]) => invoke(method, args)) as PluginHandle<Api>['call'],
    api,
    events$,
  }
}
