import type { PipelineEvent, ReloadPipeline } from '@hotswap/pipeline'
import { eventName, toJson } from './serialize.js'
import type { HostEvent } from './host-events.js'

/** One pipeline event as the host keeps and streams it. */
export interface JournalEntry {
  /** Increasing from 1: the SSE `id`, so a client can resume with `since`. */
  readonly seq: number
  /** The SSE event name (`reload`, `pending`, `registry.loaded`, ...). */
  readonly name: string
  /** The event as JSON, with `seq` added. */
  readonly data: Readonly<Record<string, unknown>>
  /** The original event: the pipeline's, or one the host added ({@link EventJournal.note}). */
  readonly event: PipelineEvent | HostEvent
}

/** Options of {@link EventJournal}. */
export interface EventJournalOptions {
  /** Events kept for clients that resume (heap samples, `registry.memorySampled`, are passed on but not kept). Default 500. */
  readonly keepEvents?: number
  /** Reloads kept for the timeline. Default 200. */
  readonly keepReloads?: number
}

/**
 * Numbers every pipeline event, keeps the recent ones (for `GET /api/reloads` and for event
 * stream clients that resume) and fans them out to listeners (terminal, logs, metrics, SSE).
 * Listeners run synchronously in event order; a throwing listener is dropped from that event only.
 *
 * @example
 * ```ts
 * const journal = new EventJournal(pipeline)
 * const off = journal.subscribe((entry) => console.log(entry.seq, entry.name))
 * ```
 */
export class EventJournal {
  readonly #events: JournalEntry[] = []
  readonly #reloads: JournalEntry[] = []
  readonly #listeners = new Set<(entry: JournalEntry) => void>()
  readonly #keepEvents: number
  readonly #keepReloads: number
  readonly #unsubscribe: () => void
  /** The version each path's last failed attempt tried (from the registry's `failed` event), until its reload result. */
  readonly #attempted = new Map<string, string>()
  #seq = 0

  /**
   * @param pipeline - the pipeline whose `events$` is recorded from now on
   * @param options - how much to keep
   */
  constructor(pipeline: Pick<ReloadPipeline, 'events$'>, options: EventJournalOptions = {}) {
    this.#keepEvents = options.keepEvents ?? 500
    this.#keepReloads = options.keepReloads ?? 200
    const sub = pipeline.events$.subscribe((event) => this.#record(event))
    this.#unsubscribe = () => sub.unsubscribe()
  }

  /** The last sequence number handed out (0 before the first event). */
  get seq(): number {
    return this.#seq
  }

  /**
   * Listens to every later event.
   *
   * @param listener - called with each entry, in order
   * @returns a function that stops listening
   */
  subscribe(listener: (entry: JournalEntry) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * The kept events after a sequence number (all kept ones for 0).
   *
   * @param since - the last `seq` the caller has
   * @returns the entries, oldest first
   */
  since(since: number): readonly JournalEntry[] {
    return this.#events.filter((e) => e.seq > since)
  }

  /**
   * The kept reload results and rollbacks, oldest first, optionally of one plugin only.
   *
   * @param id - a plugin id to filter on
   * @returns the reload entries
   */
  reloads(id?: string): readonly JournalEntry[] {
    return id === undefined ? [...this.#reloads] : this.#reloads.filter((e) => e.data.id === id || (e.event.type === 'registry' && e.event.event.type === 'rolledBack' && e.event.event.id === id))
  }

  /**
   * Records an event of the host itself (a state-store fallback), numbered and streamed like
   * the pipeline's.
   *
   * @param event - the event
   */
  note(event: HostEvent): void {
    this.#record(event)
  }

  /** Stops recording. */
  close(): void {
    this.#unsubscribe()
    this.#listeners.clear()
  }

  #record(event: PipelineEvent | HostEvent): void {
    const seq = ++this.#seq
    const data: Record<string, unknown> = { seq, ...(toJson(event) as Record<string, unknown>) }
    // A failed reload result names the version it tried (`attempted`), which only the
    // registry's failed event before it knows; null when the module never got that far.
    if (event.type === 'registry' && event.event.type === 'failed') {
      if (event.event.attempted !== undefined) this.#attempted.set(event.event.path, event.event.attempted)
      else this.#attempted.delete(event.event.path)
    } else if (event.type === 'reload') {
      if (event.outcome === 'failed') data.attempted = this.#attempted.get(event.path) ?? null
      this.#attempted.delete(event.path)
    }
    const entry: JournalEntry = { seq, name: event.type === 'registry' ? eventName(event) : event.type, data, event }
    // Heap samples (one per pool plugin every sampling interval) go to the listeners but are not
    // kept for resuming clients: a thousand plugins would push every other event out of the window.
    if (!(event.type === 'registry' && event.event.type === 'memorySampled')) push(this.#events, entry, this.#keepEvents)
    // The timeline: reloads and rollbacks.
    if (event.type === 'reload' || (event.type === 'registry' && event.event.type === 'rolledBack')) push(this.#reloads, entry, this.#keepReloads)
    for (const listener of [...this.#listeners]) {
      try {
        listener(entry)
      } catch {
        // one broken listener (a closed socket) must not stop the others
      }
    }
  }
}

function push<T>(list: T[], item: T, keep: number): void {
  list.push(item)
  if (list.length > keep) list.splice(0, list.length - keep)
}
