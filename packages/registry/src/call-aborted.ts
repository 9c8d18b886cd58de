import { RegistryError } from './errors.js'

/** What a loader gets with one call besides its method and arguments. */
export interface CallOptions {
  /**
   * The caller's signal: when it aborts, the call rejects with a {@link CallAbortedError} at
   * once, and the plugin sees the abort on `ctx.signal` (read inside that call).
   */
  readonly signal?: AbortSignal | undefined
}

/**
 * What a call rejects with when its caller aborted it through the `AbortSignal` given to
 * `handle.withSignal(signal)`. Its `name` is `'AbortError'`, as for an aborted `fetch`, so
 * `error.name === 'AbortError'` checks work; `code` is `'CALL_ABORTED'` and `cause` is the
 * signal's `reason`. The call's plugin and every other call go on: only this caller stopped
 * waiting (the plugin sees the abort on its `ctx.signal` and may stop its work).
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * const pending = registry.get('search').withSignal(controller.signal).api.query('cats')
 * controller.abort()
 * await pending.catch((error: unknown) => {
 *   if (error instanceof CallAbortedError) console.log('cancelled', error.method)
 * })
 * ```
 */
export class CallAbortedError extends RegistryError {
  /** `'AbortError'`. */
  override readonly name: string = 'AbortError'
  /** The method whose call was aborted. */
  readonly method: string

  /**
   * @param method - The method called.
   * @param message - Which plugin, and why.
   * @param options - `cause`: the signal's reason; `pluginId`: the plugin called.
   * @example
   * ```ts
   * new CallAbortedError('query', 'call "query" on search@1.0.0 was aborted by its caller')
   * ```
   */
  constructor(method: string, message: string, options?: ErrorOptions & { readonly pluginId?: string | undefined }) {
    super('CALL_ABORTED', message, options)
    this.method = method
  }
}

/**
 * The {@link CallAbortedError} of an aborted signal.
 *
 * @internal
 */
export function abortedCall(signal: AbortSignal, method: string, label: string, pluginId: string | undefined): CallAbortedError {
  const reason: unknown = signal.reason
  const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : ''
  return new CallAbortedError(method, `call "${method}" on ${label} was aborted by its caller${why}`, { cause: reason, pluginId })
}

/**
 * Whether `value` is an `AbortSignal` (of this realm or another one).
 *
 * @internal
 */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true
  const v = value as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null
  return v !== null && typeof v === 'object' && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function' && typeof v.removeEventListener === 'function'
}

/**
 * Runs `onAbort` once when `signal` aborts; returns the remover (call it when the call settles).
 *
 * @internal
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  const listener = (): void => onAbort()
  signal.addEventListener('abort', listener, { once: true })
  return () => signal.removeEventListener('abort', listener)
}
