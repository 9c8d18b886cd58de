import { EventEmitter } from 'node:events'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { MessagePort, ResourceLimits } from 'node:worker_threads'
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import { after } from './clock.js'
import { RegistryError } from './errors.js'
import { POOL_BOOTSTRAP, TENANT_BOOTSTRAP } from './pool-bootstrap.js'
import { TenantMemory } from './pool-memory.js'
import type { LeakRule } from './pool-memory.js'
import type { WorkerLoss } from './worker-lost.js'
import { ABANDON_AFTER_MS, endWorker } from './worker-end.js'

/** A reply on a pool worker's control port, checked. */
interface ControlReply {
  readonly tid: number
  readonly ok: boolean
  readonly message?: string | undefined
  readonly heap?: number | undefined
  /** `memory` replies: per tenant id, the heap bytes of its realm (when attributed). */
  readonly heaps?: readonly (readonly [number, number])[] | undefined
  readonly attributed?: boolean | undefined
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
  if (m.attributed !== undefined && typeof m.attributed !== 'boolean') return `control reply ${m.tid} has an attributed that is not a boolean`
  let heaps: [number, number][] | undefined
  if (m.heaps !== undefined) {
    if (!Array.isArray(m.heaps)) return `control reply ${m.tid} has heaps that are not a list`
    heaps = []
    for (const pair of m.heaps as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2 || !Number.isSafeInteger(pair[0]) || typeof pair[1] !== 'number' || !Number.isFinite(pair[1])) return `control reply ${m.tid} has a heaps entry that is not [tid, bytes]`
      heaps.push([pair[0] as number, pair[1]])
    }
  }
  return { tid: m.tid, ok: m.ok, message: m.message, heap: m.heap, heaps, attributed: m.attributed }
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
  /** Set before `exit` when another tenant took the worker down (see {@link WorkerLoss}). */
  loss: WorkerLoss | undefined
  /** `name@version` once loaded, for messages that blame this tenant. */
  label: string
  /** Slot 0: the highest request id the tenant's port delivered (written in the worker). */
  readonly seen: Int32Array = new Int32Array(new SharedArrayBuffer(4))
  /** Heap samples of the realm, oldest first (see {@link TenantMemory}). */
  readonly memory: TenantMemory

  constructor(
    readonly tid: number,
    readonly host: PoolWorker,
    file: string,
    leak: LeakRule,
  ) {
    super()
    this.label = file
    this.memory = new TenantMemory(leak)
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

  /** Ends this tenant alone (its realm dropped) as if a worker of its own had exited with `cause`. */
  async end(cause: Error): Promise<void> {
    this.emit('error', cause)
    this.emit('exit', 1)
    await this.host.drop(this)
  }
}

