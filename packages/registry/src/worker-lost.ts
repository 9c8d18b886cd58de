import { RegistryError } from './errors.js'

/**
 * Why a tenant of a shared pool worker ended when another tenant took the worker down, and
 * which of its requests had reached it.
 *
 * @internal
 */
export interface WorkerLoss {
  /** What ended the worker, naming the tenant blamed for it. */
  readonly reason: string
  /** Whether the request with this id was delivered to the plugin before the worker ended. */
  reached(id: number): boolean
}

/**
 * The error of a plugin version that ended because the shared pool worker it lived in was
 * lost to another plugin (stuck in a loop, crashed, or out of heap), through no fault of its
 * own. Always has `code === 'WORKER_LOST'`. The registry restores such a version on a healthy
 * worker from its last snapshot; a call in flight that had not reached the plugin is retried
 * once there, and a call that had reached it rejects with this error (`reached: true`): its
 * effect may or may not have happened.
 *
 * @example
 * ```ts
 * import { WorkerLostError } from '@hotswap/registry'
 * const error = new WorkerLostError('counter@1.0.0 lost its pool worker (spin@1.0.0 was stuck)', true, { pluginId: 'counter' })
 * console.log(error.code, error.reached) // WORKER_LOST true
 * ```
 */
export class WorkerLostError extends RegistryError {
  /** `'WorkerLostError'`. */
  override readonly name: string = 'WorkerLostError'

  /**
   * @param message - Which version lost its worker, and to whom.
   * @param reached - Whether the call (if it is one) had reached the plugin.
   * @param options - `cause`: what ended the worker; `pluginId`: the plugin concerned.
   * @example
   * ```ts
   * import { WorkerLostError } from '@hotswap/registry'
   * throw new WorkerLostError('counter@1.0.0 lost its pool worker', false)
   * ```
   */
  constructor(
    message: string,
    /** Whether the call had reached the plugin (`false`: it never ran, a retry is safe). */
    readonly reached: boolean,
    options?: ErrorOptions & { readonly pluginId?: string | undefined },
  ) {
    super('WORKER_LOST', message, options)
  }
}
