import { describe, expect, it } from 'vitest'
import { throwError, of, type Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { CircuitOpenError, createCircuitBreaker } from '@hotswap/operators'
import { RegistryError } from '@hotswap/registry'
import { isDeterministic } from './artifact.js'
import { runAttempts, type AttemptsOutcome } from './attempts.js'

const linear = { backoff: { strategy: 'linear' as const, initialMs: 10, incrementMs: 10 }, maxRetries: 5, jitter: 'none' as const }

/** Runs attempts on virtual time; returns the outcome and the virtual times the attempts started at. */
async function virtual<T>(attempt: (n: number) => Observable<T>, setup: (ts: TestScheduler) => Partial<Parameters<typeof runAttempts>[1]>): Promise<{ outcome: AttemptsOutcome<T>; at: number[]; retries: number[] }> {
  const ts = new TestScheduler((a, b) => expect(a).toEqual(b))
  const at: number[] = []
  const retries: number[] = []
  let promise!: Promise<AttemptsOutcome<T>>
  ts.run(() => {
    promise = runAttempts(
      (n) => {
        at.push(ts.now())
        return attempt(n)
      },
      { retry: linear, breaker: undefined, scheduler: ts, retryable: (e) => !isDeterministic(e), onRetry: (r) => retries.push(r.delayMs), ...setup(ts) },
    )
  })
  return { outcome: await promise, at, retries }
}

const transient = (): Observable<never> => throwError(() => new RegistryError('SETUP_TIMEOUT', 'setup() took too long'))
const syntax = (): Observable<never> => throwError(() => new RegistryError('LOAD_FAILED', 'plugins/a.mjs:3:7 SyntaxError: Unexpected token', { cause: new SyntaxError('Unexpected token') }))

describe('runAttempts', () => {
  it('retries a transient failure with the backoff, on the scheduler, and reports the success', async () => {
    const { outcome, at, retries } = await virtual((n) => (n < 3 ? transient() : of('ok')), () => ({}))
    expect(outcome).toEqual({ value: 'ok', error: undefined, attempts: 3, refused: false })
    expect(at).toEqual([0, 10, 30])
    expect(retries).toEqual([10, 20])
  })

  it('reports a deterministic failure once: one attempt, no retry', async () => {
    const { outcome, at, retries } = await virtual(() => syntax(), () => ({}))
    expect(outcome.attempts).toBe(1)
    expect(outcome.error).toMatchObject({ code: 'LOAD_FAILED' })
    expect(at).toEqual([0])
    expect(retries).toEqual([])
  })

  it('gives up after maxRetries with the last error unwrapped', async () => {
    const { outcome, at } = await virtual(() => transient(), () => ({ retry: { ...linear, maxRetries: 2 } }))
    expect(outcome.attempts).toBe(3)
    expect(outcome.error).toMatchObject({ code: 'SETUP_TIMEOUT' })
    expect(at).toEqual([0, 10, 30])
  })

  it('stops at the breaker: it opens after failureThreshold attempts, refuses work while open, and lets a trial through after resetAfterMs', async () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b))
    const breaker = createCircuitBreaker({ failureThreshold: 2, resetAfterMs: 1000, scheduler: ts })
    const options = { retry: linear, breaker, scheduler: ts, retryable: (e: unknown) => !isDeterministic(e), onRetry: () => undefined }
    const at: number[] = []
    const runs: Promise<AttemptsOutcome<string>>[] = []
    ts.run(() => {
      runs.push(runAttempts<string>(() => (at.push(ts.now()), transient()), options))
      ts.schedule(() => void runs.push(runAttempts(() => of('during'), options)), 500)
      ts.schedule(() => void runs.push(runAttempts(() => of('trial'), options)), 1500)
    })
    const [first, during, trial] = await Promise.all(runs)
    expect(at).toEqual([0, 10])
    expect(first).toMatchObject({ attempts: 2, refused: false })
    expect(first!.error).toBeInstanceOf(CircuitOpenError)
    expect(during).toMatchObject({ attempts: 0, refused: true })
    expect(trial).toEqual({ value: 'trial', error: undefined, attempts: 1, refused: false })
    expect(breaker.snapshot().state).toBe('closed')
  })

  it('does not retry once the pipeline closes', async () => {
    const { outcome } = await virtual(() => transient(), () => ({ retryable: () => false }))
    expect(outcome.attempts).toBe(1)
  })
})

