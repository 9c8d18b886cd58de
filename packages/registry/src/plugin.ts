import { valid as validSemver } from 'semver'
import { RegistryError } from './errors.js'
import { pluginIdProblem } from '@hotswap/state-store'
import type { JsonValue } from '@hotswap/state-store'

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
 */
export interface PluginContext<S = JsonValue> {
  /** The state the previous version saved (after `migrateState` when the major changed), if any. */
  readonly state?: S | undefined
  /** The version this one replaces, if any. */
  readonly previousVersion?: string | undefined
  /** Logging that reaches the host. */
  readonly log: PluginLog
  /** Aborted when this version is disposed: stop timers and I/O tied to it. */
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
 */
export interface PluginDefinition<Api extends object = Record<string, unknown>, S = JsonValue> {
  /**
   * The plugin id, by the state store's rule (`pluginIdProblem` of `@hotswap/state-store`):
   * `/^[a-z0-9][a-z0-9._-]{0,63}$/`, no trailing `.`, no Windows device name (`con`, `nul`,
   * `com1`...); must stay the same across versions.
   */
  readonly name: string
  /** A semver version, for example `'1.2.0'`. */
  readonly version: string
  /** Builds the API; receives the previous version's state (refuse it with `ctx.rejectState()`). */
  setup(ctx: PluginContext<S>): Api | Promise<Api>
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
export function definePlugin<Api extends object, S = JsonValue>(plugin: PluginDefinition<Api, S>): PluginDefinition<Api, S> {
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
