import { describe, expect, it } from 'vitest'
import type { Observable } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import type { FileChange, WatchOptions } from '@hotswap/watcher'
import { watcherChanges } from './change-source.js'
import { Policy, type ReloadPolicy } from './policy.js'
import { scheduledTicks } from './schedule.js'

const testScheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

const policies: Record<string, ReloadPolicy> = {
  s: Policy.Scheduled(100),
  t: Policy.Scheduled(30),
  o: Policy.OnChange,
  g: Policy.OnSignal,
  d: Policy.Disabled,
}

describe('the Scheduled policy timer', () => {
  it('ticks every intervalMs while the policy is Scheduled', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      expectObservable(scheduledTicks(cold('s', policies), ts), '^ 350ms !').toBe('100ms a 99ms b 99ms c', { a: 0, b: 1, c: 2 })
    })
  })

  it('never ticks under OnChange, OnSignal or Disabled', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      expectObservable(scheduledTicks(cold('o 99ms g 99ms d', policies), ts), '^ 1000ms !').toBe('')
    })
  })

  it('stops at a change to another policy and starts again, from the change, when Scheduled comes back', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      // Scheduled(100) at 0 -> tick at 100; OnSignal at 150 -> no tick at 200; Scheduled(100) at 250 -> ticks at 350, 450
      expectObservable(scheduledTicks(cold('s 149ms g 99ms s', policies), ts), '^ 500ms !').toBe('100ms a 249ms a 99ms b', { a: 0, b: 1 })
    })
  })

  it('restarts the count on a new interval (the next tick is intervalMs after the change, not after the last tick)', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      // Scheduled(100) at 0; Scheduled(30) at 50 -> ticks at 80, 110, 140
      expectObservable(scheduledTicks(cold('s 49ms t', policies), ts), '^ 150ms !').toBe('80ms a 29ms b 29ms c', { a: 0, b: 1, c: 2 })
    })
  })
})

describe('the watcher reconnect (retryBackoff)', () => {
  const change = (path: string): FileChange => ({ kind: 'modified', path, root: '/plugins' })
  const values = { a: change('/plugins/a.mjs'), b: change('/plugins/b.mjs') }

  it('watches again after an error with a growing backoff (250, 500 ms...), and starts the backoff over once changes flow', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      // 1st watch fails at once; 2nd (at 250) fails at once; 3rd (at 750) delivers a then fails
      // 100 ms later (850); changes flowed, so the next wait is 250 again: 4th watch at 1100.
      const attempts = [cold<FileChange>('#'), cold<FileChange>('#'), cold('a 99ms #', values), cold('b', values)]
      const errors: number[] = []
      const seen: WatchOptions[] = []
      let n = 0
      const watch = (_dirs: readonly string[], options: WatchOptions): Observable<FileChange> => {
        seen.push(options)
        return attempts[n++]!
      }
      const out$ = watcherChanges({ dirs: ['/plugins'], scheduler: ts, onError: () => errors.push(ts.now()), watch })
      expectObservable(out$).toBe('750ms a 349ms b', values)
      ts.flush()
      expect(errors).toEqual([0, 250, 850])
      expect(n).toBe(4)
      expect(seen.every((options) => options.scheduler === ts)).toBe(true)
      expectSubscriptions(attempts[3]!.subscriptions).toBe('1100ms ^')
    })
  })

  it('caps the wait at 30 s however long the watcher keeps failing', () => {
    const ts = testScheduler()
    ts.run(({ cold }) => {
      const starts: number[] = []
      const watch = (): Observable<FileChange> => {
        starts.push(ts.now())
        return cold<FileChange>('#')
      }
      const sub = watcherChanges({ dirs: ['/plugins'], scheduler: ts, onError: () => undefined, watch }).subscribe()
      ts.schedule(() => sub.unsubscribe(), 200_000)
      ts.flush()
      const waits = starts.slice(1).map((at, i) => at - starts[i]!)
      expect(waits.slice(0, 8)).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000])
      expect(Math.max(...waits)).toBe(30_000)
    })
  })

  it('is shared: two subscribers, one watcher', () => {
    const ts = testScheduler()
    ts.run(({ cold, expectObservable }) => {
      let n = 0
      const source = cold('a 9ms b', values)
      const watch = (): Observable<FileChange> => {
        n++
        return source
      }
      const out$ = watcherChanges({ dirs: ['/plugins'], scheduler: ts, onError: () => undefined, watch })
      expectObservable(out$).toBe('a 9ms b', values)
      expectObservable(out$).toBe('a 9ms b', values)
      ts.flush()
      expect(n).toBe(1)
    })
  })
})
