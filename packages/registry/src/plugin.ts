import { valid as validSemver } from 'semver'
import { RegistryError } from './errors.js'
import { pluginIdProblem } from '@hotswap/state-store'
import type { JsonValue } from '@hotswap/state-store'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { ConfigOf, PluginDependencies, ServicesOf } from './plugin-context.js'

/** Where a plugin's `ctx.log` goes: the registry's `events$` (`type: 'log'`) and its logger. */
export interface PluginLog {
  /** Logs a debug line. */
  debug(...args: unknown[]): void
  /** Logs an info line. */
  info(...args: unknown[]): void
  /** Logs a warning. */
  warn(...args: unknown[]): void
  /** Logs an error. */
  error(...args: unknown[]): void
}

/**
 * What `setup(ctx)` receives.
 *
 * @typeParam S - The shape of the state the plugin saves.
 * @typeParam C - The type of `ctx.config` (the output of the plugin's config schema).
 * @typeParam U - The names of the host services the plugin `uses`.
 * @typeParam D - The ids of the plugins it `dependsOn`.
 */
export interface PluginContext<S = JsonValue, C = unknown, U extends string = string, D extends string = string> {
  /**
   * The config the host gives this plugin (`createPluginRegistry({ config: { [id]: ... } })`,
   * `registry.configure(id, value)`), after the plugin's `config` schema when it has one.
   */
  readonly config: C
  /** The host services the plugin `uses` and is granted; every function is async. */
  readonly services: ServicesOf<U>
  /** Stable handles on the plugins in `dependsOn`. */
  readonly plugins: PluginDependencies<D>
  /** Publishes an event (`payload`: JSON) to `handle.events$` and the registry's `events$`, with this plugin's id and version. */
  readonly emit: (type: string, payload?: JsonValue) => void
  /** The state the previous version saved (after `migrateState` when the major changed), if any. */
  readonly state?: S | undefined
  /** The version this one replaces, if any. */
  readonly previousVersion?: string | undefined
  /** Logging that reaches the host. */
  readonly log: PluginLog
  /**
   * Where to listen for "stop". Read inside a call that its caller made cancellable
   * (`handle.withSignal(signal)`), anywhere in that call's async work (after `await`s too, and
   * inside a stream it returns), it is that call's signal: aborted when the caller aborts, when
   * the caller stops reading the stream, or when this version is disposed; pass it on
   * (`fetch(url, { signal: ctx.signal })`) or check `ctx.signal.aborted`. Read anywhere else
   * (in `setup`, in a call made without a signal) it is the version's signal, aborted when this
   * version is disposed: stop timers and I/O tied to it. Keep a reference taken in `setup` for
   * the version's lifetime; read `ctx.signal` again inside a call for that call.
   */
  readonly signal: AbortSignal
  /**
   * Refuses the handed-over state: throws a {@link StateRejectedError}, so that the reload
   * fails with `STATE_REJECTED` (any other error thrown by `setup` is `SETUP_FAILED`) and
   * the old version keeps serving with its state.
   */
  readonly rejectState: (reason?: string) => never
}

/**
 * What a plugin throws from `setup()` to refuse the state it was handed (`ctx.rejectState()`
 * throws one): the reload fails with `STATE_REJECTED` and the old version keeps serving. Any
 * other error thrown by `setup()` is `SETUP_FAILED`. Across the worker boundary it is
 * recognised by its `name`, so a plugin may also throw any error named `'StateRejectedError'`
 * without importing this package.
 *
 * @example
 * ```ts
 * import { StateRejectedError } from '@hotswap/registry'
 * export default {
 *   name: 'counter',
 *   version: '2.0.0',
 *   setup(ctx) {
 *     if (ctx.state !== undefined && typeof ctx.state !== 'number') throw new StateRejectedError('expected a number')
 *     return { get: () => ctx.state ?? 0 }
 *   },
 * }
 * ```
 */
export class StateRejectedError extends Error {
  /** `'StateRejectedError'`. */
  override readonly name: string = 'StateRejectedError'
}

