import type { Observable } from 'rxjs'
import type { PluginEvent } from './contract-events.js'
import type { CallOptions } from './call-aborted.js'
import { isAbortSignal } from './call-aborted.js'
import { RegistryError } from './errors.js'
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
  /**
   * The same calls, cancellable: every call made through the returned view carries `signal`.
   * When it aborts, the call rejects at once with a {@link CallAbortedError} (`name:
   * 'AbortError'`, `code: 'CALL_ABORTED'`), whether it waits at a reload's gate, runs in the
   * plugin, or is a stream being read (the stream ends with that error and its producer is
   * cancelled). Inside the plugin, `ctx.signal` read during that call is aborted too, so the
   * plugin can stop its own work; other calls and the plugin itself are not affected. A signal
   * that is already aborted rejects the call without reaching the plugin.
   *
   * @param signal - The caller's signal (`AbortController.signal`, `AbortSignal.timeout(ms)`).
   * @returns A view with `call` and `api` bound to `signal` (cheap: make one per request).
   * @throws {@link RegistryError} `INVALID_OPTIONS` when `signal` is not an `AbortSignal`.
   * @example
   * ```ts
   * const controller = new AbortController()
   * const search = registry.get<{ query(q: string): string[] }>('search')
   * const pending = search.withSignal(controller.signal).api.query('cats')
   * controller.abort() // pending rejects with a CallAbortedError; the plugin's ctx.signal aborts
   * const hits = await search.withSignal(AbortSignal.timeout(500)).call('query', 'dogs')
   * ```
   */
  withSignal(signal: AbortSignal): SignalledCalls<Api>
}

/**
 * The calls of a {@link PluginHandle} bound to one `AbortSignal` (see {@link PluginHandle.withSignal}).
 *
 * @typeParam Api - The plugin's API.
 */
export interface SignalledCalls<Api extends object = UnknownApi> {
  /** The plugin id. */
  readonly id: string
  /** The signal every call of this view carries. */
  readonly signal: AbortSignal
  /** As {@link PluginHandle.call}, and also rejects with a {@link CallAbortedError} when the signal aborts. */
  call<K extends MethodName<Api>>(method: K, ...args: MethodArgs<Api, K>): Promise<MethodResult<Api, K>>
  /** As {@link PluginHandle.api}, each call carrying the signal. */
  readonly api: AsyncApi<Api>
}

/**
 * Builds a {@link PluginHandle} over a call function.
 *
 * @internal
 */
export function createHandle<Api extends object>(
  id: string,
  invoke: (method: string, args: unknown[], options?: CallOptions) => Promise<unknown>,
  events$: Observable<PluginEvent>,
): PluginHandle<Api> {
  return {
    id,
    call: ((method: string, ...args: unknown[]) => invoke(method, args)) as PluginHandle<Api>['call'],
    api: apiProxy<Api>((method, args) => invoke(method, args)),
    events$,
    withSignal(signal: AbortSignal): SignalledCalls<Api> {
      if (!isAbortSignal(signal)) throw new RegistryError('INVALID_OPTIONS', `withSignal(signal) of plugin "${id}" needs an AbortSignal (AbortController.signal, AbortSignal.timeout(ms)), got ${signal === null ? 'null' : typeof signal}`, { pluginId: id })
      const options: CallOptions = { signal }
      return {
        id,
        signal,
        call: ((method: string, ...args: unknown[]) => invoke(method, args, options)) as SignalledCalls<Api>['call'],
        api: apiProxy<Api>((method, args) => invoke(method, args, options)),
      }
    },
  }
}

/** An object whose every property is a function calling that method. */
function apiProxy<Api extends object>(invoke: (method: string, args: unknown[]) => Promise<unknown>): AsyncApi<Api> {
  const cache = new Map<string, (...args: unknown[]) => Promise<unknown>>()
  return new Proxy(Object.create(null) as object, {
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
}
