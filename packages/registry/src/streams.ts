// Streams across a MessagePort, credit-based: the consumer grants credit (a number of items),
// the producer pulls at most that many items from its async iterator and posts them in
// batches; `return()` on the consumer side cancels the producer (its iterator's `return()`).
// The two functions below are self-contained (no imports, no outer names) because the worker
// bootstrap embeds their source text; the host uses the same code.

/** The part of a MessagePort the streams use (Node's `MessagePort`). */
export interface StreamPort {
  postMessage(message: unknown): void
  on(event: 'message', listener: (message: unknown) => void): unknown
  on(event: 'close', listener: () => void): unknown
  close(): void
  ref?(): void
  unref?(): void
}

/**
 * Whether a value is an async iterable (an async generator object, a readable stream...).
 *
 * @internal
 */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
}

/**
 * Serves `source` on `port`: waits for `{ credit }`, posts `{ items }` batches (at most the
 * credit granted, at most 256 per message, flushed at the latest one macrotask after the first
 * item of a batch), then `{ done: true }` or `{ error }`; `{ cancel: true }` or a closed port
 * calls the iterator's `return()`.
 *
 * @internal
 */
export function produceStream(port: StreamPort, source: AsyncIterable<unknown>, serialize: (error: unknown) => unknown): void {
  const iterator = source[Symbol.asyncIterator]()
  const TICK = {}
  let credit = 0
  let running = false
  let finished = false
  const stop = (): void => {
    if (finished) return
    finished = true
    try {
      port.close()
    } catch {
      // already closed
    }
    try {
      const r = typeof iterator.return === 'function' ? iterator.return() : undefined
      if (r !== undefined && typeof r.then === 'function') r.then(undefined, () => undefined)
    } catch {
      // a throwing return() changes nothing for the consumer, who has gone
    }
  }
  const end = (message: unknown): void => {
    if (finished) return
    finished = true
    try {
      port.postMessage(message)
    } catch {
      // the consumer has gone
    }
    port.close()
  }
  let batch: unknown[] = []
  const flush = (): boolean => {
    if (batch.length === 0) return true
    const items = batch
    batch = []
    try {
      port.postMessage({ items })
      return true
    } catch (error) {
      const e = error as Error
      end({ error: serialize(new TypeError(`a stream item cannot cross the worker boundary (${String(e && e.message)}); yield data: JSON-like values, Dates, Maps, typed arrays`)) })
      stop()
      return false
    }
  }
  const pump = async (): Promise<void> => {
    running = true
    let tick: Promise<unknown> | undefined
    try {
      while (credit > 0 && !finished) {
        const next = iterator.next()
        let r: IteratorResult<unknown> | typeof TICK
        if (batch.length > 0) {
          tick ??= new Promise((resolve) => setImmediate(() => resolve(TICK)))
          r = (await Promise.race([next, tick])) as IteratorResult<unknown> | typeof TICK
          if (r === TICK) {
            tick = undefined
            if (!flush()) return
            r = await next
          }
        } else {
          r = await next
        }
        if (finished) return
        const step = r as IteratorResult<unknown>
        if (step.done === true) {
          if (flush()) end({ done: true })
          return
        }
        batch.push(step.value)
        credit--
        if (batch.length >= 256 || credit === 0) {
          tick = undefined
          if (!flush()) return
        }
      }
    } catch (error) {
      if (flush()) end({ error: serialize(error) })
    } finally {
      running = false
    }
  }
  port.on('message', (m: unknown) => {
    const message = m as { credit?: unknown; cancel?: unknown } | null
    if (message === null || typeof message !== 'object') return
    if (message.cancel === true) return stop()
    if (typeof message.credit === 'number' && message.credit > 0 && Number.isSafeInteger(message.credit)) {
      credit += message.credit
      if (!running) void pump()
    }
  })
  port.on('close', stop)
}

/** What {@link consumeStream} is told about the stream's end. */
export interface StreamConsumerOptions {
  /** Items the producer may send ahead of the consumer (the credit window). */
  readonly window: number
  /** Called once when the stream ends for any reason (done, error, cancelled, closed). */
  readonly onEnd?: ((error: unknown) => void) | undefined
  /** The error for a port that closed before `done` (the producer's thread ended). */
  readonly closedError: () => Error
}

