import { availableParallelism } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import type { ResourceLimits } from 'node:worker_threads'
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import { every } from './clock.js'
import type { PluginArtifact } from './artifact.js'
import { bundleFile } from './artifact-run.js'
import { RegistryError } from './errors.js'
import { HOT_WINDOW_US, MAX_HOT_WINDOW_US, validHotWindow } from './hot-window.js'
import type { LoadedPlugin, Loader, PrepareOptions } from './loader.js'
import { PoolWorker } from './pool-worker.js'
import type { OutputBudget } from './worker-output.js'
import type { LeakRule } from './pool-memory.js'
import { PoolPlugin } from './pool-plugin.js'

/** Options of {@link poolLoader}. */
export interface PoolLoaderOptions {
  /** How many shared workers at most. Default `os.availableParallelism()`. */
  readonly size?: number | undefined
  /**
   * Heap limits of each pool worker (shared by its tenants). Default `{ maxOldGenerationSizeMb: 1024 }`,
   * and `maxYoungGenerationSizeMb: 8` unless given: every version's realm outlives many
   * scavenges, which makes V8 grow a worker's young generation to its maximum (about 24 MB
   * committed for the default 48) and keep it committed after the realms are collected; 8 MB
   * keeps a worker reloaded 10,000 times within a few MB of where it started.
   */
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
  /**
   * How often the heap of every version's realm is measured (one `vm.measureMemory` pass per
   * worker), in ms; `0` for never (then only {@link PoolLoader.sampleMemory} measures).
   * Default 30000.
   */
  readonly memoryIntervalMs?: number | undefined
  /** When a version's heap counts as leaking: it grew at each of `samples` samples in a row, by `growthBytes` in all. Default 5 samples, 8 MiB. */
  readonly leak?: LeakRule | undefined
  /**
   * How many versions one pool worker hosts in its life before it is retired: it takes no new
   * version after that many were placed on it (new ones, reloads included, go to a fresh worker)
   * and its thread is terminated once its last version has been unloaded or replaced. A worker
   * keeps memory that its dropped realms leave behind and that no garbage collection returns
   * (chiefly a young generation grown to its maximum by realms that outlive scavenges, about
   * 20 MB per worker after a few thousand reloads); ending the thread returns it. Versions that
   * are never reloaded stay on the retired worker, untouched (nothing is moved, no state
   * crosses). A retired worker does not count against `size`. `Infinity` never retires.
   * Default `Infinity`: with the young generation bounded (see `resourceLimits`) the soak of
   * 10,000 reloads stays flat without it; retiring is for native memory a worker gains by
   * other means (a plugin's own native addons or caches).
   */
  readonly retireAfter?: number | undefined
  /**
   * Keeps threads awake around a call, in µs; `0` turns it off. Default 500.
   *
   * Waking a thread that sleeps costs tens of µs (about 40 µs a wake on a small VM, two wakes a
   * call), more than the call itself. With a window, each pool worker keeps its event loop polling
   * (a bounded `setImmediate` chain: timers and I/O still run, nothing blocks) for this long
   * after each message any of its versions receives (one window for all of them), and the host does the same while a request waits, at most
   * this long per request (one window for the whole process, however many calls are in flight).
   * What it buys: calls that follow each other within the window skip both wakes (a bare
   * host-worker round trip on an idle 2-vCPU VM: about 90 µs without, 10-30 µs with). What it
   * costs: CPU while busy, up to one core per hot thread (the host and each worker called) for
   * the window's length after the last message; the host's window also ends as soon as no
   * request waits. Where it does not pay it pauses itself (20 ms, doubling up to 2 s while it
   * keeps missing): when more than one window in five expires unanswered, as with calls slower
   * than the window, or a machine with more runnable threads than cores (there a polling
   * thread holds the core its peer needs, and no core sleeps, so there is no wake to save). An
   * idle host and idle workers sleep as before: nothing keeps the process alive once the window
   * has passed. At most 100000 (100 ms).
   */
  readonly hotWindowUs?: number | undefined
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
 * Placement: a new version goes to the live worker with the fewest versions (those on their way
 * count); a new worker is started while fewer than `size` run and every running one has a version
 * already. Each worker creates and imports 8 versions at a time; more wait in the host, where
 * their load timeout has not started. No rebalancing: a version stays where it was placed until
 * it is replaced (a reload places the new version afresh). With `retireAfter`, a worker that has
 * hosted that many versions takes no more: it ends with its last version and new ones go to a
 * fresh worker (see {@link PoolLoaderOptions.retireAfter}).
 *
 * What the realms share: the thread, its event loop and heap (a version stuck in a
 * synchronous loop, or one that blows the heap, ends the worker), and the Node builtins
 * (`require('node:fs')` and the globals handed in, such as `Buffer` and `URL`, are the
 * worker's own objects).
 *
 * Losing a worker: when a call passes `callTimeoutMs` the worker is pinged. It answers: the call
 * is that version's own; it fails with `CALL_TIMEOUT` and that version alone ends. It does not
 * answer within `dropTimeoutMs`: the version whose code entered the thread last holds it; the
 * worker is terminated, that version ends `Failed` (`CALL_TIMEOUT`, then `WORKER_CRASHED`) and
 * the others end with `WORKER_LOST` ({@link WorkerLostError}), as they do when a version crashes
 * the worker (`process.exit`, a throw in a timer) or blows its heap (`resourceLimits`). The
 * registry restores each of them on a healthy worker from its last stored snapshot (a
 * `restored` event); a call that had not reached it runs once there, one that had rejects with
 * `WORKER_LOST`. Measured: 20 co-tenants serve again within about 0.1 s of the loss on a quiet (0.8 s on a
 * loaded) 2-core machine (bench `pool`, stated bound 2 s). Use {@link workerLoader}
 * (`isolation: 'dedicated'`, see
 * {@link isolationLoaders}) for plugins that need a thread of their own.
 *
 * @param options - Pool size, heap limits, worker flags, output budget, drop bound, memory sampling, leak rule, worker retirement and hot window.
 * @returns A {@link PoolLoader} (a {@link Loader} named `'pool'` for JS artifacts).
 * @throws {@link RegistryError} `INVALID_OPTIONS` when `size` is not a positive integer, `dropTimeoutMs` not a positive number, `memoryIntervalMs` negative, the leak rule out of range, `retireAfter` not a positive integer nor `Infinity`, or `hotWindowUs` not a number of µs from 0 to 100000.
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
  const interval = options.memoryIntervalMs ?? 30_000
  if (typeof interval !== 'number' || !(interval >= 0)) throw new RegistryError('INVALID_OPTIONS', `poolLoader: memoryIntervalMs must be 0 or a positive number of ms, got ${String(interval)}`)
  const samples = options.leak?.samples ?? 5
  const growth = options.leak?.growthBytes ?? 8 * 1024 * 1024
  if (!Number.isSafeInteger(samples) || samples < 2) throw new RegistryError('INVALID_OPTIONS', `poolLoader: leak.samples must be an integer of at least 2, got ${String(samples)}`)
  if (typeof growth !== 'number' || !(growth > 0)) throw new RegistryError('INVALID_OPTIONS', `poolLoader: leak.growthBytes must be a positive number, got ${String(growth)}`)
  const retireAfter = options.retireAfter ?? Infinity
  if (retireAfter !== Infinity && (!Number.isSafeInteger(retireAfter) || retireAfter < 1)) throw new RegistryError('INVALID_OPTIONS', `poolLoader: retireAfter must be a positive integer or Infinity, got ${String(retireAfter)}`)
  const hotWindowUs = options.hotWindowUs ?? HOT_WINDOW_US
  if (!validHotWindow(hotWindowUs)) throw new RegistryError('INVALID_OPTIONS', `poolLoader: hotWindowUs must be a number of µs from 0 (off) to ${MAX_HOT_WINDOW_US}, got ${String(hotWindowUs)}`)
  return new Pool(options, size, dropTimeoutMs, interval, retireAfter, hotWindowUs)
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
  /**
   * Measures the heap of every version's realm now (as the `memoryIntervalMs` timer does) and
   * reports it through each version's `onMemory` (the registry: `memorySampled` events, the
   * status's `memory`, `memoryLeakSuspected` when a heap keeps growing).
   *
   * @param timeoutMs - How long one worker may take to answer. Default 5000.
   * @returns How many workers could not match their contexts to their versions this time (a plugin that makes `vm` contexts of its own, or a dropped realm not yet collected); `0` when every version was measured.
   * @throws {@link RegistryError} `SETUP_TIMEOUT` when a worker does not answer in time.
   */
  sampleMemory(timeoutMs?: number): Promise<number>
}

class Pool implements PoolLoader {
  readonly name: string = 'pool'
  readonly #options: PoolLoaderOptions
  readonly #size: number
  readonly #dropTimeoutMs: number
  readonly #workers = new Set<PoolWorker>()
  readonly #intervalMs: number
  readonly #retireAfter: number
  readonly #hotWindowUs: number
  #timer: Subscription | undefined
  #scheduler: SchedulerLike = asyncScheduler
  #closed = false

