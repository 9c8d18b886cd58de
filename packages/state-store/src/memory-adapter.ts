import type { AdapterContext, StateAdapter } from './adapter.js'
import { StateStoreError } from './errors.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * Creates an adapter that keeps snapshots in this process's memory: fast, nothing survives
 * a restart. Useful for tests and for hosts that only need state across reloads.
 *
 * Snapshots are deep-copied on the way in and out (`structuredClone`). Its methods reject with
 * `CLOSED` before `open` and after `close`.
 *
 * @returns A {@link StateAdapter} to pass to `createStateStore`.
 * @example
 * ```ts
 * const store = await createStateStore({ adapter: memoryAdapter() })
 * ```
 */
export function memoryAdapter(): StateAdapter {
  return new MemoryAdapter()
}

class MemoryAdapter implements StateAdapter {
  readonly name = 'memory'
  #stacks = new Map<string, StateSnapshot[]>()
  #state: 'new' | 'open' | 'closed' = 'new'

  open(_context: AdapterContext): Promise<void> {
    if (this.#state !== 'new') return Promise.reject(closed('open() can only be called once'))
    this.#state = 'open'
    return Promise.resolve()
  }

  put(snapshot: StateSnapshot, keep: number): Promise<void> {
    return this.#run(() => {
      const stack = this.#stacks.get(snapshot.pluginId) ?? []
      stack.push(structuredClone(snapshot))
      if (stack.length > keep) stack.splice(0, stack.length - Math.max(1, keep))
      this.#stacks.set(snapshot.pluginId, stack)
    })
  }

  list(pluginId: string, limit: number): Promise<StateSnapshot[]> {
    return this.#run(() => {
      const stack = this.#stacks.get(pluginId) ?? []
      const out: StateSnapshot[] = []
      for (let i = stack.length - 1; i >= 0 && out.length < limit; i--) out.push(structuredClone(stack[i]!))
      return out
    })
  }

  pop(pluginId: string): Promise<boolean> {
    return this.#run(() => {
      const stack = this.#stacks.get(pluginId)
      if (stack === undefined || stack.length === 0) return false
      stack.pop()
      if (stack.length === 0) this.#stacks.delete(pluginId)
      return true
    })
  }

  remove(pluginId: string): Promise<void> {
    return this.#run(() => {
      this.#stacks.delete(pluginId)
    })
  }

  ids(): Promise<string[]> {
    return this.#run(() => [...this.#stacks.keys()].sort())
  }

  close(): Promise<void> {
    this.#state = 'closed'
    this.#stacks.clear()
    return Promise.resolve()
  }

  #run<R>(work: () => R): Promise<R> {
    if (this.#state !== 'open') {
      return Promise.reject(closed(this.#state === 'new' ? 'the adapter is not open yet' : 'the adapter is closed'))
    }
    try {
      return Promise.resolve(work())
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }
}

function closed(message: string): StateStoreError {
  return new StateStoreError('CLOSED', `memory adapter: ${message}`)
}
