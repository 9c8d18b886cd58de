import type { StreamConsumer } from './streams.js'

/**
 * Wraps an async iterable returned by an in-process plugin so that it counts as a call in
 * flight until it ends (a reload drains it) and can be cancelled with a typed error: `track`
 * registers it (see `CallTracker.hold`) and returns its release.
 *
 * @internal
 */
export function trackedStream<T>(source: AsyncIterable<T>, track: (cancel: (error: unknown) => void) => () => void, mapError: (error: unknown) => unknown): StreamConsumer<T> {
  const iterator = source[Symbol.asyncIterator]()
  let ended = false
  let failure: { error: unknown } | undefined
  let interrupt: ((error: unknown) => void) | undefined
  const stopSource = (): void => {
    try {
      const r = iterator.return?.()
      if (r !== undefined) r.then(undefined, () => undefined)
    } catch {
      // the consumer is gone either way
    }
  }
  const release = track((error) => consumer.cancel(error))
  const end = (): void => {
    if (ended) return
    ended = true
    release()
  }
  const consumer: StreamConsumer<T> = {
    next(): Promise<IteratorResult<T>> {
      if (failure !== undefined) {
        const { error } = failure
        failure = undefined
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the plugin's own error, or a RegistryError
        return Promise.reject(error)
      }
      if (ended) return Promise.resolve({ value: undefined, done: true })
      const cancelled = new Promise<never>((_resolve, reject) => {
        interrupt = reject
      })
      return Promise.race([iterator.next(), cancelled]).then(
        (r) => {
          interrupt = undefined
          if (r.done === true) end()
          return r
        },
        (error: unknown) => {
          interrupt = undefined
          end()
          throw mapError(error)
        },
      )
    },
    return(): Promise<IteratorResult<T>> {
      if (!ended) {
        end()
        stopSource()
      }
      failure = undefined
      return Promise.resolve({ value: undefined, done: true })
    },
    cancel(error: unknown): void {
      if (ended) return
      end()
      stopSource()
      if (interrupt !== undefined) interrupt(error)
      else failure = { error }
    },
    [Symbol.asyncIterator]() {
      return consumer
    },
  }
  return consumer
}

/**
 * The response of an in-process call made with a signal: the same status, headers and body,
 * except that the signal's abort errors the body with `error()` and cancels the plugin's
 * stream. `onEnd(cancelled)` once the body ended, failed, was cancelled or aborted.
 *
 * @internal
 */
export function abortableResponse(response: Response, signal: AbortSignal, error: () => unknown, onEnd: (cancelled: boolean) => void): Response {
  const source = response.body
  if (source === null) {
    onEnd(false)
    return response
  }
  const reader = source.getReader()
  let done = false
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  const listener = (): void => {
    const e = error()
    if (!done) controller?.error(e)
    reader.cancel(e).catch(() => undefined)
    finish(true)
  }
  const finish = (cancelled: boolean): void => {
    if (done) return
    done = true
    signal.removeEventListener('abort', listener)
    onEnd(cancelled)
  }
  signal.addEventListener('abort', listener, { once: true })
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      async pull(c) {
        let step: { done: boolean; value?: Uint8Array | undefined }
        try {
          step = await reader.read()
        } catch (e) {
          finish(false)
          throw e
        }
        if (done) return
        if (step.done) {
          c.close()
          finish(false)
        } else c.enqueue(step.value as Uint8Array)
      },
      async cancel(reason) {
        finish(true)
        await reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}
