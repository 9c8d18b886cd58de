import { VirtualTimeScheduler } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { Deadlines } from './deadlines.js'

/** Moves virtual time to `to` (ms), running what is due on the way. */
function advance(scheduler: VirtualTimeScheduler, to: number): void {
  scheduler.maxFrames = to
  scheduler.flush()
  scheduler.frame = Math.max(scheduler.frame, to) // time passes even where nothing was due
}

describe('Deadlines: one timer for many call limits of the same length', () => {
  it('fires each limit when its own time passes, oldest first, and never a cancelled one', () => {
    const scheduler = new VirtualTimeScheduler()
    const limits = new Deadlines(scheduler, 100, false)
    const fired: string[] = []
    limits.start(() => fired.push('a')) // due at 100
    advance(scheduler, 30)
    const b = limits.start(() => fired.push('b')) // due at 130
    advance(scheduler, 60)
    limits.start(() => fired.push('c')) // due at 160
    limits.cancel(b)
    advance(scheduler, 99)
    expect(fired).toEqual([])
    advance(scheduler, 100)
    expect(fired).toEqual(['a'])
    advance(scheduler, 159)
    expect(fired).toEqual(['a']) // b was cancelled; c is not due yet
    advance(scheduler, 160)
    expect(fired).toEqual(['a', 'c'])
    expect(scheduler.actions).toHaveLength(0) // nothing left: no timer armed
  })

  it('clear() ends every limit and its timer', () => {
    const scheduler = new VirtualTimeScheduler()
    const limits = new Deadlines(scheduler, 50, false)
    const fired: number[] = []
    limits.start(() => fired.push(1))
    limits.start(() => fired.push(2))
    limits.clear()
    expect(scheduler.actions).toHaveLength(0)
    advance(scheduler, 1000)
    expect(fired).toEqual([])
    limits.start(() => fired.push(3)) // usable again after a clear
    advance(scheduler, 1050)
    expect(fired).toEqual([3])
  })
})
