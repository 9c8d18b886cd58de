import type { HostService } from './contract.js'
import { RegistryError } from './errors.js'
import { isAsyncIterable } from './streams.js'

/** Which services each plugin may use: plugin id to service names. */
export type ServiceGrants = Readonly<Record<string, readonly string[]>>

/**
 * The services plugin `id` sees: those it `uses`, when the host offers them and `grants`
 * (when given) allow them; with no `grants`, every service it declares.
 *
 * @internal
 * @throws {@link RegistryError} `SERVICE_DENIED` naming the first service it may not have.
 */
export function grantServices(
  id: string,
  uses: readonly string[],
  services: Readonly<Record<string, HostService>>,
  grants: ServiceGrants | undefined,
): Record<string, HostService> {
  const granted: Record<string, HostService> = {}
  const allowed = grants === undefined ? undefined : new Set(grants[id] ?? [])
  for (const name of uses) {
    if (!Object.hasOwn(services, name)) {
      const offered = Object.keys(services)
      throw new RegistryError(
        'SERVICE_DENIED',
        `plugin "${id}" uses service "${name}", which this host does not offer (it offers ${offered.length === 0 ? 'no services' : offered.join(', ')}); add it to createPluginRegistry({ services }) or drop it from uses`,
        { pluginId: id },
      )
    }
    if (allowed !== undefined && !allowed.has(name)) {
      throw new RegistryError('SERVICE_DENIED', `plugin "${id}" uses service "${name}", which is not granted to it (grants.${id}: [${[...allowed].join(', ')}]); grant it or drop it from uses`, {
        pluginId: id,
      })
    }
    granted[name] = services[name] as HostService
  }
  return granted
}

/**
 * What a worker needs to rebuild a service set: `'function'` for a service that is one
 * function, else its method names (own and inherited).
 *
 * @internal
 */
export function serviceShape(services: Readonly<Record<string, HostService>>): Record<string, 'function' | string[]> {
  const shape: Record<string, 'function' | string[]> = {}
  for (const [name, service] of Object.entries(services)) shape[name] = typeof service === 'function' ? 'function' : methodNames(service)
  return shape
}

/**
 * Calls one service function for a plugin (a request from a worker, or a local call).
 *
 * @internal
 */
export async function invokeService(services: Readonly<Record<string, HostService>>, name: string, method: string | null, args: readonly unknown[], pluginId: string): Promise<unknown> {
  const service = Object.hasOwn(services, name) ? services[name] : undefined
  if (service === undefined) throw new RegistryError('SERVICE_DENIED', `plugin "${pluginId}" called service "${name}", which it is not granted`, { pluginId })
  if (method === null) {
    if (typeof service !== 'function') throw new RegistryError('SERVICE_DENIED', `service "${name}" is not a function; call one of its methods`, { pluginId })
    return await (service as (...a: unknown[]) => unknown)(...args)
  }
  const fn = (service as Record<string, unknown>)[method]
  if (typeof fn !== 'function' || !methodNames(service).includes(method)) {
    throw new RegistryError('SERVICE_DENIED', `service "${name}" has no method "${method}"`, { pluginId })
  }
  return await Reflect.apply(fn as (...a: unknown[]) => unknown, service, args)
}

/**
 * What a service call (or a dependency call) returns inside a plugin: a promise of the result
 * that is also async-iterable, so `await ctx.services.kv.get(k)` and
 * `for await (const x of ctx.services.feed.items())` both work.
 */
export type RemoteResult<T> = Promise<T> & (T extends AsyncIterable<infer I> ? AsyncIterable<I> : unknown)

/**
 * Makes a promise also async-iterable (when it resolves to an async iterable).
 *
 * @internal
 */
export function remoteResult<T>(promise: Promise<T>): RemoteResult<T> {
  const result = promise as Promise<T> & { [Symbol.asyncIterator]?: () => AsyncIterator<unknown> }
  result[Symbol.asyncIterator] = () => {
    let inner: AsyncIterator<unknown> | undefined
    const open = async (): Promise<AsyncIterator<unknown>> => {
      if (inner !== undefined) return inner
      const value = await promise
      if (!isAsyncIterable(value)) throw new TypeError('the call did not return an async iterable; await it instead of iterating it')
      inner = value[Symbol.asyncIterator]()
      return inner
    }
    return {
      next: async () => (await open()).next(),
      return: async () => (inner?.return === undefined ? { value: undefined, done: true } : inner.return()),
    }
  }
  return result as RemoteResult<T>
}

/**
 * The services object an in-process plugin sees: the granted services with every function
 * returning a {@link RemoteResult}, as in a worker (calls are async everywhere).
 *
 * @internal
 */
export function localServices(services: Readonly<Record<string, HostService>>, pluginId: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, service] of Object.entries(services)) {
    if (typeof service === 'function') {
      out[name] = (...args: unknown[]) => remoteResult(invokeService(services, name, null, args, pluginId))
    } else {
      const client: Record<string, unknown> = {}
      for (const method of methodNames(service)) client[method] = (...args: unknown[]) => remoteResult(invokeService(services, name, method, args, pluginId))
      out[name] = Object.freeze(client)
    }
  }
  return Object.freeze(out)
}

function methodNames(obj: object): string[] {
  const names = new Set<string>()
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor') continue
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (d !== undefined && typeof d.value === 'function') names.add(key)
    }
  }
  return [...names]
}