/** An async iterator over a port, with `cancel(error)` to end it from the host (a reload's drain). */
export interface StreamConsumer<T = unknown> extends AsyncIterableIterator<T> {
  /** Ends the stream with `error` (the next `next()` rejects with it) and cancels the producer. */
  cancel(error: unknown): void
}

/**
 * Reads a stream served by {@link produceStream} on `port`: grants `window` items of credit and
 * tops it up as the consumer takes items, so the producer never runs more than `window` items
 * ahead. `return()` (a `break` out of `for await`) cancels the producer.
 *
 * @internal
 */
export function consumeStream<T = unknown>(port: StreamPort, revive: (error: unknown) => unknown, options: StreamConsumerOptions): StreamConsumer<T> {
  const window = options.window
  let queue: unknown[] = []
  let head = 0
  let outstanding = 0
  let ended = false
  let failure: unknown
  let failed = false
  let waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined
  let notified = false
  const notify = (error: unknown): void => {
    if (notified) return
    notified = true
    if (typeof options.onEnd === 'function') options.onEnd(error)
  }
  const idle = (): void => {
    if (typeof port.unref === 'function') port.unref()
  }
  const finish = (error: unknown, isError: boolean): void => {
    if (ended) return
    ended = true
    failed = isError
    failure = error
    try {
      port.close()
    } catch {
      // closed
    }
    notify(isError ? error : undefined)
    const w = waiter
    waiter = undefined
    if (w !== undefined) {
      if (head < queue.length) w.resolve({ value: queue[head++] as T, done: false })
      else if (isError) {
        failed = false
        w.reject(error)
      } else w.resolve({ value: undefined, done: true })
    }
  }
  const grant = (): void => {
    if (ended) return
    const want = window - (queue.length - head) - outstanding
    if (want * 2 < window) return
    outstanding += want
    try {
      port.postMessage({ credit: want })
    } catch (error) {
      finish(error, true)
    }
  }
  port.on('message', (m: unknown) => {
    if (ended) return
    const message = m as { items?: unknown; done?: unknown; error?: unknown } | null
    if (message !== null && typeof message === 'object' && Array.isArray(message.items)) {
      const items = message.items as unknown[]
      if (items.length > outstanding) return finish(new TypeError(`the stream producer sent ${items.length} items on a credit of ${outstanding}`), true)
      outstanding -= items.length
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head)
        head = 0
      }
      for (const item of items) queue.push(item)
      const w = waiter
      if (w !== undefined && head < queue.length) {
        waiter = undefined
        idle()
        w.resolve({ value: queue[head++] as T, done: false })
        grant()
      }
      return
    }
    if (message !== null && typeof message === 'object' && message.done === true) return finish(undefined, false)
    if (message !== null && typeof message === 'object' && message.error !== undefined) return finish(revive(message.error), true)
    finish(new TypeError('the stream producer sent a message that is not { items }, { done } or { error }'), true)
  })
  port.on('close', () => finish(options.closedError(), true))
  idle()
  const consumer: StreamConsumer<T> = {
    next(): Promise<IteratorResult<T>> {
      if (head < queue.length) {
        const value = queue[head++] as T
        grant()
        return Promise.resolve({ value, done: false })
      }
      if (ended) {
        if (failed) {
          failed = false
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the producer's error, revived
          return Promise.reject(failure)
        }
        return Promise.resolve({ value: undefined, done: true })
      }
      if (waiter !== undefined) return Promise.reject(new TypeError('next() called again before the previous next() settled'))
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        waiter = { resolve, reject }
        if (typeof port.ref === 'function') port.ref()
        grant()
      })
    },
    return(): Promise<IteratorResult<T>> {
      if (!ended) {
        try {
          port.postMessage({ cancel: true })
        } catch {
          // gone
        }
        queue = []
        head = 0
        finish(undefined, false)
      }
      failed = false
      return Promise.resolve({ value: undefined, done: true })
    },
    cancel(error: unknown): void {
      if (ended) return
      try {
        port.postMessage({ cancel: true })
      } catch {
        // gone
      }
      queue = []
      head = 0
      finish(error, true)
    },
    [Symbol.asyncIterator]() {
      return consumer
    },
  }
  return consumer
}
