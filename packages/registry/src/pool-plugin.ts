import type { MessagePort } from 'node:worker_threads'
import type { PluginArtifact } from './artifact.js'
import { RegistryError } from './errors.js'
import type { PrepareOptions, VersionMemory } from './loader.js'
import type { Tenant } from './pool-worker.js'
import type { OutputBudget } from './worker-output.js'
import { WorkerPlugin } from './worker-plugin.js'

/**
 * A plugin version living in a pool tenant: the worker protocol of {@link WorkerPlugin}, its
 * own call timeout, and the realm's heap samples (reported through `options.onMemory`, with a
 * leak warning when the tenant's rule says so).
 *
 * The call timeout is the pool's because a call can wait on a thread that another tenant holds:
 * when a call passes `callTimeoutMs`, the worker is pinged first. It answers: the call is this
 * version's own (`CALL_TIMEOUT`, and the version ends alone, as a worker of its own would). It
 * does not answer within the drop bound: the tenant that entered the thread last is stuck, the
 * worker is terminated, that tenant's call rejects with `CALL_TIMEOUT`, and the calls of the
 * others end as the loss decides (retried when they never arrived, else `WORKER_LOST`).
 *
 * @internal
 */
export class PoolPlugin extends WorkerPlugin {
  readonly #tenant: Tenant
  readonly artifact: PluginArtifact

  /** @param hotWindowUs - The host side's hot window per request (see {@link WorkerPlugin}). */
  constructor(tenant: Tenant, port: MessagePort, artifact: PluginArtifact, options: PrepareOptions, output: OutputBudget | undefined, hotWindowUs?: number) {
    super({ worker: tenant, port, online: Promise.resolve() }, artifact, options, output, hotWindowUs)
    this.#tenant = tenant
    this.artifact = artifact
    const report = options.onMemory
    tenant.memory.listen((heapBytes, at, leak) => {
      if (this.alive && this.version !== '') report?.({ version: this.version, heapBytes, at, leak })
    })
  }

  get memory(): VersionMemory | undefined {
    const last = this.#tenant.memory.last
    return last === undefined ? undefined : { heapBytes: last.bytes, at: last.at }
  }

  override async load(): Promise<void> {
    await super.load()
    this.#tenant.label = `${this.name}@${this.version}`
  }

  /** Asks the shared worker whose call holds it before anything ends (see the class). */
  protected override callTimedOut(method: string, timeoutMs: number, fail: (error: RegistryError) => void): void {
    void this.#timedOut(method, timeoutMs, fail)
  }

  async #timedOut(method: string, ms: number, reject: (error: RegistryError) => void): Promise<void> {
    if (!this.alive) return
    const blamed = await this.#tenant.host.probe()
    const label = `${this.name}@${this.version}`
    if (blamed === undefined) {
      reject(new RegistryError('CALL_TIMEOUT', `call "${method}" on ${label} (pool) took longer than ${ms} ms; that version was ended (its realm dropped)`, { pluginId: this.name }))
      await this.#tenant.end(new Error(`call "${method}" took longer than callTimeoutMs (${ms} ms)`))
    } else if (blamed === this.#tenant.tid) {
      reject(new RegistryError('CALL_TIMEOUT', `call "${method}" on ${label} (pool) took longer than ${ms} ms and held its pool worker's thread; that worker was terminated (its other plugins are restored on another)`, { pluginId: this.name }))
    }
    // else: another tenant holds the thread; the worker's loss settles this call (retried or WORKER_LOST)
  }
}
