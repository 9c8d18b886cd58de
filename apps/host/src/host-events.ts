/**
 * A fallback of the host's state store, said out loud as a journal event (SSE name = `type`):
 * - `stateRefused`: the stored snapshot is of a newer format; the plugin starts without it and
 *   this host never saves over it;
 * - `stateNotSaved`: a save was skipped for that reason (what was refused stays on disk);
 * - `stateCorrupt`: a corrupt snapshot was moved aside and the newest good one used;
 * - `stateUnreadable`: the store could not be read; the plugin starts without state.
 */
export interface StateFallbackEvent {
  /** What happened. */
  readonly type: 'stateRefused' | 'stateNotSaved' | 'stateCorrupt' | 'stateUnreadable'
  /** The plugin id. */
  readonly id: string
  /** The line the host prints for it. */
  readonly message: string
  /** Where a corrupt snapshot was moved, when it was. */
  readonly movedTo?: string | undefined
  /** When (ms since the epoch). */
  readonly at: number
}

/** The events the host itself adds to its journal, besides the pipeline's. */
export type HostEvent = StateFallbackEvent

const HOST_EVENT_TYPES: ReadonlySet<string> = new Set(['stateRefused', 'stateNotSaved', 'stateCorrupt', 'stateUnreadable'])

/**
 * Whether a journal event is one of the host's own.
 *
 * @param event - a journal entry's event
 * @returns true for a {@link HostEvent}
 * @internal
 */
export function isHostEvent(event: { readonly type: string }): event is HostEvent {
  return HOST_EVENT_TYPES.has(event.type)
}
