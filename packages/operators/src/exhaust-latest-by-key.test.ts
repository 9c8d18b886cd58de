import { from, of, toArray } from 'rxjs'
import type { Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { OperatorsError } from './errors.js'
import { exhaustLatestByKey } from './exhaust-latest-by-key.js'

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

const keyOf = (value: string): string => value[0] as string

/** Values like `x1`: key `x`. Each inner takes 50 ms and then emits its value. */
const values = { a: 'x1', b: 'x2', c: 'x3', d: 'x4', e: 'y1', f: 'z1', g: 'y2' }

describe('exhaustLatestByKey', () => {
  it('runs one inner per key at a time and keeps only the newest pending value', () => {
    const started: string[] = []
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b 9ms c 9ms d', values)
      const project = (value: string): Observable<string> => {
        started.push(value)
        return cold('50ms (v|)', { v: value })
      }
      // x1 runs 0-50 ms; x2 and x3 are superseded by x4, which runs 50-100 ms.
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, project))).toBe('50ms a 49ms d', values)
    })
    expect(started).toEqual(['x1', 'x4'])
  })

  it('runs different keys in parallel without a concurrency limit', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms e 9ms f', values)
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, (value) => cold('50ms (v|)', { v: value })))).toBe('50ms a 9ms e 9ms f', values)
    })
  })

  it('respects concurrency and serves waiting keys in FIFO order, a re-queued key at the back', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // concurrency 1: x1 runs 0-50; y1 and z1 wait; x2 arrives while x runs, so x goes to the
      // back of the queue when x1 ends: y1 50-100, z1 100-150, x2 150-200.
      const source = cold('a 9ms e 9ms f 9ms b', values)
      const result = source.pipe(exhaustLatestByKey(keyOf, (value) => cold('50ms (v|)', { v: value }), { concurrency: 1 }))
      expectObservable(result).toBe('50ms a 49ms e 49ms f 49ms b', values)
    })
  })

  it('runs at most `concurrency` inners at once', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inners = { x: cold('50ms (v|)', { v: 'x' }), y: cold('50ms (v|)', { v: 'y' }), z: cold('50ms (v|)', { v: 'z' }) }
      const source = cold('(xyz)', { x: 'x', y: 'y', z: 'z' })
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, (value) => inners[value as 'x' | 'y' | 'z'], { concurrency: 2 }))).toBe(
        '50ms (xy) 46ms z',
        { x: 'x', y: 'y', z: 'z' },
      )
      expectSubscriptions(inners.x.subscriptions).toBe('^ 49ms !')
      expectSubscriptions(inners.y.subscriptions).toBe('^ 49ms !')
      expectSubscriptions(inners.z.subscriptions).toBe('50ms ^ 49ms !')
    })
  })

  it('replaces the value of a key waiting for a slot without losing its place', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // concurrency 1: x1 runs; y1 then z1 wait; y2 replaces y1 and keeps y ahead of z.
      const source = cold('a 9ms e 9ms f 9ms g', values)
      const result = source.pipe(exhaustLatestByKey(keyOf, (value) => cold('50ms (v|)', { v: value }), { concurrency: 1 }))
      expectObservable(result).toBe('50ms a 49ms g 49ms f', values)
    })
  })

  it('completes after the source completed and every running and pending inner finished', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b 19ms |', values)
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, (value) => cold('50ms (v|)', { v: value })))).toBe('50ms a 49ms (b|)', values)
    })
  })

  it('completes at once when the source completes with nothing running', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('5ms |').pipe(exhaustLatestByKey(keyOf, (value: string) => of(value)))).toBe('5ms |')
    })
  })

  it('passes a source error on at once and tears down running inners', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('50ms (v|)', { v: 'x1' })
      const source = cold('a 9ms #', values, new Error('source'))
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, () => inner))).toBe('10ms #', undefined, new Error('source'))
      expectSubscriptions(inner.subscriptions).toBe('^ 9ms !')
    })
  })

  it('passes an inner error on at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms e', values)
      const project = (value: string): Observable<string> => (value === 'y1' ? cold('5ms #', undefined, new Error('inner')) : cold('50ms (v|)', { v: value }))
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, project))).toBe('15ms #', undefined, new Error('inner'))
    })
  })

  it('passes an error thrown by project on at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const project = (): Observable<string> => {
        throw new Error('project')
      }
      expectObservable(cold('3ms a', values).pipe(exhaustLatestByKey(keyOf, project))).toBe('3ms #', undefined, new Error('project'))
    })
  })

  it('unsubscribes running inners and drops pending values on teardown', () => {
    const started: string[] = []
    const counts: number[] = []
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('50ms (v|)', { v: 'x1' })
      const source = cold('a 9ms b', values)
      const project = (value: string): Observable<string> => {
        started.push(value)
        return inner
      }
      expectObservable(source.pipe(exhaustLatestByKey(keyOf, project, { onKeyCount: (n) => counts.push(n) })), '25ms !').toBe('')
      expectSubscriptions(inner.subscriptions).toBe('^ 24ms !')
    })
    expect(started).toEqual(['x1'])
    expect(counts).toEqual([1, 0])
  })

  it('holds no state for keys whose work finished', () => {
    const counts: number[] = []
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a 9ms e 9ms b 9ms f', values)
      const result = source.pipe(exhaustLatestByKey(keyOf, (value) => cold('20ms (v|)', { v: value }), { concurrency: 2, onKeyCount: (n) => counts.push(n) }))
      // x2 arrives while x1 runs (x1 ends at 20 ms, x2 runs 20-40); z1 waits at 30 ms until y1 ends.
      expectObservable(result).toBe('20ms a 9ms e 9ms b 9ms f', values)
    })
    expect(Math.max(...counts)).toBe(3)
    expect(counts.at(-1)).toBe(0)
  })

  it('handles inners that complete synchronously for many keys without deep recursion', async () => {
    const input = Array.from({ length: 20_000 }, (_, i) => `k${i % 5000}-${i}`)
    const output = await new Promise<string[]>((resolve, reject) =>
      from(input)
        .pipe(
          exhaustLatestByKey((value) => value.split('-')[0], (value) => of(value), { concurrency: 1 }),
          toArray(),
        )
        .subscribe({ next: resolve, error: reject }),
    )
    expect(output).toEqual(input)
  })

  it('rejects a bad concurrency with INVALID_OPTIONS', () => {
    expect(() => exhaustLatestByKey(keyOf, (value: string) => of(value), { concurrency: 0 })).toThrow(OperatorsError)
    expect(() => exhaustLatestByKey(keyOf, (value: string) => of(value), { concurrency: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })
})
