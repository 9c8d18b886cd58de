import { EventEmitter } from 'node:events'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { MessagePort, ResourceLimits } from 'node:worker_threads'
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import { after } from './clock.js'
import { RegistryError } from './errors.js'
import { POOL_BOOTSTRAP, TENANT_BOOTSTRAP } from './pool-bootstrap.js'

/** A reply on a pool worker's control port, checked. */
interface ControlReply {
  readonly tid: number
  readonly ok: boolean
  readonly message?: string | undefined
  readonly heap?: number | undefined
}

interface Pending {
  readonly resolve: (reply: ControlReply) => void
  readonly reject: (error: RegistryError) => void
  readonly timer: Subscription
}

/**
 * Checks a message from a pool worker's control port: returns it typed, or what is wrong.
 *
 * @internal
 */
export function parseControlReply(raw: unknown): ControlReply | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'a control reply is not an object'
  const m = raw as Record<string, unknown>
  if (typeof m.tid !== 'number' || !Number.isSafeInteger(m.tid) || m.tid <= 0) return 'a control reply has no positive integer tid'
  if (typeof m.ok !== 'boolean') return `control reply ${m.tid} has no boolean ok`
  if (m.message !== undefined && typeof m.message !== 'string') return `control reply ${m.tid} has a message that is not a string`
  if (m.heap !== undefined && (typeof m.heap !== 'number' || !Number.isFinite(m.heap))) return `control reply ${m.tid} has a heap that is not a number`
  return { tid: m.tid, ok: m.ok, message: m.message, heap: m.heap }
}

/**
 * One tenant's view of a shared pool worker, shaped like the Worker a `WorkerPlugin` drives:
 * `terminate()` drops only this tenant (its realm and port), unless the worker does not answer
 * within the drop bound, in which case the whole worker is terminated (a tenant stuck in a
 * synchronous loop holds the thread; nothing else can stop it). `exit` is emitted when the
 * worker ends under the tenant.
 *
 * @internal
 */
export class Tenant extends EventEmitter {
  #held = false

  constructor(
    readonly tid: number,
    readonly host: PoolWorker,
  ) {
    super()
    this.on('error', () => undefined)
  }

  /** Whether this tenant keeps the worker referenced. */
  get held(): boolean {
    return this.#held
  }

  ref(): void {
    this.#held = true
    this.host.hold()
  }

  unref(): void {
    this.#held = false
    this.host.hold()
  }

  async terminate(): Promise<number> {
    await this.host.drop(this)
    return 0
  }
}

/** Options of one pool worker. */
export interface PoolWorkerOptions {
  readonly resourceLimits: ResourceLimits
  readonly execArgv: readonly string[]
  /** How long a worker may take to drop a tenant before it is terminated as stuck. */
  readonly dropTimeoutMs: number
  /** Called once when the worker ended (crash, terminate, stuck). */
  readonly onEnd: (worker: PoolWorker) => void
  /** The registry's scheduler, for the control requests' timeouts. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike | undefined
}

/**
 * A shared Worker running {@link POOL_BOOTSTRAP}: the host end of its control port, its
 * tenants, and what happens to them when it ends.
 *
 * @internal
 */
export class PoolWorker {
  readonly #worker: Worker
  readonly #control: MessagePort
  readonly #options: PoolWorkerOptions
  readonly #tenants = new Map<number, Tenant>()
  readonly #pending = new Map<number, Pending>()
  readonly online: Promise<void>
  #nextTid = 1
  #booting = true
  #alive = true
  #cause: unknown

