import type { PipelinePluginStatus } from '@hotswap/pipeline'
import type { EventJournal } from './journal.js'

/**
 * Tells when the version a plugin serves is not the one its file on disk holds, in words:
 * changes not applied yet (a policy, hot reload disabled), a new version that failed (the old
 * one keeps serving), or a rollback (the previous version serves; the file is newer). The
 * rollback is remembered from the journal until the plugin next reloads successfully.
 *
 * @internal
 */
export class DriftTracker {
  readonly #rolledBack = new Map<string, string>()
  readonly #off: () => void

  /** @param journal - where rollbacks and reloads are seen */
  constructor(journal: EventJournal) {
    this.#off = journal.subscribe(({ event }) => {
      if (event.type === 'registry' && event.event.type === 'rolledBack') this.#rolledBack.set(event.event.id, event.event.to)
      else if (event.type === 'reload' && event.outcome === 'success' && event.id !== undefined) this.#rolledBack.delete(event.id)
    })
  }

  /**
   * Why the plugin serves something else than its file, if it does.
   *
   * @param p - the plugin's status
   * @returns a sentence, or undefined when serving matches the disk
   */
  reason(p: PipelinePluginStatus): string | undefined {
    const id = p.plugin?.id
    const pending = p.pending?.length ?? 0
    if (pending > 0) return `${pending} change${pending === 1 ? '' : 's'} on disk not applied yet`
    if (id !== undefined && this.#rolledBack.has(id)) return `rolled back to ${this.#rolledBack.get(id)!}; the file on disk is newer`
    if (p.lastError !== undefined && p.plugin?.alive === true) return `the file on disk failed to load (${p.lastError.message}); ${p.plugin.version} keeps serving`
    return undefined
  }

  /** Stops listening. */
  close(): void {
    this.#off()
  }
}
