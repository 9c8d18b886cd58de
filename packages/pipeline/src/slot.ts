import type { CircuitBreaker, CircuitState } from '@hotswap/operators'
import { MetricsRecorder } from './metrics.js'
import type { PluginChange } from './plugin-change.js'
import type { FileStamp } from './settle.js'

/**
 * Everything the pipeline knows about one plugin path, in one record (what {@link decide}
 * reads): the id once loaded, the hash serving and the hash that failed, the breaker's state
 * and the change count.
 *
 * @example
 * ```ts
 * const slot: PluginSlot = { path: '/p/a.mjs', id: 'a', alive: true, liveHash: 'a1b2c3d4e5f60718', failedHash: undefined,
 *   failedDeterministic: false, lastError: undefined, breaker: { state: 'closed', trialAt: undefined }, seq: 1 }
 * ```
 */
export interface PluginSlot {
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** The registry id, while a version of it is loaded. */
  readonly id: string | undefined
  /** Whether a version serves (false after a worker crash until a reload). */
  readonly alive: boolean
  /** FNV-1a 64 of the artifact serving. */
  readonly liveHash: string | undefined
  /** The hash of the last artifact that failed, until one succeeds. */
  readonly failedHash: string | undefined
  /** Whether that failure cannot heal without new bytes (syntax, shape, name, invalid config). */
  readonly failedDeterministic: boolean
  /** The last failure, until a success. */
  readonly lastError: Error | undefined
  /** The plugin's breaker. */
  readonly breaker: {
    /** Closed (attempts go through), open (refused) or half-open (one trial runs). */
    readonly state: CircuitState
    /** Scheduler time from which an open breaker lets a trial through. */
    readonly trialAt: number | undefined
  }
  /** Bumped on every change routed to the slot; a preparation that sees a newer one is superseded. */
  readonly seq: number
}

/** The mutable record behind a {@link PluginSlot}. @internal */
export class Slot implements PluginSlot {
  readonly path: string
  id: string | undefined = undefined
  alive = false
  liveHash: string | undefined = undefined
  failedHash: string | undefined = undefined
  failedDeterministic = false
  lastError: Error | undefined = undefined
  pending: PluginChange | undefined = undefined
  /** Inputs of the last artifact built (file -> its own hash). */
  inputs: ReadonlyMap<string, string> = new Map()
  /** The stat stamp of each input when it was last read. */
  stamps: Map<string, FileStamp> = new Map()
  seq = 0
  circuit: CircuitBreaker | undefined = undefined
  metrics: MetricsRecorder = new MetricsRecorder()

  constructor(path: string) {
    this.path = path
  }

  get breaker(): { readonly state: CircuitState; readonly trialAt: number | undefined } {
    if (this.circuit === undefined) return { state: 'closed', trialAt: undefined }
    const s = this.circuit.snapshot()
    return { state: s.state, trialAt: s.trialAllowedAt }
  }
}

/**
 * The slots by path, the path of each loaded id, and which slots read each input file (the
 * dependency graph: a change to a file reloads exactly the plugins whose artifacts contain it).
 * @internal
 */
export class SlotTable {
  readonly #byPath = new Map<string, Slot>()
  readonly #pathOfId = new Map<string, string>()
  readonly #readers = new Map<string, Set<string>>()

  /** The slot of a path, created on first use. */
  slot(path: string): Slot {
    let slot = this.#byPath.get(path)
    if (slot === undefined) {
      slot = new Slot(path)
      this.#byPath.set(path, slot)
    }
    return slot
  }

  /** The slot of a path, if there is one. */
  find(path: string): Slot | undefined {
    return this.#byPath.get(path)
  }

  /** The slot serving an id. */
  byId(id: string): Slot | undefined {
    const path = this.#pathOfId.get(id)
    return path === undefined ? undefined : this.#byPath.get(path)
  }

  /** Every slot, by path. */
  all(): Slot[] {
    return [...this.#byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }

  /** The paths of the plugins whose last artifact read this file. */
  readersOf(file: string): readonly string[] {
    const readers = this.#readers.get(file)
    return readers === undefined ? [] : [...readers]
  }

  /** Records the id now serving at a slot (or none). */
  setId(slot: Slot, id: string | undefined): void {
    if (slot.id !== undefined && this.#pathOfId.get(slot.id) === slot.path) this.#pathOfId.delete(slot.id)
    slot.id = id
    if (id !== undefined) this.#pathOfId.set(id, slot.path)
  }

  /** Records the inputs of the artifact a slot built, replacing the previous ones in the graph. */
  setInputs(slot: Slot, inputs: ReadonlyMap<string, string>, stamps: Map<string, FileStamp>): void {
    for (const file of slot.inputs.keys()) this.#unread(file, slot.path)
    slot.inputs = inputs
    slot.stamps = stamps
    for (const file of inputs.keys()) {
      let readers = this.#readers.get(file)
      if (readers === undefined) this.#readers.set(file, (readers = new Set()))
      readers.add(slot.path)
    }
  }

  /** Moves a slot to a new path (a rename), keeping its record. */
  move(slot: Slot, to: string): Slot {
    const moved = this.slot(to)
    moved.alive = slot.alive
    moved.liveHash = slot.liveHash
    moved.circuit = slot.circuit
    moved.metrics = slot.metrics
    this.setId(moved, slot.id)
    this.setInputs(moved, new Map([...slot.inputs].map(([file, hash]) => [file.startsWith(slot.path) ? to + file.slice(slot.path.length) : file, hash])), new Map())
    slot.circuit = undefined
    this.drop(slot)
    return moved
  }

  /** Forgets a slot that has nothing loaded, failed or pending (bounded memory). */
  drop(slot: Slot): void {
    for (const file of slot.inputs.keys()) this.#unread(file, slot.path)
    if (slot.id !== undefined && this.#pathOfId.get(slot.id) === slot.path) this.#pathOfId.delete(slot.id)
    slot.circuit?.close()
    this.#byPath.delete(slot.path)
  }

  #unread(file: string, path: string): void {
    const readers = this.#readers.get(file)
    if (readers === undefined) return
    readers.delete(path)
    if (readers.size === 0) this.#readers.delete(file)
  }
}