  constructor(options: PoolWorkerOptions) {
    this.#options = options
    const { port1, port2 } = new MessageChannel()
    this.#control = port1
    this.#worker = new Worker(POOL_BOOTSTRAP, {
      eval: true,
      resourceLimits: options.resourceLimits,
      execArgv: [...options.execArgv],
      workerData: { control: port2, tenantBootstrap: TENANT_BOOTSTRAP },
      transferList: [port2],
      stdout: true,
      stderr: true,
    })
    this.#worker.setMaxListeners(0)
    this.online = new Promise<void>((resolve) => {
      this.#worker.once('online', resolve)
      this.#worker.once('exit', () => resolve())
    }).then(() => {
      this.#booting = false
      this.hold()
    })
    this.#control.on('message', (raw: unknown) => this.#onReply(raw))
    this.#worker.on('message', () => undefined)
    this.#worker.on('error', (error) => {
      this.#cause = error
    })
    this.#worker.on('exit', (code) => this.#onExit(code))
    this.hold()
  }

  /** Whether the worker still runs. */
  get alive(): boolean {
    return this.#alive
  }

  /** How many versions live in this worker. */
  get size(): number {
    return this.#tenants.size
  }

  /**
   * Creates a realm for one version, on `port` (transferred), and evaluates nothing yet.
   * Rejects with `LOAD_FAILED` when the worker cannot create it, `WORKER_CRASHED` when it ends.
   */
  async add(port: MessagePort, code: string, file: string, linesPerSecond: number, timeoutMs: number): Promise<Tenant> {
    await this.online
    const tenant = new Tenant(this.#nextTid++, this)
    this.#tenants.set(tenant.tid, tenant)
    try {
      const reply = await this.#request({ op: 'tenant', tid: tenant.tid, port, code, file, linesPerSecond }, timeoutMs, [port])
      if (!reply.ok) throw new RegistryError('LOAD_FAILED', `the pool worker could not create a realm for ${file}: ${reply.message ?? 'no reason given'}`)
      return tenant
    } catch (error) {
      this.#tenants.delete(tenant.tid)
      throw error
    }
  }

  /** Drops a tenant's realm; terminates the worker when it does not answer in time. */
  async drop(tenant: Tenant): Promise<void> {
    if (!this.#tenants.delete(tenant.tid) || !this.#alive) return
    this.hold()
    try {
      await this.#request({ op: 'drop', tid: tenant.tid }, this.#options.dropTimeoutMs)
    } catch {
      // stuck (or gone): the thread belongs to a loop no one can stop; end it for every tenant
      await this.terminate()
    }
  }

  /** The worker's used heap in bytes (all its tenants together). */
  async heapUsed(timeoutMs: number): Promise<number> {
    const reply = await this.#request({ op: 'measure', tid: this.#nextTid++ }, timeoutMs)
    return reply.heap ?? 0
  }

  /** Keeps the process alive only while a tenant or a control request waits on the worker. */
  hold(): void {
    if (!this.#alive) return
    const busy = this.#booting || this.#pending.size > 0 || [...this.#tenants.values()].some((t) => t.held)
    if (busy) this.#worker.ref()
    else this.#worker.unref()
    if (this.#pending.size > 0) this.#control.ref()
    else this.#control.unref()
  }

  /** Ends the worker and every tenant in it. */
  async terminate(): Promise<void> {
    await this.#worker.terminate()
  }

  #request(message: Record<string, unknown> & { tid: number }, timeoutMs: number, transfer: MessagePort[] = []): Promise<ControlReply> {
    if (!this.#alive) return Promise.reject(new RegistryError('WORKER_CRASHED', 'the pool worker has ended'))
    return new Promise<ControlReply>((resolve, reject) => {
      const timer = after(this.#options.scheduler ?? asyncScheduler, timeoutMs, () => {
        this.#pending.delete(message.tid)
        this.hold()
        reject(new RegistryError('SETUP_TIMEOUT', `the pool worker did not answer "${String(message.op)}" within ${timeoutMs} ms`))
      })
      this.#pending.set(message.tid, { resolve, reject, timer })
      this.hold()
      this.#control.postMessage(message, transfer)
    })
  }

  #onReply(raw: unknown): void {
    const reply = parseControlReply(raw)
    if (typeof reply === 'string') {
      this.#cause = new Error(`the pool worker broke its control protocol (${reply})`)
      void this.terminate()
      return
    }
    const pending = this.#pending.get(reply.tid)
    if (pending === undefined) return
    this.#pending.delete(reply.tid)
    pending.timer.unsubscribe()
    this.hold()
    pending.resolve(reply)
  }

  #onExit(code: number): void {
    if (!this.#alive) return
    this.#alive = false
    this.#control.close()
    const error = new RegistryError('WORKER_CRASHED', `the pool worker exited with code ${code}${this.#cause instanceof Error ? `: ${this.#cause.message}` : ''}`, { cause: this.#cause })
    for (const pending of this.#pending.values()) {
      pending.timer.unsubscribe()
      pending.reject(error)
    }
    this.#pending.clear()
    const tenants = [...this.#tenants.values()]
    this.#tenants.clear()
    for (const tenant of tenants) {
      if (this.#cause !== undefined) tenant.emit('error', this.#cause)
      tenant.emit('exit', code)
    }
    this.#options.onEnd(this)
  }
}
