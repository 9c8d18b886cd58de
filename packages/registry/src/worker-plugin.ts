import { Worker } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs'
import { CallTracker } from './call-tracker.js'
import { after } from './clock.js'
import { abortedCall, whenAborted } from './call-aborted.js'
import type { CallOptions } from './call-aborted.js'
import { uncloneablePath } from './clone-path.js'
import { RegistryError } from './errors.js'
import type { LoadedPlugin, PrepareOptions, SetupInit } from './loader.js'
import type { PluginArtifact as PluginSource } from './artifact.js'
import { bundleFile, runnableCode, withMappedStack } from './artifact-run.js'
import { locateInArtifact } from './code-frame.js'
import { reviveError } from './remote-error.js'
import type { SerializedError } from './remote-error.js'
import { OutputMeter } from './worker-output.js'
import type { OutputBudget } from './worker-output.js'
import { parseWorkerMessage } from './worker-protocol.js'
import { HOT_WINDOW_US, hostHotWindow } from './hot-window.js'
import { WorkerLostError } from './worker-lost.js'
import type { WorkerLoss } from './worker-lost.js'
import type { ConfigCheck, PluginContractInfo } from './contract.js'
import { parseContractInfo, STREAM_WINDOW, workerSetupInit, workerStream, WorkerContractHost } from './worker-contract.js'
import { BODY_WINDOW, hasRequest, packArgs, responseOf } from './worker-web.js'
import type { StreamConsumer, StreamPort } from './streams.js'
import { ABANDON_AFTER_MS, endWorker } from './worker-end.js'

/**
 * What {@link WorkerPlugin} uses of a Worker.
 *
 * @internal
 */
export interface WorkerLike {
  on(event: 'message', listener: (value: unknown) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'exit', listener: (code: number) => void): unknown
  ref(): void
  unref(): void
  terminate(): Promise<number>
  /** A pool tenant's loss, set before its `exit` when another tenant took the worker down. */
  readonly loss?: WorkerLoss | undefined
}

/**
 * A {@link Spawned} whose worker may be a tenant's view of a shared pool worker.
 *
 * @internal
 */
export interface Hosted extends Omit<Spawned, 'worker'> {
  readonly worker: WorkerLike
}

/**
 * A booted plugin worker and the host end of its private protocol port.
 *
 * @internal
 */
export interface Spawned {
  readonly worker: Worker
  readonly port: MessagePort
  /** Resolves when the worker runs JS: its boot does not count against the load timeout. */
  readonly online: Promise<void>
}

class RemoteFailure extends Error {
  constructor(readonly data: SerializedError) {
    super(data.message)
  }
}

interface Request {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  /** The method, for a call. */
  readonly method?: string | undefined
  /** The caller's signal, for a call made with one. */
  readonly signal?: AbortSignal | undefined
  timer?: Subscription | undefined
  /** A call's time limit on the scheduler's clock (`callTimeoutMs`), checked by one timer per plugin. */
  deadline?: number | undefined
  /** Removes the abort listener. */
  unlisten?: (() => void) | undefined
}

/**
 * One plugin version in its worker, seen from the host: requests over the private port, each
 * reply validated, timeouts that terminate the worker, output metered.
 *
 * @internal
 */
export class WorkerPlugin implements LoadedPlugin {
  name = ''
  version = ''
  hasSaveState = false
  hasMigrateState = false
  methods: readonly string[] = []
  contract: PluginContractInfo = { uses: [], dependsOn: {}, hasConfigSchema: false }
  readonly #worker: WorkerLike
  readonly #contractHost: WorkerContractHost
  readonly #port: MessagePort
  readonly #online: Promise<void>
  readonly #source: PluginSource
  readonly #options: PrepareOptions
  readonly #output: OutputMeter
  readonly #requests = new Map<number, Request>()
  readonly #tracker: CallTracker
  readonly #scheduler: SchedulerLike
  readonly #exitListeners = new Set<(error: RegistryError) => void>()
  readonly #callTimeoutMs: number | undefined
  readonly #hotWindowUs: number
  /** The one timer that checks the calls' deadlines (armed for the oldest; unref'd: a waiting call holds the worker). */
  #deadlines: Subscription | undefined
  #nextId = 1
  #alive = true
  #disposing = false
  #held = false
  #releasing = false
  readonly #releaseLater = (): void => this.#release()
  #booting = true
  #strays = 0
  #endError: RegistryError | undefined
  #crashCause: unknown

