import { catchError, endWith, ignoreElements, mergeMap, of, throwError } from 'rxjs'
import type { Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { createCircuitBreaker } from './circuit-breaker.js'
import type { CircuitBreaker } from './circuit-breaker.js'
import { CircuitOpenError, OperatorsError } from './errors.js'

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

const states = { c: 'closed', o: 'open', h: 'half-open' } as const

type Cold = (marbles: string, values?: Record<string, unknown>, error?: unknown) => Observable<unknown>

/**
 * Runs one piece of work per request through the breaker and reports its outcome as a letter:
 * `S` succeeded, `F` failed, `O` refused because open, `B` refused because the trial is busy.
 * Request `s` is work that completes after 1 ms, `f` work that fails after 1 ms, `l` (long)
 * work that completes after 100 ms.
 */
const drive = (requests: Observable<string>, breaker: CircuitBreaker, cold: Cold): Observable<string> =>
  requests.pipe(
    mergeMap((request) => {
      const work = request === 'f' ? cold('-#', undefined, new Error('down')) : request === 'l' ? cold('100ms |') : cold('-|')
      return work.pipe(
        breaker.protect(),
        ignoreElements(),
        endWith('S'),
        catchError((error: unknown) => of(error instanceof CircuitOpenError ? (error.state === 'open' ? 'O' : 'B') : 'F')),
      )
    }),
  )

const timeouts = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length

describe('createCircuitBreaker', () => {
  it('goes closed -> open after failureThreshold failures in a row, refuses at once, half-opens, and a good trial closes it', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 3, resetAfterMs: 1000 })
      // 3 failures (at 1, 11, 21 ms) open it; work at 500 ms is refused; it half-opens at 1021 ms;
      // of two requests at 1100 ms the first is the trial, the second is refused; the trial
      // succeeds at 1101 ms and closes it; work at 1200 ms runs normally.
      const requests = hot('f 9ms f 9ms f 479ms s 599ms (ss) 96ms s')
      const outcomes = drive(requests, breaker, cold)
      expectObservable(outcomes).toBe('1ms F 9ms F 9ms F 478ms O 599ms B S 99ms S')
      expectObservable(breaker.state$, '2s !').toBe('c 20ms o 999ms h 79ms c', states)
    })
  })

  it('goes half-open -> open again when the trial fails, and half-opens after another resetAfterMs', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 1, resetAfterMs: 100 })
      // fail at 1 -> open; half-open at 101; trial at 150 fails at 151 -> open; half-open at 251;
      // trial at 300 succeeds at 301 -> closed.
      const requests = hot('f 149ms f 149ms s')
      expectObservable(drive(requests, breaker, cold)).toBe('1ms F 149ms F 149ms S')
      expectObservable(breaker.state$, '1s !').toBe('c 0ms o 99ms h 49ms o 99ms h 49ms c', states)
    })
  })

  it('counts only failures in a row: a success resets the count', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 3, resetAfterMs: 1000 })
      const requests = hot('f 9ms f 9ms s 9ms f 9ms f 9ms f')
      expectObservable(drive(requests, breaker, cold)).toBe('1ms F 9ms F 9ms S 9ms F 9ms F 9ms F')
      expectObservable(breaker.state$, '1s !').toBe('c 50ms o', states)
    })
  })

  it('lets errors that isFailure rejects through without counting them', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 1, isFailure: (error) => (error as Error).message !== 'down' })
      expectObservable(drive(hot('f 9ms f'), breaker, cold)).toBe('1ms F 9ms F')
      expectObservable(breaker.state$, '1s !').toBe('c', states)
    })
  })

  it('ignores the outcome of work that started before the breaker opened', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 1, resetAfterMs: 1000 })
      // a long call starts at 0 (closed), a failure at 1 ms opens the breaker; the long call's
      // success at 100 ms must not close it.
      const requests = hot('(lf)')
      expectObservable(drive(requests, breaker, cold)).toBe('1ms F 98ms S')
      expectObservable(breaker.state$, '500ms !').toBe('c 0ms o', states)
    })
  })

  it('frees the half-open trial slot when the trial is cancelled', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 1, resetAfterMs: 10 })
      expectObservable(cold('#').pipe(breaker.protect())).toBe('#')
      // The trial at 20 ms is cancelled at 30 ms; the work at 40 ms becomes the next trial.
      expectObservable(cold('20ms a').pipe(mergeMap(() => cold('100ms |').pipe(breaker.protect()))), '30ms !').toBe('')
      expectObservable(cold('40ms (a|)').pipe(mergeMap(() => cold('-|').pipe(breaker.protect())))).toBe('41ms |')
      expectObservable(breaker.state$, '100ms !').toBe('(co) 6ms h 30ms c', states)
    })
  })

  it('describes itself in snapshot() and refuses with a CircuitOpenError that says when to come back', () => {
    const scheduler = testScheduler()
    scheduler.maxFrames = Number.POSITIVE_INFINITY
    const boom = new Error('boom')
    const fail = (): void => {
      throwError(() => boom).pipe(breaker.protect()).subscribe({ error: () => undefined })
    }
    const breaker = createCircuitBreaker({ name: 'plugin:greeter', failureThreshold: 2, resetAfterMs: 1000, scheduler })
    expect(breaker.snapshot()).toEqual({
      name: 'plugin:greeter',
      state: 'closed',
      consecutiveFailures: 0,
      failureThreshold: 2,
      openedAt: undefined,
      trialAllowedAt: undefined,
      trialRunning: false,
      lastError: undefined,
    })
    fail()
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 1, lastError: boom })
    const seen: Record<string, unknown> = {}
    scheduler.schedule(() => {
      fail()
      seen.at15 = breaker.snapshot()
    }, 15)
    scheduler.schedule(() => of(1).pipe(breaker.protect()).subscribe({ error: (error: unknown) => (seen.refusedAt315 = error) }), 315)
    scheduler.schedule(() => (seen.at1100 = breaker.snapshot()), 1100)
    scheduler.flush()
    expect(seen.at15).toMatchObject({ state: 'open', openedAt: 15, trialAllowedAt: 1015, consecutiveFailures: 2 })
    const refused = seen.refusedAt315
    expect(refused).toBeInstanceOf(CircuitOpenError)
    expect(refused).toMatchObject({ name: 'CircuitOpenError', code: 'CIRCUIT_OPEN', breaker: 'plugin:greeter', state: 'open', retryAfterMs: 700, cause: boom })
    expect((refused as Error).message).toContain('plugin:greeter')
    // The timer half-opened it at 1015 ms.
    expect(seen.at1100).toMatchObject({ state: 'half-open', trialRunning: false })
  })

  it('closes at once on reset() and ignores outcomes of work started before it', () => {
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 1, resetAfterMs: 1000 })
      cold('50ms a').subscribe(() => breaker.reset())
      expectObservable(drive(hot('f 59ms s'), breaker, cold)).toBe('1ms F 59ms S')
      expectObservable(breaker.state$, '2s !').toBe('c 0ms o 48ms c', states)
    })
  })

  it('completes state$ on close() and still half-opens lazily when work arrives', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const breaker = createCircuitBreaker({ failureThreshold: 1, resetAfterMs: 100 })
      cold('#').pipe(breaker.protect()).subscribe({ error: () => undefined })
      expectObservable(breaker.state$).toBe('o 9ms |', states)
      cold('10ms a').subscribe(() => breaker.close())
      expectObservable(cold('50ms a').pipe(mergeMap(() => cold('-|').pipe(breaker.protect())))).toBe('50ms #', undefined, expect.any(CircuitOpenError))
      expectObservable(cold('200ms (a|)').pipe(mergeMap(() => cold('-|').pipe(breaker.protect())))).toBe('201ms |')
    })
  })

  it('cancels its real open-period timer on close()', () => {
    const before = timeouts()
    const breaker = createCircuitBreaker({ failureThreshold: 1, resetAfterMs: 60_000 })
    throwError(() => new Error('x')).pipe(breaker.protect()).subscribe({ error: () => undefined })
    expect(breaker.snapshot().state).toBe('open')
    expect(timeouts()).toBe(before + 1)
    breaker.close()
    expect(timeouts()).toBe(before)
  })

  it('keeps breakers independent (one per plugin)', () => {
    const scheduler = testScheduler()
    const a = createCircuitBreaker({ name: 'a', failureThreshold: 1, scheduler })
    const b = createCircuitBreaker({ name: 'b', failureThreshold: 1, scheduler })
    throwError(() => new Error('x')).pipe(a.protect()).subscribe({ error: () => undefined })
    of(1).pipe(b.protect()).subscribe()
    expect([a.snapshot().state, b.snapshot().state]).toEqual(['open', 'closed'])
  })

  it('rejects bad options with INVALID_OPTIONS', () => {
    expect(() => createCircuitBreaker({ failureThreshold: 0 })).toThrow(OperatorsError)
    expect(() => createCircuitBreaker({ resetAfterMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})

