import type { Worker } from 'node:worker_threads'

/**
 * Ending a worker thread that may not end. `worker.terminate()` stops JavaScript, but a thread
 * blocked in a system call (a plugin reading a FIFO no one writes, a hung network mount) or
 * stuck inside V8 never gets back to where termination takes effect, and its promise never
 * settles. Everything that waits for it would wait forever: a pool worker's other tenants, a
 * reload's disposal, `registry.close()`.
 */

/** How long a terminated thread may take to end before it is abandoned, in ms. */
export const ABANDON_AFTER_MS = 2000

let abandoned = 0

/**
 * Terminates `worker` and resolves once it has ended, or after {@link ABANDON_AFTER_MS} when it
 * has not: the thread is then abandoned (unref'd, counted by {@link abandonedThreads}) and
 * `onAbandon` runs, so that its owner treats it as ended.
 *
 * @internal
 */
export function endWorker(worker: Worker, onAbandon?: () => void): Promise<void> {
  // once per thread: a second caller (a dispose after a kill) waits for the same end
  let ending = endings.get(worker)
  if (ending === undefined) {
    ending = ended(worker, onAbandon)
    endings.set(worker, ending)
  }
  return ending
}

const endings = new WeakMap<Worker, Promise<void>>()

function ended(worker: Worker, onAbandon: (() => void) | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    let settled = false
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      abandoned++
      worker.unref()
      onAbandon?.()
      resolve()
    }, ABANDON_AFTER_MS)
    // not unref'd: while a thread is being ended the process waits for it (at most ABANDON_AFTER_MS), or
    // an exit racing a terminate would find the thread still there and wait for it forever
    const done = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve()
    }
    worker.terminate().then(done, done)
  })
}

/**
 * How many worker threads this process terminated and had to leave behind because they did not
 * end within 2 s of `terminate()` (blocked in a system call, such as a read of a FIFO no one
 * writes, or stuck inside V8). Such a thread keeps its core busy or blocked, and Node cannot exit
 * while one runs: `process.exit()` waits for every thread to end. A host that sees a count above
 * 0 when it stops has to end its process another way (the reference host kills itself after
 * saving every other plugin's state).
 *
 * @returns The count since the process started.
 * @example
 * ```ts
 * await registry.close()
 * if (abandonedThreads() > 0) process.kill(process.pid, 'SIGKILL') // exit() would wait for them forever
 * ```
 */
export function abandonedThreads(): number {
  return abandoned
}
