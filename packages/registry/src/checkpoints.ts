import { createHash } from 'node:crypto'
import type { SchedulerLike, Subscription } from 'rxjs'
import { every } from './clock.js'

/**
 * Runs `round` every `ms` on `scheduler` (the registry's periodic state checkpoints): a round
 * still running when the next is due is not overlapped, the next one is skipped. The timer does
 * not keep the process alive; unsubscribe to stop.
 *
 * @internal
 */
export function checkpointEvery(scheduler: SchedulerLike, ms: number, round: () => Promise<void>): Subscription {
  let running = false
  return every(
    scheduler,
    ms,
    () => {
      if (running) return
      running = true
      void round().finally(() => {
        running = false
      })
    },
    true,
  )
}

/**
 * A short digest of a state snapshot's data, so that a checkpoint writes only state that
 * changed since the last one (the data is JSON already; its text is hashed).
 *
 * @internal
 */
export function stateDigest(data: unknown): string {
  return createHash('sha1').update(JSON.stringify(data)).digest('base64')
}

/** Runs `work` over `items`, at most `concurrency` at a time, in order. @internal */
export async function inBatches<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) await Promise.all(items.slice(i, i + concurrency).map(work))
}
