import { basename, extname } from 'node:path'
import type { PluginArtifact } from './artifact.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions } from './loader.js'
import { poolLoader } from './pool-loader.js'
import { workerLoader } from './worker-loader.js'

/** Where a plugin runs: `'dedicated'`, a Worker of its own; `'shared'`, a realm in a pool worker. */
export type Isolation = 'dedicated' | 'shared'

/** Options of {@link isolationLoaders}. */
export interface IsolationLoadersOptions {
  /** The isolation of a plugin not named in `plugins`. Default `'shared'`. */
  readonly default?: Isolation | undefined
  /**
   * Per plugin, chosen before its code runs: by its manifest name (package.json `name` of a
   * directory plugin), its file or directory name without the extension (`billing` for
   * `billing.ts`), or its absolute path, in that order. The host's choice here wins over the
   * plugin's own manifest (`hotswap.isolation`).
   */
  readonly plugins?: Readonly<Record<string, Isolation>> | undefined
  /**
   * Whether a plugin's manifest may choose (package.json `"hotswap": { "isolation": "shared" }`)
   * when `plugins` does not name it. Default `true`; `false` keeps every unnamed plugin at
   * `default` whatever it asks for.
   */
  readonly manifest?: boolean | undefined
  /** The loader of `'dedicated'` plugins. Default `workerLoader()`. */
  readonly dedicated?: Loader | undefined
  /** The loader of `'shared'` plugins. Default `poolLoader()`. */
  readonly shared?: Loader | undefined
}

const ISOLATIONS = new Set<unknown>(['dedicated', 'shared'])

/**
 * Two loaders that split JS plugins by isolation: one takes the plugins whose isolation is
 * `'dedicated'` (a {@link workerLoader} by default), the other those that are `'shared'` (a
 * {@link poolLoader} by default). A plugin's isolation is the host's per-plugin choice
 * (`plugins`), else its manifest's (package.json `hotswap.isolation`, unless `manifest: false`),
 * else `default`. Each keeps its own name, so a plugin's status says where it
 * runs. Pass both to the registry; add a {@link wasmLoader} after them for wasm plugins.
 *
 * @param options - The default isolation, per-plugin choices, and the two loaders.
 * @returns The dedicated loader, then the shared one.
 * @throws {@link RegistryError} `INVALID_OPTIONS` when an isolation is not `'dedicated'` or `'shared'`, or `manifest` is not a boolean.
 * @example
 * ```ts
 * import { createPluginRegistry, isolationLoaders, wasmLoader } from '@hotswap/registry'
 * const registry = createPluginRegistry({
 *   loader: [...isolationLoaders({ default: 'shared', plugins: { billing: 'dedicated' } }), wasmLoader()],
 * })
 * await registry.close()
 * ```
 */
export function isolationLoaders(options: IsolationLoadersOptions = {}): Loader[] {
  const fallback = options.default ?? 'shared'
  if (!ISOLATIONS.has(fallback)) throw new RegistryError('INVALID_OPTIONS', `isolationLoaders: default must be 'dedicated' or 'shared', got ${JSON.stringify(fallback)}`)
  const plugins = options.plugins ?? {}
  const honourManifest = options.manifest ?? true
  if (typeof honourManifest !== 'boolean') throw new RegistryError('INVALID_OPTIONS', `isolationLoaders: manifest must be a boolean, got ${JSON.stringify(honourManifest)}`)
  for (const [id, value] of Object.entries(plugins)) {
    if (!ISOLATIONS.has(value)) throw new RegistryError('INVALID_OPTIONS', `isolationLoaders: plugins[${JSON.stringify(id)}] must be 'dedicated' or 'shared', got ${JSON.stringify(value)}`)
  }
  const isolationOf = (artifact: PluginArtifact): Isolation => {
    const name = artifact.manifest?.name
    const base = basename(artifact.path, extname(artifact.path))
    const own = (key: string | undefined): Isolation | undefined => (key !== undefined && Object.hasOwn(plugins, key) ? plugins[key] : undefined)
    return own(name) ?? own(base) ?? own(artifact.path) ?? (honourManifest ? artifact.manifest?.isolation : undefined) ?? fallback
  }
  return [new Only('dedicated', options.dedicated ?? workerLoader(), isolationOf), new Only('shared', options.shared ?? poolLoader(), isolationOf)]
}

class Only implements Loader {
  constructor(
    readonly isolation: Isolation,
    readonly inner: Loader,
    readonly isolationOf: (artifact: PluginArtifact) => Isolation,
  ) {}

  get name(): string {
    return this.inner.name
  }

  canLoad(artifact: PluginArtifact): boolean {
    return this.inner.canLoad(artifact) && this.isolationOf(artifact) === this.isolation
  }

  prepare(artifact: PluginArtifact, options: PrepareOptions): Promise<LoadedPlugin> {
    return this.inner.prepare(artifact, options)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
