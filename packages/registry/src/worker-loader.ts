import { MessageChannel, Worker } from 'node:worker_threads'
import type { ResourceLimits } from 'node:worker_threads'
import { RegistryError } from './errors.js'
import { HOT_WINDOW_US, MAX_HOT_WINDOW_US, validHotWindow } from './hot-window.js'
import { asyncScheduler } from 'rxjs'
import { after } from './clock.js'
import type { LoadedPlugin, Loader, PrepareOptions } from './loader.js'
import type { PluginArtifact as PluginSource } from './artifact.js'
import { WORKER_BOOTSTRAP } from './worker-bootstrap.js'
import type { OutputBudget } from './worker-output.js'
import { WorkerPlugin } from './worker-plugin.js'
import type { Spawned } from './worker-plugin.js'
import { endWorker } from './worker-end.js'

/** Options of {@link workerLoader}. */
export interface WorkerLoaderOptions {
  /** Heap limits of each plugin worker. Default `{ maxOldGenerationSizeMb: 256 }`. */
  readonly resourceLimits?: ResourceLimits | undefined
  /** Keep one booted worker waiting so a reload does not pay a Worker start. Default `true`. */
  readonly warmSpare?: boolean | undefined
  /** Node flags for the workers. Default none. */
  readonly execArgv?: readonly string[] | undefined
  /** How much stdout, stderr and `ctx.log` output of one version reaches the log. Default 1000 lines/s, lines cut at 8192 characters. */
  readonly output?: OutputBudget | undefined
  /**
   * Keeps the host and a plugin's worker awake around a call, in µs; `0` turns it off. Default 500.
   *
   * Waking a thread that sleeps costs tens of µs (about 40 µs a wake on a small VM, two wakes a
   * call), more than the call itself. With a window, each worker keeps its event loop polling
   * (a bounded `setImmediate` chain: timers and I/O still run, nothing blocks) for this long
   * after each message it receives, and the host does the same while a request waits, at most
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
 * The default loader: each plugin version runs in its own `worker_threads` Worker and is
 * called over a private `MessagePort` that plugin code cannot reach. Unloading terminates the
 * worker, which frees everything the version held. What a plugin can do costs only its own
 * version: a crash, an uncaught error, a heap blow-up (see `resourceLimits`), `process.exit`,
 * a message forged on `parentPort` (ignored) or on the private port (validated: garbage ends
 * the worker with `WORKER_CRASHED`), a call past `callTimeoutMs` or a `saveState()` past its
 * limit (the worker is terminated), and a flood of output (stdout, stderr and `ctx.log` go to
 * the registry's log through a per-version budget; the rest is dropped and the count logged).
 *
 * Workers that only wait (the warm spare, an idle version) do not keep the process alive.
 * A warm spare worker is booted after each load, so that the next load only imports the
 * module (a cold Worker start costs tens of milliseconds).
 *
 * @param options - Heap limits, warm spare, worker flags, output budget, hot window.
 * @returns A {@link Loader} for `.mjs`, `.js`, `.cjs` and directory plugins.
 * @throws {@link RegistryError} `INVALID_OPTIONS` when `hotWindowUs` is not a number of µs from 0 to 100000.
 * @example
 * ```ts
 * const registry = createPluginRegistry({ loader: workerLoader({ resourceLimits: { maxOldGenerationSizeMb: 64 } }) })
 * ```
 * @see {@link Loader}
 */
export function workerLoader(options: WorkerLoaderOptions = {}): Loader {
  const hotWindowUs = options.hotWindowUs ?? HOT_WINDOW_US
  if (!validHotWindow(hotWindowUs)) throw new RegistryError('INVALID_OPTIONS', `workerLoader: hotWindowUs must be a number of µs from 0 (off) to ${MAX_HOT_WINDOW_US}, got ${String(hotWindowUs)}`)
  return new WorkerLoader(options, hotWindowUs)
}

class WorkerLoader implements Loader {
  readonly name: string = 'worker'
  readonly #options: WorkerLoaderOptions
  readonly #hotWindowUs: number
  #spare: Spawned | undefined
  #detachSpare: (() => void) | undefined
  #closed = false

  constructor(options: WorkerLoaderOptions, hotWindowUs: number) {
    this.#options = options
    this.#hotWindowUs = hotWindowUs
  }

  canLoad(source: PluginSource): boolean {
    return source.kind === 'js'
  }

  async prepare(source: PluginSource, options: PrepareOptions): Promise<LoadedPlugin> {
    if (this.#closed) throw new RegistryError('CLOSED', 'the worker loader is closed')
    const plugin = new WorkerPlugin(this.#take(), source, options, this.#options.output, this.#hotWindowUs)
    try {
      await plugin.load()
      return plugin
    } catch (error) {
      await plugin.dispose(0)
      throw error
    } finally {
      // Boot the next spare a little later, so it does not compete with this reload's drain,
      // state move and switch for the CPU.
      after(options.scheduler ?? asyncScheduler, 20, () => this.#refill(), true)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const spare = this.#spare
    this.#spare = undefined
    if (spare !== undefined) {
      spare.port.close()
      await endWorker(spare.worker)
    }
  }

  #spawn(): Spawned {
    const { port1, port2 } = new MessageChannel()
    const worker = new Worker(WORKER_BOOTSTRAP, {
      eval: true,
      resourceLimits: this.#options.resourceLimits ?? { maxOldGenerationSizeMb: 256 },
      execArgv: this.#options.execArgv === undefined ? [] : [...this.#options.execArgv],
      workerData: { port: port2, linesPerSecond: Math.max(1, this.#options.output?.linesPerSecond ?? 1000), hotWindowUs: this.#hotWindowUs },
      transferList: [port2],
      stdout: true,
      stderr: true,
    })
    const online = new Promise<void>((resolve) => {
      worker.once('online', resolve)
      worker.once('exit', () => resolve())
    })
    return { worker, port: port1, online }
  }

  #take(): Spawned {
    const spare = this.#spare
    this.#spare = undefined
    if (spare === undefined) return this.#spawn()
    this.#detachSpare?.()
    this.#detachSpare = undefined
    return spare
  }

  #refill(): void {
    if (this.#options.warmSpare === false || this.#closed || this.#spare !== undefined) return
    const spare = this.#spawn()
    spare.worker.unref()
    spare.port.unref()
    const onError = (): void => undefined
    const onExit = (): void => {
      if (this.#spare === spare) this.#spare = undefined
    }
    spare.worker.on('error', onError)
    spare.worker.on('exit', onExit)
    this.#detachSpare = () => {
      spare.worker.off('error', onError)
      spare.worker.off('exit', onExit)
    }
    this.#spare = spare
  }
}