/**
 * A plugin: the default export of a plugin module.
 *
 * @typeParam Api - What `setup` returns: an object of functions, the plugin's API.
 * @typeParam S - The shape of the state (JSON).
 * @typeParam C - The config schema (any Standard Schema: zod 4, valibot 1, arktype 2...).
 * @typeParam U - The host services it uses.
 * @typeParam D - The plugins it depends on.
 */
export interface PluginDefinition<
  Api extends object = Record<string, unknown>,
  S = JsonValue,
  C extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined,
  U extends string = string,
  D extends string = string,
> {
  /**
   * The plugin id, by the state store's rule (`pluginIdProblem` of `@hotswap/state-store`):
   * `/^[a-z0-9][a-z0-9._-]{0,63}$/`, no trailing `.`, no Windows device name (`con`, `nul`,
   * `com1`...); must stay the same across versions.
   */
  readonly name: string
  /** A semver version, for example `'1.2.0'`. */
  readonly version: string
  /**
   * The config schema: any Standard Schema (zod 4, valibot 1, arktype 2...). The host's config
   * for this plugin is validated with it before the version serves (in the plugin's worker);
   * `ctx.config` is its output. Without it, `ctx.config` is the host's value as given.
   */
  readonly config?: C
  /** The host services it needs (granted by the host's `grants`); `ctx.services` has exactly these. */
  readonly uses?: readonly U[] | undefined
  /** Other plugins it needs, id to semver range; they load first, and `ctx.plugins.get(id)` reaches them. */
  readonly dependsOn?: { readonly [K in D]: string } | undefined
  /** Builds the API; receives the previous version's state (refuse it with `ctx.rejectState()`), its config, services and dependency handles. */
  setup(ctx: PluginContext<S, ConfigOf<C>, U, D>): Api | Promise<Api>
  /** Returns the state to hand to the next version: JSON only. */
  saveState?(): S | undefined | Promise<S | undefined>
  /** Converts a state saved by a version of another major (`fromVersion`) into this version's shape. */
  migrateState?(data: JsonValue, fromVersion: string): S | Promise<S>
  /** Releases timers, sockets and files before the version is dropped. */
  dispose?(): void | Promise<void>
}

/**
 * Types a plugin definition; at run time it returns its argument unchanged (a plain object
 * works just as well).
 *
 * @param plugin - The plugin: `name`, `version`, `setup`, and optionally `saveState`,
 *   `migrateState` and `dispose`.
 * @returns The same object, typed.
 * @example
 * ```ts
 * let count = 0
 * export default definePlugin({
 *   name: 'counter',
 *   version: '1.0.0',
 *   setup(ctx) {
 *     count = (ctx.state as { count: number } | undefined)?.count ?? 0
 *     return { increment: () => ++count }
 *   },
 *   saveState: () => ({ count }),
 * })
 * ```
 */
export function definePlugin<Api extends object, S = JsonValue, C extends StandardSchemaV1 | undefined = undefined, const U extends string = never, const D extends string = never>(
  plugin: PluginDefinition<Api, S, C, U, D>,
): PluginDefinition<Api, S, C, U, D> {
  return plugin
}

/**
 * Checks a plugin's name and version as the registry does on every load: the name by the
 * state store's id rule (so every id the registry accepts can be saved), the version as semver.
 *
 * @param name - The plugin's `name`.
 * @param version - The plugin's `version`.
 * @param where - The path, for the message.
 * @throws {@link RegistryError} `INVALID_PLUGIN` naming the bad field.
 * @example
 * ```ts
 * validatePluginIdentity('greeter', '1.2.0', '/plugins/greeter.mjs') // ok
 * validatePluginIdentity('con', '1.0.0', '/plugins/con.mjs')     // throws INVALID_PLUGIN (a Windows device name)
 * ```
 */
export function validatePluginIdentity(name: unknown, version: unknown, where: string): void {
  const problem = pluginIdProblem(name)
  if (problem !== undefined) {
    throw new RegistryError('INVALID_PLUGIN', `${where}: plugin name ${JSON.stringify(name)} is not a valid plugin id (${problem}); rename the plugin`)
  }
  if (typeof version !== 'string' || validSemver(version) === null) {
    throw new RegistryError('INVALID_PLUGIN', `${where}: version ${JSON.stringify(version)} of "${String(name)}" is not semver (like 1.2.0)`, {
      pluginId: String(name),
    })
  }
}
