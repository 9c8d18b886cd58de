import type { JsonValue } from '@hotswap/state-store'
import { toJsonValue } from '@hotswap/state-store'
import { ConfigInvalidError } from './config.js'
import type { HostService, PluginHost } from './contract.js'
import { checkDependencies, checkDependents } from './dependencies.js'
import type { DependencyNode } from './dependencies.js'
import { RegistryError } from './errors.js'
import type { PluginHandle } from './handle.js'
import type { LoadedPlugin } from './loader.js'
import { grantServices } from './services.js'
import type { ServiceGrants } from './services.js'

/** What the registry's contract part needs from the registry. */
export interface ContractDeps {
  /** The loaded plugins: id to version and dependencies. */
  graph(): Map<string, DependencyNode>
  /** A stable handle on a plugin (loaded or not). */
  handle(id: string): PluginHandle<object>
  /** Publishes an event of plugin `id`, version `version`. */
  emit(id: string, version: string, type: string, payload: JsonValue): void
}

/**
 * The registry's side of the plugin contract: per-plugin config, host services and grants,
 * dependency checks; builds the {@link PluginHost} of each version before its setup.
 *
 * @internal
 */
export class RegistryContract {
  readonly #config = new Map<string, JsonValue>()
  readonly #services: Readonly<Record<string, HostService>>
  readonly #grants: ServiceGrants | undefined
  readonly #deps: ContractDeps

  constructor(options: { config?: Readonly<Record<string, unknown>> | undefined; services?: Readonly<Record<string, HostService>> | undefined; grants?: ServiceGrants | undefined }, deps: ContractDeps) {
    for (const [id, value] of Object.entries(options.config ?? {})) this.#config.set(id, asConfig(id, value))
    this.#services = { ...(options.services ?? {}) }
    for (const [name, service] of Object.entries(this.#services)) {
      if (service === null || (typeof service !== 'function' && typeof service !== 'object')) {
        throw new RegistryError('INVALID_OPTIONS', `services.${name} is ${service === null ? 'null' : typeof service}; a service is a function or an object of functions`)
      }
    }
    if (options.grants !== undefined) {
      for (const [id, names] of Object.entries(options.grants)) {
        if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new RegistryError('INVALID_OPTIONS', `grants.${id} must be an array of service names`)
      }
    }
    this.#grants = options.grants
    this.#deps = deps
  }

  /** The config of plugin `id`, as the host gave it. */
  config(id: string): JsonValue | undefined {
    return this.#config.get(id)
  }

  /** Replaces the config of `id`; returns a function that puts the old one back. */
  setConfig(id: string, value: unknown): () => void {
    const had = this.#config.has(id)
    const old = this.#config.get(id)
    this.#config.set(id, asConfig(id, value))
    return () => {
      if (had) this.#config.set(id, old as JsonValue)
      else this.#config.delete(id)
    }
  }

  /**
   * Checks a prepared version against the contract (services granted, dependencies loaded and
   * in range, dependents still satisfied, config valid by its schema) and builds its host.
   * `changing`: the ids that change in the same batch (their ranges are checked on their own).
   */
  async hostFor(plugin: LoadedPlugin, replacing: boolean, changing: ReadonlySet<string>, timeoutMs: number): Promise<PluginHost> {
    const id = plugin.name
    const contract = plugin.contract ?? { uses: [], dependsOn: {}, hasConfigSchema: false }
    const services = grantServices(id, contract.uses, this.#services, this.#grants)
    const graph = this.#deps.graph()
    checkDependencies(id, { version: plugin.version, dependsOn: contract.dependsOn }, graph)
    if (replacing || graph.size > 0) checkDependents(id, plugin.version, graph, changing)
    const raw = this.#config.get(id)
    let config: unknown = raw
    if (plugin.validateConfig !== undefined && contract.hasConfigSchema) {
      const check = await plugin.validateConfig(raw, timeoutMs)
      if (!check.ok) throw new ConfigInvalidError(id, check.issues)
      config = check.value
    }
    const version = plugin.version
    const deps = this.#deps
    return {
      config,
      services,
      dependsOn: Object.keys(contract.dependsOn),
      plugin: (target) => deps.handle(target),
      emit: (type, payload) => deps.emit(id, version, type, toJsonValue(payload ?? null, 'payload')),
    }
  }
}

function asConfig(id: string, value: unknown): JsonValue {
  try {
    return toJsonValue(value, `config.${id}`)
  } catch (error) {
    throw new RegistryError('INVALID_OPTIONS', `the config of plugin "${id}" is not JSON: ${(error as Error).message}`, { pluginId: id })
  }
}
