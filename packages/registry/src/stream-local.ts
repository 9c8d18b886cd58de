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
