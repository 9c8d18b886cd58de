import { availableParallelism } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import type { ResourceLimits } from 'node:worker_threads'
import type { SchedulerLike } from 'rxjs'
import type { PluginArtifact } from './artifact.js'
import { bundleFile, runnableCode } from './artifact-run.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, Loader, PrepareOptions } from './loader.js'
import { PoolWorker } from './pool-worker.js'
import type { OutputBudget } from './worker-output.js'
import { WorkerPlugin } from './worker-plugin.js'

/** Options of {@link poolLoader}. */
export interface PoolLoaderOptions {
  /** How many shared workers at most. Default `os.availableParallelism()`. */
  readonly size?: number | undefined
  /** Heap limits of each pool worker (shared by its tenants). Default `{ maxOldGenerationSizeMb: 1024 }`. */
  readonly resourceLimits?: ResourceLimits | undefined
  /** Node flags for the pool workers. Default none. */
  readonly execArgv?: readonly string[] | undefined
  /** How much stdout, stderr and `ctx.log` output of one version reaches the log. Default 1000 lines/s. */
  readonly output?: OutputBudget | undefined
  /**
   * How long a pool worker may take to drop a version's realm before it is taken for stuck and
   * terminated with every tenant in it. Default 1000 ms.
   */
  readonly dropTimeoutMs?: number | undefined
}

/**
 * A loader for many plugins: a few shared `worker_threads` Workers (at most `size`), each
 * hosting many plugin versions, each version in a realm of its own (a `vm` context with its
 * own globals and builtins, so a version that changes `Object.prototype` or `globalThis`
 * changes only its own). The version's `artifact.code` (a CommonJS bundle) is evaluated in
 * that realm; the worker bootstrap's protocol runs there unchanged, on a private port per
 * version, so calls, config, services, dependencies, events and streams behave as in
 * {@link workerLoader}. Unloading a version closes its port and clears its timers, which
 * leaves its realm to the garbage collector.
 *
 * Placement: a new version goes to the live worker with the fewest versions; a new worker is
 * started while fewer than `size` run and every running one has a version already.
 *
 * What the realms share: the thread, its event loop and heap (a version stuck in a
 * synchronous loop, or one that blows the heap, ends the worker), and the Node builtins
 * (`require('node:fs')` and the globals handed in, such as `Buffer` and `URL`, are the
 * worker's own objects). A call past `callTimeoutMs` ends that version; when its realm does
 * not answer within `dropTimeoutMs` the worker is terminated and its other versions end with
 * `WORKER_CRASHED` (the registry marks them `Failed`; their next load or reload starts from
 * the state store's last snapshot). Use {@link workerLoader} (`isolation: 'dedicated'`, see
 * {@link isolationLoaders}) for plugins that need a thread of their own.
 *
 * @param options - Pool size, heap limits, worker flags, output budget, drop bound.
 * @returns A {@link PoolLoader} (a {@link Loader} named `'pool'` for JS artifacts).
 * @throws {@link RegistryError} `INVALID_OPTIONS` when `size` is not a positive integer or `dropTimeoutMs` not a positive number.
 * @example
 * ```ts
 * import { createPluginRegistry, poolLoader } from '@hotswap/registry'
 * const registry = createPluginRegistry({ loader: poolLoader({ size: 2 }) })
 * await registry.close()
 * ```
 */
export function poolLoader(options: PoolLoaderOptions = {}): PoolLoader {
  const size = options.size ?? availableParallelism()
  if (!Number.isSafeInteger(size) || size < 1) throw new RegistryError('INVALID_OPTIONS', `poolLoader: size must be a positive integer, got ${String(size)}`)
  const dropTimeoutMs = options.dropTimeoutMs ?? 1000
  if (typeof dropTimeoutMs !== 'number' || !(dropTimeoutMs > 0)) throw new RegistryError('INVALID_OPTIONS', `poolLoader: dropTimeoutMs must be a positive number, got ${String(dropTimeoutMs)}`)
  return new Pool(options, size, dropTimeoutMs)
}

