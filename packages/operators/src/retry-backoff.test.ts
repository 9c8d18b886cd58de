import { catchError, defer, of } from 'rxjs'
import type { Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { RetriesExhaustedError } from './errors.js'
import { retryBackoff } from './retry-backoff.js'
import type { RetryEvent } from './retry-backoff.js'

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

/** Turns the output's error into a value so a marble can show what it was. */
const describeError = <T>(source: Observable<T>): Observable<T | string> =>
  source.pipe(
    catchError((error: unknown) => {
      if (error instanceof RetriesExhaustedError) {
        return of(`${error.name}:${error.code}:${error.retries}/${error.attempts}:${error.cause instanceof Error ? error.cause.message : String(error.cause)}`)
      }
      return of(`other:${(error as Error).message}`)
    }),
  )

describe('retryBackoff', () => {
  it('waits 100, 200, 400, 800, 1600 ms (exponential), then fails with RetriesExhaustedError after 5 retries', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, new Error('boom'))
      const result = source.pipe(retryBackoff({ backoff: { strategy: 'exponential', initialMs: 100, multiplier: 2 }, maxRetries: 5 }))
      expectObservable(describeError(result)).toBe('3100ms (x|)', { x: 'RetriesExhaustedError:RETRIES_EXHAUSTED:5/6:boom' })
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '100ms (^!)', '300ms (^!)', '700ms (^!)', '1500ms (^!)', '3100ms (^!)'])
    })
  })

  it('waits 1 s, 2 s, 3 s with the linear strategy', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, new Error('down'))
      const result = source.pipe(retryBackoff({ backoff: { strategy: 'linear', initialMs: 1000, incrementMs: 1000 }, maxRetries: 3 }))
      expectObservable(describeError(result)).toBe('6s (x|)', { x: 'RetriesExhaustedError:RETRIES_EXHAUSTED:3/4:down' })
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '1s (^!)', '3s (^!)', '6s (^!)'])
    })
  })

  it('caps the delay at maxMs', () => {
    testScheduler().run(({ cold, expectSubscriptions }) => {
      const source = cold('#')
      source.pipe(retryBackoff({ backoff: { strategy: 'exponential', initialMs: 100, multiplier: 10, maxMs: 500 }, maxRetries: 3 })).subscribe({ error: () => undefined })
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '100ms (^!)', '600ms (^!)', '1100ms (^!)'])
    })
  })

  it('asks a custom strategy for each delay, with the attempt and the error', () => {
    const asked: string[] = []
    testScheduler().run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, new Error('e'))
      const backoff = (attempt: number, error: unknown): number => {
        asked.push(`${attempt}:${(error as Error).message}`)
        return attempt * 7
      }
      source.pipe(retryBackoff({ backoff, maxRetries: 2 })).subscribe({ error: () => undefined })
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '7ms (^!)', '21ms (^!)'])
    })
    expect(asked).toEqual(['1:e', '2:e'])
  })

  it('applies full and equal jitter with the injected random source', () => {
    for (const [jitter, expected] of [
      ['full', ['(^!)', '25ms (^!)', '75ms (^!)']],
      ['equal', ['(^!)', '62.5ms (^!)', '187.5ms (^!)']],
      ['none', ['(^!)', '100ms (^!)', '300ms (^!)']],
    ] as const) {
      testScheduler().run(({ cold, expectSubscriptions }) => {
        const source = cold('#')
        source
          .pipe(retryBackoff({ backoff: { strategy: 'exponential', initialMs: 100 }, jitter, random: () => 0.25, maxRetries: 2 }))
          .subscribe({ error: () => undefined })
        expectSubscriptions(source.subscriptions).toBe([...expected])
      })
    }
  })

  it('tells onRetry about each retry before waiting', () => {
    const events: RetryEvent[] = []
    const boom = new Error('boom')
    testScheduler().run(({ cold }) => {
      cold('#', undefined, boom)
        .pipe(retryBackoff({ backoff: { strategy: 'linear', initialMs: 10 }, maxRetries: 2, onRetry: (event) => events.push(event) }))
        .subscribe({ error: () => undefined })
    })
    expect(events).toEqual([
      { attempt: 1, delayMs: 10, error: boom },
      { attempt: 2, delayMs: 20, error: boom },
    ])
  })

  it('passes an error that shouldRetry refuses on at once, unwrapped', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const fatal = new Error('fatal')
      const source = cold('a #', { a: 1 }, fatal)
      const result = source.pipe(retryBackoff({ shouldRetry: (error) => error !== fatal }))
      expectObservable(describeError(result)).toBe('a (x|)', { a: 1, x: 'other:fatal' })
      expectSubscriptions(source.subscriptions).toBe('^!')
    })
  })

  it('passes values and completion through once a retry succeeds', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      let tries = 0
      const source = defer(() => (++tries < 3 ? cold('-#') : cold('-a|', { a: tries })))
      // fails at 1 ms, waits 100; fails at 102 ms, waits 200; succeeds at 303 ms.
      expectObservable(source.pipe(retryBackoff({ backoff: { strategy: 'exponential', initialMs: 100 } }))).toBe('303ms a|', { a: 3 })
    })
  })

  it('restarts the schedule after a value when resetOnSuccess is set', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const backoff = { strategy: 'exponential', initialMs: 100 } as const
      // Each subscription emits a value and then fails.
      const withReset = cold('a#', { a: 1 }).pipe(retryBackoff({ backoff, maxRetries: 1, resetOnSuccess: true }))
      expectObservable(withReset, '350ms !').toBe('a 100ms a 100ms a 100ms a', { a: 1 })
      const withoutReset = cold('a#', { a: 1 }).pipe(retryBackoff({ backoff, maxRetries: 1 }))
      expectObservable(describeError(withoutReset)).toBe('a 100ms a (x|)', { a: 1, x: 'RetriesExhaustedError:RETRIES_EXHAUSTED:1/2:error' })
    })
  })

  it('fails at once with RetriesExhaustedError when maxRetries is 0', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(describeError(cold('5ms #', undefined, new Error('x')).pipe(retryBackoff({ maxRetries: 0 })))).toBe('5ms (x|)', {
        x: 'RetriesExhaustedError:RETRIES_EXHAUSTED:0/1:x',
      })
    })
  })

  it('cancels a pending wait on unsubscribe', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#')
      expectObservable(source.pipe(retryBackoff({ backoff: { strategy: 'exponential', initialMs: 100 } })), '50ms !').toBe('')
      expectSubscriptions(source.subscriptions).toBe('(^!)')
    })
  })

  it('fails with INVALID_OPTIONS when a custom strategy returns a bad delay', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const result = cold('#').pipe(retryBackoff({ backoff: () => -1 }))
      expectObservable(result).toBe('#', undefined, expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    })
  })

  it('rejects bad options synchronously with INVALID_OPTIONS', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_OPTIONS' })
    expect(() => retryBackoff({ maxRetries: -1 })).toThrow(invalid)
    expect(() => retryBackoff({ maxRetries: 1.5 })).toThrow(invalid)
    expect(() => retryBackoff({ backoff: { strategy: 'linear', initialMs: -5 } })).toThrow(invalid)
    expect(() => retryBackoff({ backoff: { strategy: 'exponential', initialMs: 5, multiplier: 0.5 } })).toThrow(invalid)
    expect(() => retryBackoff({ maxRetries: Number.POSITIVE_INFINITY })).not.toThrow()
  })
})
