import { Subject, asyncScheduler } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { DROP_KEY, coalesceByKey } from './coalesce-by-key.js'
import { OperatorsError } from './errors.js'

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

interface Change {
  readonly path: string
  readonly kind: 'created' | 'modified' | 'deleted'
}

// The pipeline's file-change fold, used here as a realistic fold.
const foldChanges = (previous: Change, next: Change): Change | typeof DROP_KEY => {
  if (previous.kind === 'created' && next.kind === 'deleted') return DROP_KEY
  if (previous.kind === 'created') return previous
  if (previous.kind === 'deleted' && next.kind === 'created') return { path: next.path, kind: 'modified' }
  return next
}

const byKey = (value: string): string => value[0] as string

describe('coalesceByKey', () => {
  it('at windowMs 0 on the real clock, folds one synchronous run and emits it from a microtask (no timer)', async () => {
    const source = new Subject<[string, number]>()
    const out: [string, number][] = []
    const sub = source.pipe(coalesceByKey((v: [string, number]) => v[0], { windowMs: 0, fold: (a, b) => [a[0], a[1] + b[1]] })).subscribe((v) => out.push(v))
    source.next(['a', 1])
    source.next(['a', 2])
    source.next(['b', 5])
    expect(out).toEqual([])
    // Only microtasks run here: a timer (even of 0 ms) could not have fired yet.
    for (let i = 0; i < 3; i++) await Promise.resolve()
    expect(out).toEqual([
      ['a', 3],
      ['b', 5],
    ])
    source.next(['a', 7])
    for (let i = 0; i < 3; i++) await Promise.resolve()
    expect(out.at(-1)).toEqual(['a', 7])
    sub.unsubscribe()
  })

  it('fires a fixed 500 ms window fed at 0, 100 and 200 ms once, at 700 ms', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 99ms b 99ms c', { a: 'x1', b: 'x2', c: 'x3' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: 500 }))).toBe('700ms c', { c: 'x3' })
    })
  })

  it('uses the scheduler it is given', () => {
    // Outside run(): there the test clock also drives the default asyncScheduler, so the test
    // could not tell whether the option is used. Here only the given scheduler's virtual time
    // moves, and nothing is emitted before it is flushed.
    const scheduler = testScheduler()
    const seen: string[] = []
    const source = new Subject<string>()
    source.pipe(coalesceByKey(byKey, { windowMs: 50, scheduler })).subscribe((v) => seen.push(v))
    source.next('x1')
    source.next('x2')
    expect(seen).toEqual([])
    scheduler.flush()
    expect(seen).toEqual(['x2'])
  })

  it('keeps keys independent: a busy key never delays another', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // key x changes every 100 ms until 900 ms; key y changes once at 50 ms.
      const source = cold(`a 49ms b 49ms ${'a 99ms '.repeat(8)}a`, { a: 'x', b: 'y' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: 300 }))).toBe('350ms y 849ms x', { x: 'x', y: 'y' })
    })
  })

  it('folds a burst: created+modified = created, deleted+created = modified, created+deleted = nothing', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = {
        a: { path: 'a', kind: 'created' },
        b: { path: 'a', kind: 'modified' },
        c: { path: 'b', kind: 'deleted' },
        d: { path: 'b', kind: 'created' },
        e: { path: 'c', kind: 'created' },
        f: { path: 'c', kind: 'deleted' },
      } satisfies Record<string, Change>
      const source = cold<Change>('a 9ms b 9ms c 9ms d 9ms e 9ms f', values)
      const expected = { A: { path: 'a', kind: 'created' }, B: { path: 'b', kind: 'modified' } }
      expectObservable(source.pipe(coalesceByKey((change) => change.path, { windowMs: 100, fold: foldChanges }))).toBe(
        '110ms A 19ms B',
        expected,
      )
    })
  })

  it('starts a fresh burst after a fold dropped the key', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const values = {
        a: { path: 'p', kind: 'created' },
        b: { path: 'p', kind: 'deleted' },
        c: { path: 'p', kind: 'modified' },
      } satisfies Record<string, Change>
      const source = cold<Change>('a 9ms b 9ms c', values)
      // The drop at 10 ms cancels the first timer: the burst that starts at 20 ms ends at 120 ms.
      expectObservable(source.pipe(coalesceByKey((change) => change.path, { windowMs: 100, fold: foldChanges }))).toBe('120ms c', values)
    })
  })

  it('flushes a key that never goes quiet every maxWaitMs', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // One change every 100 ms from 0 to 1900 ms, then silence. The first burst (0..1000 ms) is
      // flushed by maxWaitMs at 1000 ms, the second (1100..1900 ms) at 1100 + 1000 ms, before
      // its quiet window would have ended at 2200 ms.
      const source = cold(`${'a 99ms '.repeat(19)}a`, { a: 'x' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: 300, maxWaitMs: 1000 }))).toBe('1000ms x 1099ms x', { x: 'x' })
    })
  })

  it('grows an adaptive window for a busy key and shrinks it back when changes slow down', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const windowMs = { minMs: 100, maxMs: 800 }
      // 0, 50, 100 ms: windows 100, 200, 400 -> emitted at 500 ms.
      // 1000 ms: the earlier arrivals aged out of the 800 ms horizon -> window 100 -> 1100 ms.
      // 1500, 1550 ms: one then two recent arrivals -> windows 200, 400 -> 1950 ms.
      const source = cold('a 49ms b 49ms c 899ms d 499ms e 49ms f', { a: 'x1', b: 'x2', c: 'x3', d: 'x4', e: 'x5', f: 'x6' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs }))).toBe('500ms c 599ms d 849ms f', { c: 'x3', d: 'x4', f: 'x6' })
    })
  })

  it('re-arms an adaptive key whose history is still kept when a new value needs an earlier timer', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // 0 ms: window 10 -> emitted at 10 ms, history kept until 1000 ms. 500 ms: one recent
      // arrival -> window 20 -> emitted at 520 ms, not when the history timer would fire.
      const source = cold('a 499ms b', { a: 'x1', b: 'x2' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: { minMs: 10, maxMs: 1000 } }))).toBe('10ms a 509ms b', { a: 'x1', b: 'x2' })
    })
  })

  it('pins the adaptive window at maxMs for a key that keeps changing', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // 6 changes 10 ms apart: 100, 200, 400, 800, 800, 800 -> last at 50 ms + 800 ms.
      const source = cold(`${'a 9ms '.repeat(5)}a`, { a: 'x' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: { minMs: 100, maxMs: 800 } }))).toBe('850ms x', { x: 'x' })
    })
  })

  it('lets a custom window decide from the recent values of the burst', () => {
    const seen: string[][] = []
    testScheduler().run(({ cold, expectObservable }) => {
      const windowMs = (values: readonly string[], times: readonly number[]): number => {
        seen.push([...values, ...times.map(String)])
        return values.length * 100
      }
      const source = cold('a 9ms b 499ms c', { a: 'x1', b: 'x2', c: 'x3' })
      // 10 ms + 2 values * 100 ms = 210 ms; then a fresh burst: 510 ms + 1 * 100 ms.
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs }))).toBe('210ms b 399ms c', { b: 'x2', c: 'x3' })
    })
    expect(seen).toEqual([['x1', '0'], ['x1', 'x2', '0', '10'], ['x3', '510']])
  })

  it('errors with INVALID_OPTIONS when a custom window returns a bad number', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const error = new OperatorsError('INVALID_OPTIONS', 'x')
      const result = cold('a', { a: 'x' }).pipe(coalesceByKey(byKey, { windowMs: () => Number.NaN }))
      expectObservable(result).toBe('#', undefined, expect.objectContaining({ code: error.code }))
    })
  })

  it('emits every pending value at once when the source completes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b 9ms a 79ms |', { a: 'x1', b: 'y1' })
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: 500 }))).toBe('100ms (ab|)', { a: 'x1', b: 'y1' })
    })
  })

  it('passes a source error on at once and drops pending values', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 99ms #', { a: 'x1' }, new Error('boom'))
      expectObservable(source.pipe(coalesceByKey(byKey, { windowMs: 500 }))).toBe('100ms #', undefined, new Error('boom'))
    })
  })

  it('sends an error thrown by keyOf to the output', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('bad key')
      const keyOf = (value: string): string => {
        if (value === 'bad') throw boom
        return value
      }
      expectObservable(cold('a 9ms b', { a: 'ok', b: 'bad' }).pipe(coalesceByKey(keyOf, { windowMs: 50 }))).toBe('10ms #', undefined, boom)
    })
  })

  it('cancels pending windows on unsubscribe', () => {
    const counts: number[] = []
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b', { a: 'x1', b: 'y1' })
      const result = source.pipe(coalesceByKey(byKey, { windowMs: 500, onKeyCount: (n) => counts.push(n) }))
      expectObservable(result, '300ms !').toBe('')
    })
    expect(counts).toEqual([1, 2, 0])
  })

  it('leaves no real timer behind after unsubscribe (asyncScheduler)', () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const before = timers()
    const source = new Subject<string>()
    const subscription = source.pipe(coalesceByKey(byKey, { windowMs: 60_000, scheduler: asyncScheduler })).subscribe()
    for (const value of ['a', 'b', 'c', 'a']) source.next(value)
    expect(timers()).toBe(before + 3)
    subscription.unsubscribe()
    expect(timers()).toBe(before)
  })

  it('holds no state for keys that went quiet (no leaked groups)', () => {
    const counts: number[] = []
    const emitted: string[] = []
    const scheduler = testScheduler()
    scheduler.run(({ flush }) => {
      const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`)
      // The source stays open: memory must be freed because keys went quiet, not by teardown.
      const source = new Subject<string>()
      source.pipe(coalesceByKey((value) => value, { windowMs: 100, onKeyCount: (n) => counts.push(n) })).subscribe((value) => emitted.push(value))
      scheduler.schedule(() => keys.forEach((key) => source.next(key)), 0)
      scheduler.schedule(() => keys.slice(0, 500).forEach((key) => source.next(key)), 50)
      flush()
    })
    expect(emitted).toHaveLength(1000)
    expect(Math.max(...counts)).toBe(1000)
    expect(counts.at(-1)).toBe(0)
  })

  it('frees an adaptive key once its recent arrivals aged out of the maxMs horizon', () => {
    const log: string[] = []
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const scheduler = asyncScheduler
      const result = cold('a 49ms a 2s -', { a: 'x' }).pipe(
        coalesceByKey(byKey, {
          windowMs: { minMs: 100, maxMs: 800 },
          scheduler,
          onKeyCount: (n) => log.push(`${scheduler.now()}:${n}`),
        }),
      )
      expectObservable(result).toBe('250ms x')
      flush()
    })
    // Emitted at 250 ms, history kept until 50 + 800 ms, then freed.
    expect(log).toEqual(['0:1', '850:0'])
  })

  it('rejects bad options synchronously with INVALID_OPTIONS', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_OPTIONS' })
    expect(() => coalesceByKey(byKey, { windowMs: -1 })).toThrow(invalid)
    expect(() => coalesceByKey(byKey, { windowMs: { minMs: 500, maxMs: 100 } })).toThrow(invalid)
    expect(() => coalesceByKey(byKey, { windowMs: { minMs: 1, maxMs: 10, factor: 1 } })).toThrow(invalid)
    expect(() => coalesceByKey(byKey, { windowMs: 10, maxWaitMs: Number.NaN })).toThrow(invalid)
    expect(() => coalesceByKey(byKey, { windowMs: 10 })).not.toThrow()
  })
})
