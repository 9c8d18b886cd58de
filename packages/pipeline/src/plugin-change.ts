import { DROP_KEY } from '@hotswap/operators'
import type { FileChange } from '@hotswap/watcher'
import type { ReloadCause } from './events.js'

/** The net kind of a plugin's burst of file changes (`renamed`: the plugin's own file or folder moved). */
export type PluginChangeKind = 'created' | 'modified' | 'deleted' | 'renamed'

/** The file changes of one plugin, folded over a burst (what a custom debounce window sees). */
export interface PluginChange {
  /** The plugin's file or directory, absolute. */
  readonly path: string
  /** The net kind: created+modified = created, deleted+created = modified, and so on. */
  readonly kind: PluginChangeKind
  /** For `renamed`: where the plugin's file or directory went. */
  readonly to?: string | undefined
  /** What made the pipeline look at the plugin. */
  readonly cause: ReloadCause
  /** The file changes that were folded in, oldest first (at most 50 kept). */
  readonly changes: readonly FileChange[]
  /** When the first change of the burst was seen (scheduler time, ms). */
  readonly firstAt: number
  /** When the last change of the burst was seen (scheduler time, ms). */
  readonly lastAt: number
  /** Set by `trigger()`: apply even when the content hash did not change. */
  readonly force?: boolean | undefined
}

const MAX_CHANGES = 50

/**
 * Folds two consecutive changes of one plugin: created+modified = created, created+deleted =
 * nothing (the key is dropped), deleted+created = modified, modified+deleted = deleted, a later
 * modification keeps the earlier kind, and a rename is kept as the newest word.
 * @internal
 */
export function foldPluginChange(previous: PluginChange, next: PluginChange): PluginChange | typeof DROP_KEY {
  const kind = next.kind === 'renamed' ? 'renamed' : foldKind(previous.kind, next.kind)
  if (kind === undefined) return DROP_KEY
  const changes = [...previous.changes, ...next.changes]
  return {
    path: previous.path,
    kind,
    ...(kind === 'renamed' ? { to: next.to ?? previous.to } : {}),
    cause: next.cause === 'change' ? previous.cause : next.cause,
    changes: changes.length > MAX_CHANGES ? changes.slice(-MAX_CHANGES) : changes,
    firstAt: previous.firstAt,
    lastAt: next.lastAt,
    ...(previous.force === true || next.force === true ? { force: true } : {}),
  }
}

function foldKind(a: PluginChangeKind, b: PluginChangeKind): PluginChangeKind | undefined {
  if (a === 'created') return b === 'deleted' ? undefined : 'created'
  if (a === 'deleted') return b === 'deleted' ? 'deleted' : 'modified'
  return b === 'deleted' ? 'deleted' : 'modified'
}

/** A change of nothing in particular (start, reconcile, trigger): look at the plugin again. @internal */
export function lookAgain(path: string, cause: ReloadCause, now: number, kind: PluginChangeKind = 'modified'): PluginChange {
  return { path, kind, cause, changes: [], firstAt: now, lastAt: now }
}