/** How many versions one pool worker creates and imports at a time. */
const ARRIVALS = 8

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
  /** When a realm's heap counts as leaking. */
  readonly leak: LeakRule
  /** How long the worker keeps polling after each message to a tenant, in µs (`hot-window.ts`). Default 0. */
  readonly hotWindowUs?: number | undefined
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
  /** Slot 0: the tenant whose code entered the worker last (written in the worker): the one blamed when it ends. */
  readonly #running = new Int32Array(new SharedArrayBuffer(4))
  #arriving = 0
  #inside = 0
  /** Realms placed here since the worker started (created or on their way), for retirement. */
  #realms = 0
  #retired = false
  readonly #waiting: (() => void)[] = []
  #nextTid = 1
  #booting = true
  #alive = true
  #closing = false
  #dropping: Tenant | undefined
  #probe: Promise<number | undefined> | undefined
  /** The tid blamed by a probe that found the worker stuck. */
  #stuck: number | undefined
  #cause: unknown

  constructor(options: PoolWorkerOptions) {
    this.#options = options
    const { port1, port2 } = new MessageChannel()
    this.#control = port1
    this.#worker = new Worker(POOL_BOOTSTRAP, {
      eval: true,
      resourceLimits: options.resourceLimits,
      execArgv: [...options.execArgv],
      workerData: { control: port2, tenantBootstrap: TENANT_BOOTSTRAP, running: this.#running.buffer, hotWindowUs: options.hotWindowUs ?? 0 },
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

  /** Versions living here or on their way (placement counts both, so that parallel loads spread). */
  get load(): number {
    return this.#tenants.size + this.#arriving
  }

  /** How many realms were placed on this worker since it started (each version loaded here counts once). */
  get realms(): number {
    return this.#realms
  }

  /** Whether the worker takes no new versions any more (see {@link retire}). */
  get retired(): boolean {
    return this.#retired
  }

  /**
   * Takes no new versions from now on; the worker is terminated once its last version has been
   * dropped (or now, when it has none). Ending a thread is what returns the native memory its
   * realms left behind (the young generation grown by realms that outlive scavenges, V8 pages
   * kept committed after the realms were collected), which no garbage collection returns.
   */
  retire(): void {
    this.#retired = true
    this.#reap()
  }

  /** Ends a retired worker that has nothing left: no version, none on its way, no request waiting. */
  #reap(): void {
    if (!this.#retired || !this.#alive || this.#closing || this.#tenants.size > 0 || this.#arriving > 0) return
    void this.terminate()
  }

  /**
   * Waits for one of the worker's arrival slots: at most {@link ARRIVALS} versions are created
   * and imported at a time, so that a thousand loads at once queue here, where their load
   * timeouts have not started, instead of in the worker.
   */
  async arrive(): Promise<void> {
    this.#arriving++
    this.#realms++
    if (this.#inside < ARRIVALS) {
      this.#inside++
      return
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  /** Frees the slot taken by {@link arrive}. */
  arrived(): void {
    this.#arriving--
    const next = this.#waiting.shift()
    if (next === undefined) this.#inside--
    else next()
    this.#reap()
  }

  /**
   * Creates a realm for one version, on `port` (transferred), and evaluates nothing yet (the
   * version's code comes in its `load` request on that port, which may be sent at once: it
   * waits in the port until the realm listens). `created` rejects with `LOAD_FAILED` when the
   * worker cannot create it, `WORKER_CRASHED` when it ends.
   */
  async add(port: MessagePort, file: string, linesPerSecond: number, timeoutMs: number): Promise<{ tenant: Tenant; created: Promise<void> }> {
    await this.online
    const tenant = new Tenant(this.#nextTid++, this, file, this.#options.leak)
    this.#tenants.set(tenant.tid, tenant)
    const created = this.#request({ op: 'tenant', tid: tenant.tid, port, file, linesPerSecond, seen: tenant.seen.buffer }, timeoutMs, [port]).then(
      (reply) => {
        if (!reply.ok) throw new RegistryError('LOAD_FAILED', `the pool worker could not create a realm for ${file}: ${reply.message ?? 'no reason given'}`)
      },
    )
    created.catch(() => this.#tenants.delete(tenant.tid))
    return { tenant, created }
  }

  /** Drops a tenant's realm; terminates the worker when it does not answer in time. */
  async drop(tenant: Tenant): Promise<void> {
    if (!this.#tenants.delete(tenant.tid) || !this.#alive) return
    this.hold()
    try {
      await this.#request({ op: 'drop', tid: tenant.tid }, this.#options.dropTimeoutMs)
    } catch {
      // stuck (or gone): the thread belongs to a loop no one can stop; end it for every tenant
      this.#dropping = tenant
      await this.#end()
    }
    this.#reap()
  }

  /**
   * Samples the heap of every tenant's realm (`vm.measureMemory`, one pass for the worker).
   * Resolves `false` when the worker's contexts could not be matched to its tenants this time.
   */
  async sampleMemory(timeoutMs: number, now: number): Promise<boolean> {
    const reply = await this.#request({ op: 'memory', tid: this.#nextTid++ }, timeoutMs)
    if (reply.attributed !== true || reply.heaps === undefined) return false
    for (const [tid, bytes] of reply.heaps) this.#tenants.get(tid)?.memory.add(bytes, now)
    return true
  }

  /** The tenants living here. */
  get tenants(): IterableIterator<Tenant> {
    return this.#tenants.values()
  }

  /** The worker's used heap in bytes (all its tenants together). */
  async heapUsed(timeoutMs: number): Promise<number> {
    const reply = await this.#request({ op: 'measure', tid: this.#nextTid++ }, timeoutMs)
    return reply.heap ?? 0
  }

  /**
   * Whether the worker's thread is free: a ping that is not answered within the drop bound means
   * a tenant holds it (a synchronous loop); then the worker is terminated, blaming the tenant
   * whose code entered it last. One probe at a time; callers share it.
   *
   * @returns The tid blamed when the worker was stuck (and is being terminated), `undefined` when it answered.
   */
  probe(): Promise<number | undefined> {
    this.#probe ??= this.#request({ op: 'ping', tid: this.#nextTid++ }, this.#options.dropTimeoutMs).then(
      () => undefined,
      () => {
        const blamed = Atomics.load(this.#running, 0)
        this.#stuck = blamed
        void this.#end()
        return blamed
      },
    ).finally(() => {
      this.#probe = undefined
    })
    return this.#probe
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

  /** Ends the worker and every tenant in it (the pool closing: nobody is blamed, nothing restored). */
  async terminate(): Promise<void> {
    this.#closing = true
    await this.#end()
  }

  /**
   * Terminates the worker; when its thread does not end (blocked in a system call or inside V8),
   * it is abandoned and its tenants are let go as if it had exited, so that the others are
   * restored elsewhere and nothing waits for it forever.
   */
  #end(): Promise<void> {
    return endWorker(this.#worker, () => {
      this.#cause ??= new Error(`its thread did not end within ${ABANDON_AFTER_MS} ms of being terminated (blocked in a system call or inside V8) and was left behind; this process cannot exit normally while it runs`)
      this.#onExit(1)
    })
  }

  /** The tenant whose code entered the worker last (else the one whose drop timed out). */
  #blame(tenants: readonly Tenant[]): Tenant | undefined {
    const tid = this.#stuck ?? Atomics.load(this.#running, 0)
    return tenants.find((t) => t.tid === tid) ?? this.#dropping
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
      void this.#end()
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
    const blamed = this.#blame(tenants)
    if (!this.#closing) {
      const why = this.#dropping !== undefined || this.#stuck !== undefined ? 'was stuck (it did not let go of the thread; the worker was terminated)' : `ended the worker (exit code ${code}${this.#cause instanceof Error ? `: ${this.#cause.message}` : ''})`
      const reason = `${blamed?.label ?? 'another plugin in it'} ${why}`
      for (const tenant of tenants) {
        if (tenant === blamed) continue
        const seen = tenant.seen
        tenant.loss = { reason, reached: (id) => id <= Atomics.load(seen, 0) }
      }
    }
    for (const tenant of tenants) {
      if (tenant === blamed && this.#cause === undefined && (this.#dropping !== undefined || this.#stuck !== undefined)) {
        tenant.emit('error', new Error(`it held the pool worker's thread past the drop bound (${this.#options.dropTimeoutMs} ms): a synchronous loop; the worker was terminated and its other plugins restored elsewhere`))
      } else if (this.#cause !== undefined) tenant.emit('error', this.#cause)
      tenant.emit('exit', code)
    }
    this.#options.onEnd(this)
  }
}