  constructor(options: PoolLoaderOptions, size: number, dropTimeoutMs: number, intervalMs: number, retireAfter: number, hotWindowUs: number) {
    this.#options = options
    this.#retireAfter = retireAfter
    this.#hotWindowUs = hotWindowUs
    this.#size = size
    this.#dropTimeoutMs = dropTimeoutMs
    this.#intervalMs = intervalMs
  }

  canLoad(artifact: PluginArtifact): boolean {
    return artifact.kind === 'js'
  }

  async prepare(artifact: PluginArtifact, options: PrepareOptions): Promise<LoadedPlugin> {
    if (this.#closed) throw new RegistryError('CLOSED', 'the pool loader is closed')
    const host = this.#place(options.scheduler)
    await host.arrive()
    try {
      return await this.#host(host, artifact, options)
    } finally {
      host.arrived()
    }
  }

  async #host(host: PoolWorker, artifact: PluginArtifact, options: PrepareOptions): Promise<LoadedPlugin> {
    const { port1, port2 } = new MessageChannel()
    const linesPerSecond = Math.max(1, this.#options.output?.linesPerSecond ?? 1000)
    const unhosted = (error: unknown): RegistryError =>
      error instanceof RegistryError && error.code !== 'SETUP_TIMEOUT'
        ? error
        : new RegistryError('LOAD_FAILED', `${artifact.path}: the pool could not host it: ${(error as Error).message}`, { cause: error })
    let added
    try {
      added = await host.add(port2, bundleFile(artifact), linesPerSecond, options.loadTimeoutMs)
    } catch (error) {
      port1.close()
      throw unhosted(error)
    }
    const plugin = new PoolPlugin(added.tenant, port1, artifact, options, this.#options.output, this.#hotWindowUs)
    this.#arm(options.scheduler)
    // The load request goes out with the realm's creation, not after its reply: one round trip
    // to the worker fewer per version.
    const loading = plugin.load()
    loading.catch(() => undefined)
    try {
      await added.created
    } catch (error) {
      await plugin.dispose(0)
      throw unhosted(error)
    }
    try {
      await loading
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

  async sampleMemory(timeoutMs = 5000): Promise<number> {
    const live = [...this.#workers].filter((w) => w.alive && w.size > 0)
    const now = this.#scheduler.now()
    const matched = await Promise.all(live.map((w) => w.sampleMemory(timeoutMs, now)))
    return matched.filter((ok) => !ok).length
  }

  /** Starts the sampling timer with the first version (unref'd: it never keeps the process up). */
  #arm(scheduler: SchedulerLike | undefined): void {
    if (this.#timer !== undefined || this.#intervalMs === 0) return
    this.#scheduler = scheduler ?? asyncScheduler
    this.#timer = every(
      this.#scheduler,
      this.#intervalMs,
      () => {
        this.sampleMemory().catch(() => undefined) // a worker that ended mid-sample is measured next time
      },
      true,
    )
  }

  async close(): Promise<void> {
    this.#timer?.unsubscribe()
    this.#closed = true
    const workers = [...this.#workers]
    this.#workers.clear()
    await Promise.all(workers.map((w) => w.terminate()))
  }

  #place(scheduler: SchedulerLike | undefined): PoolWorker {
    let best: PoolWorker | undefined
    let serving = 0
    for (const worker of this.#workers) {
      if (!worker.alive || worker.retired) continue
      if (worker.realms >= this.#retireAfter) {
        worker.retire() // hosted its share: it ends when its last version goes
        continue
      }
      serving++
      if (best === undefined || worker.load < best.load) best = worker
    }
    if (best !== undefined && (best.load === 0 || serving >= this.#size)) return best
    const worker = new PoolWorker({
      resourceLimits: { maxYoungGenerationSizeMb: 8, ...(this.#options.resourceLimits ?? { maxOldGenerationSizeMb: 1024 }) },
      execArgv: this.#options.execArgv ?? [],
      dropTimeoutMs: this.#dropTimeoutMs,
      hotWindowUs: this.#hotWindowUs,
      scheduler,
      leak: this.#options.leak ?? {},
      onEnd: (ended) => this.#workers.delete(ended),
    })
    this.#workers.add(worker)
    return worker
  }
}
