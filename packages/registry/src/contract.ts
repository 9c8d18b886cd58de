import type { JsonValue } from '@hotswap/state-store'
import type { PluginHandle } from './handle.js'

/**
 * What a plugin version declares besides its API: the host services it `uses`, the plugins it
 * `dependsOn` (id to semver range) and whether it has a `config` schema. Known after the
 * loader's `prepare`.
 */
export interface PluginContractInfo {
  /** Host services the plugin asks for. */
  readonly uses: readonly string[]
  /** Other plugins it needs: id to semver range. */
  readonly dependsOn: Readonly<Record<string, string>>
  /** Whether the plugin declares `config` as a Standard Schema. */
  readonly hasConfigSchema: boolean
}

/** One problem a config schema found: where (`path`, keys and indexes) and what. */
export interface ConfigIssue {
  /** The keys and indexes from the config's root to the bad value (`[]`: the root). */
  readonly path: readonly (string | number)[]
  /** The schema's message. */
  readonly message: string
}

/** What a config check resolves with: the schema's output, or the issues it found. */
export type ConfigCheck =
  | {
      /** Valid. */
      readonly ok: true
      /** The schema's output (defaults applied, values transformed). */
      readonly value: unknown
    }
  | {
      /** Invalid. */
      readonly ok: false
      /** Every issue the schema found. */
      readonly issues: readonly ConfigIssue[]
    }

/** A host service as the host offers it: one function, or an object of functions. */
export type HostService = ((...args: never[]) => unknown) | object

/**
 * What the registry gives a loader for one version's `setup`: its validated config, the
 * services it is granted and uses, stable handles on the plugins it depends on, and where its
 * events go. A loader builds `ctx.config`, `ctx.services`, `ctx.plugins` and `ctx.emit` from it.
 */
export interface PluginHost {
  /** The config after the plugin's schema (or as given, without a schema). */
  readonly config: unknown
  /** The granted services the plugin uses, by name. */
  readonly services: Readonly<Record<string, HostService>>
  /** The ids of the plugins it depends on (the only ones `ctx.plugins.get` hands out). */
  readonly dependsOn: readonly string[]
  /** A stable handle on plugin `id` (it survives that plugin's reloads, unload and return). */
  plugin(id: string): PluginHandle<object>
  /** Publishes a plugin event (JSON payload); throws a `TypeError` for a payload that is not JSON. */
  emit(type: string, payload: JsonValue | undefined): void
}

/**
 * Reads the contract fields of a plugin definition, checking their shapes; throws a
 * `TypeError` naming the bad field. Self-contained: the worker bootstrap embeds its source.
 *
 * @internal
 */
export function readContract(def: { uses?: unknown; dependsOn?: unknown; config?: unknown }): PluginContractInfo {
  const uses = def.uses === undefined ? [] : def.uses
  if (!Array.isArray(uses) || !uses.every((u) => typeof u === 'string' && u.length > 0)) throw new TypeError('uses must be an array of service names (strings)')
  const dependsOn = def.dependsOn === undefined ? {} : def.dependsOn
  if (dependsOn === null || typeof dependsOn !== 'object' || Array.isArray(dependsOn)) throw new TypeError('dependsOn must be an object of plugin id to semver range')
  const ranges: Record<string, string> = {}
  for (const [id, range] of Object.entries(dependsOn as Record<string, unknown>)) {
    if (typeof range !== 'string') throw new TypeError(`dependsOn.${id} must be a semver range string, like "^1.2.0"`)
    ranges[id] = range
  }
  const config = def.config
  let hasConfigSchema = false
  if (config !== undefined) {
    const standard = config !== null && (typeof config === 'object' || typeof config === 'function') ? (config as Record<string, unknown>)['~standard'] : undefined
    if (standard === null || typeof standard !== 'object' || typeof (standard as { validate?: unknown }).validate !== 'function') {
      throw new TypeError('config must be a Standard Schema (zod 4, valibot 1, arktype 2...): an object with ["~standard"].validate')
    }
    hasConfigSchema = true
  }
  return { uses: [...new Set(uses as string[])], dependsOn: ranges, hasConfigSchema }
}

/**
 * Validates `value` with a Standard Schema and returns its output or its issues, each with a
 * path of plain keys. Self-contained: the worker bootstrap embeds its source (a worker
 * validates with the schema that lives in it).
 *
 * @internal
 */
export async function checkConfig(schema: unknown, value: unknown): Promise<ConfigCheck> {
  const standard = (schema as { '~standard': { validate(v: unknown): unknown } })['~standard']
  const result = (await standard.validate(value)) as { value?: unknown; issues?: readonly { message?: unknown; path?: readonly unknown[] }[] }
  if (result.issues === undefined || result.issues === null) return { ok: true, value: result.value }
  const issues = result.issues.map((issue) => ({
    message: String(issue.message),
    path: (issue.path ?? []).map((segment) => {
      const key = segment !== null && typeof segment === 'object' && 'key' in segment ? segment.key : segment
      return typeof key === 'number' ? key : String(key)
    }),
  }))
  return { ok: false, issues }
}