/** What one pool worker holds, from {@link PoolLoader.measure}. */
export interface PoolWorkerMeasure {
  /** Versions living in the worker. */
  readonly versions: number
  /** The worker's used V8 heap in bytes, all its versions together (after a full garbage collection in that worker). */
  readonly heapUsedBytes: number
}

/** The {@link Loader} {@link poolLoader} returns, with a look at its workers. */
export interface PoolLoader extends Loader {
  /** How many versions each running pool worker hosts. */
  readonly workers: readonly number[]
  /**
   * Measures each running pool worker's heap, after a full garbage collection there (which
   * pauses its tenants for a few milliseconds per 100 MB).
   *
   * @param timeoutMs - How long one worker may take to answer. Default 5000.
   * @returns One entry per running worker.
   * @throws {@link RegistryError} `SETUP_TIMEOUT` when a worker does not answer in time.
   */
  measure(timeoutMs?: number): Promise<PoolWorkerMeasure[]>
}

class Pool implements PoolLoader {
  readonly name: string = 'pool'
  readonly #options: PoolLoaderOptions
  readonly #size: number
  readonly #dropTimeoutMs: number
  readonly #workers = new Set<PoolWorker>()
  #closed = false

  constructor(options: PoolLoaderOptions, size: number, dropTimeoutMs: number) {
    this.#options = options
    this.#size = size
    this.#dropTimeoutMs = dropTimeoutMs
  }

  canLoad(artifact: PluginArtifact): boolean {
    return artifact.kind === 'js'
  }

  async prepare(artifact: PluginArtifact, options: PrepareOptions): Promise<LoadedPlugin> {
    if (this.#closed) throw new RegistryError('CLOSED', 'the pool loader is closed')
    const host = this.#place(options.scheduler)
    const { port1, port2 } = new MessageChannel()
    const linesPerSecond = Math.max(1, this.#options.output?.linesPerSecond ?? 1000)
    let tenant
    try {
      tenant = await host.add(port2, runnableCode(artifact), bundleFile(artifact), linesPerSecond, options.loadTimeoutMs)
    } catch (error) {
      port1.close()
      throw error instanceof RegistryError && error.code !== 'SETUP_TIMEOUT'
        ? error
        : new RegistryError('LOAD_FAILED', `${artifact.path}: the pool could not host it: ${(error as Error).message}`, { cause: error })
    }
    const plugin = new WorkerPlugin({ worker: tenant, port: port1, online: Promise.resolve() }, artifact, options, this.#options.output)
    try {
      await plugin.load()
      return plugin
    } catch (error) {
      await plugin.dispose(0)
      throw error
    }
  }

  get workers(): readonly number[] {
    return [...this.#workers].map((w) => w.size)
  }

  async measure(timeoutMs = 5000): Promise<PoolWorkerMeasure[]> {
    const live = [...this.#workers].filter((w) => w.alive)
    return Promise.all(live.map(async (w) => ({ versions: w.size, heapUsedBytes: await w.heapUsed(timeoutMs) })))
  }

  async close(): Promise<void> {
    this.#closed = true
    const workers = [...this.#workers]
    this.#workers.clear()
    await Promise.all(workers.map((w) => w.terminate()))
  }

  #place(scheduler: SchedulerLike | undefined): PoolWorker {
    let best: PoolWorker | undefined
    for (const worker of this.#workers) if (worker.alive && (best === undefined || worker.size < best.size)) best = worker
    if (best !== undefined && (best.size === 0 || this.#workers.size >= this.#size)) return best
    const worker = new PoolWorker({
      resourceLimits: this.#options.resourceLimits ?? { maxOldGenerationSizeMb: 1024 },
      execArgv: this.#options.execArgv ?? [],
      dropTimeoutMs: this.#dropTimeoutMs,
      scheduler,
      onEnd: (ended) => this.#workers.delete(ended),
    })
    this.#workers.add(worker)
    return worker
  }
}