  /**
   * @param hotWindowUs - How long the host's loop is kept polling while a request to this worker
   *   waits, at most, per request (see `hot-window.ts`); `0` for never.
   */
  constructor(spawned: Hosted, source: PluginSource, options: PrepareOptions, output: OutputBudget | undefined, hotWindowUs: number = HOT_WINDOW_US) {
    this.#worker = spawned.worker
    const ms = options.callTimeoutMs
    this.#callTimeoutMs = ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : undefined
    this.#hotWindowUs = hotWindowUs
    this.#port = spawned.port
    this.#online = spawned.online
    this.#source = source
    this.#options = options
    this.#scheduler = options.scheduler ?? asyncScheduler
    this.#tracker = new CallTracker(this.#scheduler)
    this.#output = new OutputMeter(output, () => (this.name === '' ? source.path : `${this.name}@${this.version}`), options.log, this.#scheduler)
    this.#contractHost = new WorkerContractHost(
      this.#port,
      () => this.name,
      () => this.#label,
      (message) => options.log({ level: 'warn', message }),
    )
    this.#port.on('message', (message: unknown) => this.#onMessage(message))
    this.#worker.on('message', () => this.#onStray())
    this.#worker.on('error', (error) => {
      this.#crashCause = error
    })
    this.#worker.on('exit', (code) => this.#onExit(code))
    this.#hold()
  }

  get inFlight(): number {
    return this.#tracker.size
  }

  get alive(): boolean {
    return this.#alive
  }

  get #label(): string {
    return `${this.name === '' ? this.#source.path : `${this.name}@${this.version}`} (worker)`
  }

  async load(): Promise<void> {
    const { loadTimeoutMs } = this.#options
    await this.#online
    this.#booting = false
    let info: LoadInfo
    try {
      info = (await this.#request({ op: 'load', entry: this.#source.entry, file: bundleFile(this.#source), code: runnableCode(this.#source) }, loadTimeoutMs, () =>
        new RegistryError('SETUP_TIMEOUT', `importing ${this.#source.path} took longer than ${loadTimeoutMs} ms (loadTimeoutMs; stuck at the top level?); the worker was terminated`),
      )) as LoadInfo
    } catch (error) {
      if (error instanceof RemoteFailure) {
        const code = error.data.tag === 'invalid' ? 'INVALID_PLUGIN' : 'LOAD_FAILED'
        const where = code === 'LOAD_FAILED' ? locateInArtifact(error.data.stack, this.#source) : undefined
        const what = code === 'LOAD_FAILED' ? `the module threw while it was evaluated: ${error.data.message}` : error.data.message
        throw new RegistryError(code, `${this.#source.path}: ${what}${where === undefined ? '' : `\n${where}`}`, { cause: reviveError(error.data) })
      }
      throw error
    }
    if (info === null || typeof info !== 'object' || typeof info.hasSaveState !== 'boolean' || typeof info.hasMigrateState !== 'boolean') {
      throw this.#violation('the load reply is not { name, version, hasSaveState, hasMigrateState }')
    }
    if (typeof info.name !== 'string' || typeof info.version !== 'string') {
      throw new RegistryError('INVALID_PLUGIN', `${this.#source.path}: the default export needs a string name and version`)
    }
    const contract = parseContractInfo(info.contract)
    if (contract === undefined) throw this.#violation('the load reply has no valid contract')
    this.contract = contract
    this.name = info.name
    this.version = info.version
    this.hasSaveState = info.hasSaveState
    this.hasMigrateState = info.hasMigrateState
  }

  async setup(init: SetupInit, timeoutMs: number): Promise<void> {
    let methods: unknown
    try {
      this.#contractHost.attach(init.host)
      methods = await this.#request({ op: 'setup', init: workerSetupInit(init) }, timeoutMs, () =>
        new RegistryError('SETUP_TIMEOUT', `setup() of ${this.#label} did not finish within ${timeoutMs} ms; the worker was terminated`, { pluginId: this.name }),
      )
    } catch (error) {
      if (!(error instanceof RemoteFailure)) throw error
      const cause = reviveError(error.data)
      if (error.data.tag === 'migrate') {
        throw new RegistryError('STATE_REJECTED', `migrateState() of ${this.#label} threw: ${error.data.message}`, { cause, pluginId: this.name })
      }
      if (error.data.name === 'StateRejectedError') {
        throw new RegistryError('STATE_REJECTED', `setup() of ${this.#label} rejected the state of ${init.previousVersion ?? 'the store'}: ${error.data.message}`, {
          cause,
          pluginId: this.name,
        })
      }
      throw new RegistryError('SETUP_FAILED', `setup() of ${this.#label} threw: ${error.data.message}`, { cause, pluginId: this.name })
    }
    if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string')) throw this.#violation('the setup reply is not a list of method names')
    this.methods = methods
  }

  async validateConfig(value: unknown, timeoutMs: number): Promise<ConfigCheck> {
    try {
      const check = (await this.#request({ op: 'config', value }, timeoutMs, () =>
        new RegistryError('SETUP_TIMEOUT', `the config schema of ${this.#label} did not answer within ${timeoutMs} ms; the worker was terminated`, { pluginId: this.name }),
      )) as ConfigCheck
      if (check === null || typeof check !== 'object' || (check.ok !== true && !Array.isArray((check as { issues?: unknown }).issues))) throw this.#violation('the config reply is not a check result')
      return check
    } catch (error) {
      if (!(error instanceof RemoteFailure)) throw error
      return { ok: false, issues: [{ path: [], message: `the config schema threw: ${error.data.message}` }] }
    }
  }

  call(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    if (!this.#alive) return Promise.reject(this.#deadError())
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(abortedCall(signal, method, this.#label, this.name))
    return this.#tracker.run(method, (resolve, reject) => {
      const id = this.#nextId++
      const request: Request = { resolve, reject, method, signal }
      if (signal !== undefined) {
        request.unlisten = whenAborted(signal, () => {
          if (!this.#requests.has(id)) return
          this.#forget(id)
          reject(abortedCall(signal, method, this.#label, this.name))
          this.#post({ op: 'abort', id })
        })
      }
      const timeoutMs = this.#callTimeoutMs
      if (timeoutMs !== undefined) {
        request.deadline = this.#scheduler.now() + timeoutMs
        this.#armDeadlines(timeoutMs)
      }
      this.#track(id, request)
      const message: Record<string, unknown> = signal === undefined ? { id, op: 'call', method, args } : { id, op: 'call', method, args, signal: true }
      if (!hasRequest(args)) {
        this.#postCall(id, request, message, [], args)
        return
      }
      // A Request argument: its body is read (what is ready) and streamed to the worker.
      packArgs(args).then(
        (packed) => {
          if (this.#requests.get(id) !== request || !this.#alive) {
            for (const port of packed.transfer) port.close()
            return
          }
          this.#postCall(id, request, { ...message, args: packed.args, req: packed.req }, packed.transfer, args)
        },
        (error: unknown) => this.#failCall(id, request, new RegistryError('NOT_CLONEABLE', `call "${method}" on ${this.#label}: the request body could not be read: ${(error as Error).message}`, { cause: error, pluginId: this.name })),
      )
    })
  }

  #postCall(id: number, request: Request, message: Record<string, unknown>, transfer: MessagePort[], args: readonly unknown[]): void {
    try {
      this.#port.postMessage(message, transfer)
    } catch (error) {
      for (const port of transfer) port.close()
      const where = uncloneablePath(args, 'args')
      this.#failCall(
        id,
        request,
        where === undefined
          ? error
          : new RegistryError('NOT_CLONEABLE', `call "${String(message.method)}" on ${this.#label}: ${where}, which cannot cross the worker boundary (pass data: JSON-like values, Dates, Maps, typed arrays, a Request)`, {
              cause: error,
              pluginId: this.name,
            }),
      )
    }
  }

  #failCall(id: number, request: Request, error: unknown): void {
    this.#forget(id)
    request.unlisten?.()
    request.reject(error)
  }

  /**
   * A call passed `callTimeoutMs`: it fails with `CALL_TIMEOUT` and the worker is terminated
   * (a worker of its own: whatever holds it is this version's). `fail` settles the call (once;
   * later replies are dropped); a pool tenant asks its shared worker first.
   */
  protected callTimedOut(method: string, timeoutMs: number, fail: (error: RegistryError) => void): void {
    fail(new RegistryError('CALL_TIMEOUT', `call "${method}" on ${this.#label} took longer than ${timeoutMs} ms; the worker was terminated`, { pluginId: this.name }))
    this.#kill(new RegistryError('WORKER_CRASHED', `${this.#label} was terminated after call "${method}" timed out (callTimeoutMs ${timeoutMs})`, { pluginId: this.name }))
  }

  /** Arms the deadline timer, unless it is armed already (then for an older call, so an earlier time). */
  #armDeadlines(delay: number): void {
    if (this.#deadlines !== undefined) return
    this.#deadlines = after(this.#scheduler, Math.max(1, delay), () => this.#expire(), true)
  }

  /** Times out the calls past their deadline (oldest first: one limit per plugin, so the order of the map), and re-arms for the next. */
  #expire(): void {
    this.#deadlines = undefined
    const timeoutMs = this.#callTimeoutMs
    if (timeoutMs === undefined) return
    for (const [id, request] of this.#requests) {
      const deadline = request.deadline
      if (deadline === undefined) continue
      const now = this.#scheduler.now()
      if (deadline > now) {
        this.#armDeadlines(deadline - now)
        return
      }
      request.deadline = undefined
      this.callTimedOut(request.method ?? '', timeoutMs, (error) => {
        if (this.#requests.get(id) !== request) return
        this.#forget(id)
        request.unlisten?.()
        request.reject(error)
      })
      if (!this.#alive) return
    }
  }

  drain(timeoutMs: number): Promise<number> {
    return this.#tracker.drain(timeoutMs, this.#label, this.name)
  }

  async saveState(timeoutMs: number): Promise<unknown> {
    if (!this.hasSaveState) return undefined
    try {
      return await this.#request({ op: 'save' }, timeoutMs, () =>
        new RegistryError('SAVE_STATE_FAILED', `saveState() of ${this.#label} did not finish within ${timeoutMs} ms; the worker was terminated`, { pluginId: this.name }),
      )
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'SAVE_STATE_FAILED') throw error
      const cause = error instanceof RemoteFailure ? reviveError(error.data) : error
      throw new RegistryError('SAVE_STATE_FAILED', `saveState() of ${this.#label} failed: ${(cause as Error).message}`, { cause, pluginId: this.name })
    }
  }

  async dispose(timeoutMs: number): Promise<void> {
    if (this.#disposing) return
    this.#disposing = true
    if (this.#alive && timeoutMs > 0) {
      await this.#request({ op: 'dispose' }, timeoutMs, () => new RegistryError('SETUP_TIMEOUT', `dispose() of ${this.#label} did not finish within ${timeoutMs} ms; the worker was terminated`), false).catch(
        (error: unknown) => {
          const cause = error instanceof RemoteFailure ? reviveError(error.data) : error
          this.#options.log({ level: 'warn', message: `dispose() of ${this.#label} failed: ${(cause as Error).message}` })
        },
      )
    }
    this.#alive = false
    this.#rejectAll(new RegistryError('WORKER_CRASHED', `${this.#label} was disposed`, { pluginId: this.name }))
    this.#port.close()
    await this.#end()
    this.#output.close()
  }

  onExit(listener: (error: RegistryError) => void): () => void {
    this.#exitListeners.add(listener)
    return () => this.#exitListeners.delete(listener)
  }

  #request(message: Record<string, unknown>, timeoutMs: number, onTimeout: () => RegistryError, killOnTimeout = true): Promise<unknown> {
    if (!this.#alive) return Promise.reject(this.#deadError())
    return new Promise((resolve, reject) => {
      const id = this.#nextId++
      const request: Request = { resolve, reject }
      request.timer = after(this.#scheduler, timeoutMs, () => {
        this.#forget(id)
        const error = onTimeout()
        reject(error)
        if (killOnTimeout) this.#kill(error)
      })
      this.#track(id, request)
      this.#port.postMessage({ id, ...message })
    })
  }

  #onMessage(raw: unknown): void {
    const message = parseWorkerMessage(raw)
    if (typeof message === 'string') {
      this.#kill(this.#violation(message))
      return
    }
    if ('log' in message) {
      this.#output.line(message.log, message.message)
      return
    }
    if ('out' in message) {
      this.#output.text(message.out, message.text)
      return
    }
    if ('dropped' in message) {
      this.#output.droppedInWorker(message.dropped)
      return
    }
    if ('c' in message) {
      const problem = this.#contractHost.handle(message)
      if (problem !== undefined) this.#kill(this.#violation(problem))
      return
    }
    const request = this.#requests.get(message.id)
    if (request === undefined) {
      // A late reply to a request that timed out or was aborted is fine (a stream it opened is
      // closed, which cancels its producer); an id never issued is forged.
      if (message.id >= this.#nextId) this.#kill(this.#violation(`reply to request ${message.id}, which was never sent`))
      else if (message.ok && message.stream !== undefined) message.stream.close()
      else if (message.ok && message.response?.body?.port !== undefined) message.response.body.port.close()
      return
    }
    this.#forget(message.id)
    request.unlisten?.()
    if (message.ok) {
      const stream = message.stream
      if (message.response !== undefined) {
        if (request.method === undefined) this.#kill(this.#violation('a response reply to a request that is not a call'))
        else request.resolve(responseOf(message.response, (port) => this.#consume(request.method as string, port, request.signal, BODY_WINDOW) as StreamConsumer<Uint8Array>))
      } else if (stream === undefined) request.resolve(message.value)
      else if (request.method === undefined) this.#kill(this.#violation('a stream reply to a request that is not a call'))
      else request.resolve(this.#stream(request.method, stream, request.signal))
    } else if (request.method === undefined) {
      request.reject(new RemoteFailure(message.error))
    } else if (message.error.tag === 'unknown-method') {
      request.reject(new RegistryError('UNKNOWN_METHOD', `${this.#label} has no method ${request.method}; it has ${this.methods.join(', ')}`, { pluginId: this.name }))
    } else if (message.error.tag === 'clone') {
      request.reject(
        new RegistryError('NOT_CLONEABLE', `call "${request.method}" on ${this.#label}: ${message.error.message} (return data: JSON-like values, Dates, Maps, typed arrays)`, {
          pluginId: this.name,
        }),
      )
    } else {
      // mapped here too: Node maps the worker's stacks through the source map comment on some
      // lines only (not for every artifact on Node 26); frames already mapped are kept
      request.reject(withMappedStack(reviveError(message.error), this.#source))
    }
  }

  #stream(method: string, port: MessagePort, signal: AbortSignal | undefined): unknown {
    return this.#consume(method, port, signal, STREAM_WINDOW)
  }

  /** Reads a stream (or a response body) of a call: in flight until it ends, ended by the call's signal. */
  #consume(method: string, port: StreamPort, signal: AbortSignal | undefined, window: number): StreamConsumer {
    const consumer = workerStream(
      port,
      (error) => withMappedStack(reviveError(error as SerializedError), this.#source),
      () => this.#endError ?? new RegistryError('WORKER_CRASHED', `${this.#label} ended while stream "${method}" was open`, { pluginId: this.name }),
      (cancel) => {
        const release = this.#tracker.hold(method, cancel)
        if (signal === undefined) return release
        const unlisten = whenAborted(signal, () => cancel(abortedCall(signal, method, this.#label, this.name)))
        return () => {
          unlisten()
          release()
        }
      },
      window,
    )
    return consumer
  }

  /** Posts a message that needs no reply (a gone worker needs none either). */
  #post(message: Record<string, unknown>): void {
    if (!this.#alive) return
    try {
      this.#port.postMessage(message)
    } catch {
      // the port closed under us: the worker has gone
    }
  }

  #onStray(): void {
    if (this.#strays++ === 0) {
      this.#options.log({
        level: 'warn',
        message: `${this.#label} posted a message on parentPort; the host ignores it (plugins talk to the host through their API, and the registry's protocol runs on a private channel)`,
      })
    }
  }

  #violation(what: string): RegistryError {
    return new RegistryError('WORKER_CRASHED', `${this.#label} broke the worker protocol (${what}); the worker was terminated`, { pluginId: this.name })
  }

  /** A request waits for its reply from now on: the worker is held and the host's loop kept hot. */
  #track(id: number, request: Request): void {
    this.#requests.set(id, request)
    hostHotWindow.begin(this.#hotWindowUs)
    this.#hold()
  }

  /** A request stopped waiting (answered, failed, timed out, aborted); its timer, if any, is cancelled. */
  #forget(id: number): void {
    const request = this.#requests.get(id)
    if (request === undefined) return
    this.#requests.delete(id)
    request.timer?.unsubscribe()
    hostHotWindow.end()
    this.#hold()
  }

  /**
   * Keeps the process alive while a request waits on this worker, not while it idles. Letting
   * go waits for the end of the loop turn: a caller that sends its next request as soon as the
   * last is answered (the usual loop) keeps the worker held, with no ref/unref per call.
   */
  #hold(): void {
    const busy = (this.#booting || this.#requests.size > 0) && this.#alive
    if (busy) {
      this.#releasing = false
      if (this.#held) return
      this.#held = true
      this.#worker.ref()
      this.#port.ref()
    } else if (this.#held) {
      // ended: at once, before its terminate() (an unref after it would undo the ref that waits for the exit)
      if (!this.#alive) {
        this.#releasing = true
        this.#release()
      } else if (!this.#releasing) {
        this.#releasing = true
        releaseSoon(this.#releaseLater)
      }
    }
  }

  /** Lets go of the worker if it still idles (called at the end of the loop turn). */
  #release(): void {
    if (!this.#releasing) return
    this.#releasing = false
    this.#held = false
    this.#worker.unref()
    this.#port.unref()
  }

  #kill(reason: RegistryError): void {
    if (!this.#alive) return
    this.#alive = false
    this.#endError = reason
    this.#rejectAll(reason)
    this.#port.close()
    void this.#end()
    this.#output.close()
    this.#notify(reason)
  }

  /**
   * Terminates the thread, abandoning it when it does not end (see `worker-end.ts`). A pool
   * tenant's view is not a thread: its pool worker bounds and abandons its own.
   */
  #end(): Promise<unknown> {
    return this.#worker instanceof Worker ? endWorker(this.#worker, () => this.#abandoned()) : this.#worker.terminate()
  }

  /** The terminated thread did not end (see `worker-end.ts`): said out loud, then treated as ended. */
  #abandoned(): void {
    this.#options.log({ level: 'error', message: `the thread of ${this.#label} did not end within ${ABANDON_AFTER_MS} ms of being terminated (blocked in a system call or inside V8); it is left behind, and this process cannot exit normally while it runs` })
    this.#onExit(1)
  }

  #onExit(code: number): void {
    this.#output.close()
    if (!this.#alive) return
    this.#alive = false
    const cause = this.#crashCause
    const loss = this.#worker.loss
    const reason =
      loss === undefined
        ? new RegistryError('WORKER_CRASHED', `the worker of ${this.#label} exited with code ${code}${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause, pluginId: this.name })
        : new WorkerLostError(`${this.#label} lost its pool worker: ${loss.reason}`, true, { cause, pluginId: this.name })
    this.#endError = reason
    this.#rejectAll(reason, loss)
    this.#port.close()
    if (!this.#disposing) this.#notify(reason)
  }

  #notify(reason: RegistryError): void {
    if (this.#disposing) return
    for (const listener of this.#exitListeners) listener(reason)
  }

  #rejectAll(error: RegistryError, loss?: WorkerLoss): void {
    const requests = [...this.#requests]
    this.#requests.clear()
    this.#hold()
    this.#deadlines?.unsubscribe() // an ended version is not kept reachable by its timer
    this.#deadlines = undefined
    for (const [id, request] of requests) {
      hostHotWindow.end()
      request.timer?.unsubscribe()
      request.unlisten?.()
      // a call that never reached the plugin (pool loss) is safe to retry: the registry does, once
      request.reject(loss !== undefined && request.method !== undefined && !loss.reached(id) ? new WorkerLostError(error.message, false, { cause: error, pluginId: this.name }) : error)
    }
    this.#tracker.rejectAll(error)
  }

  #deadError(): RegistryError {
    return this.#endError ?? new RegistryError('WORKER_CRASHED', `${this.#label} is no longer running`, { pluginId: this.name })
  }
}

/** Plugins letting go of their worker at the end of this loop turn, unless a request came. */
const releasing = new Set<() => void>()
let releaseArmed = false
function releaseAll(): void {
  releaseArmed = false
  const releases = [...releasing]
  releasing.clear()
  for (const release of releases) release()
}
/** Defers a plugin's unref to one shared `setImmediate` (one per loop turn for every plugin). */
function releaseSoon(release: () => void): void {
  releasing.add(release)
  if (releaseArmed) return
  releaseArmed = true
  setImmediate(releaseAll)
}

interface LoadInfo {
  readonly name: unknown
  readonly version: unknown
  readonly hasSaveState: unknown
  readonly hasMigrateState: unknown
  readonly contract?: unknown
}
