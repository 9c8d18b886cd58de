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
   * `billing.ts`), or its absolute path, in that order.
   */
  readonly plugins?: Readonly<Record<string, Isolation>> | undefined
  /** The loader of `'dedicated'` plugins. Default `workerLoader()`. */
  readonly dedicated?: Loader | undefined
  /** The loader of `'shared'` plugins. Default `poolLoader()`. */
  readonly shared?: Loader | undefined
}

const ISOLATIONS = new Set<unknown>(['dedicated', 'shared'])

/**
 * Two loaders that split JS plugins by isolation: one takes the plugins whose isolation is
 * `'dedicated'` (a {@link workerLoader} by default), the other those that are `'shared'` (a
 * {@link poolLoader} by default). Each keeps its own name, so a plugin's status says where it
 * runs. Pass both to the registry; add a {@link wasmLoader} after them for wasm plugins.
 *
 * @param options - The default isolation, per-plugin choices, and the two loaders.
 * @returns The dedicated loader, then the shared one.
 * @throws {@link RegistryError} `INVALID_OPTIONS` when an isolation is not `'dedicated'` or `'shared'`.
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
  for (const [id, value] of Object.entries(plugins)) {
    if (!ISOLATIONS.has(value)) throw new RegistryError('INVALID_OPTIONS', `isolationLoaders: plugins[${JSON.stringify(id)}] must be 'dedicated' or 'shared', got ${JSON.stringify(value)}`)
  }
  const isolationOf = (artifact: PluginArtifact): Isolation => {
    const name = artifact.manifest?.name
    const base = basename(artifact.path, extname(artifact.path))
    const own = (key: string | undefined): Isolation | undefined => (key !== undefined && Object.hasOwn(plugins, key) ? plugins[key] : undefined)
    return own(name) ?? own(base) ?? own(artifact.path) ?? fallback
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
