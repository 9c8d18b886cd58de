import { DROP_KEY } from '@hotswap/operators'
import type { FileChange } from '@hotswap/watcher'

/** The net kind of a plugin's burst of file changes. */
export type PluginChangeKind = 'created' | 'modified' | 'deleted'

/** The file changes of one plugin, folded over a burst (what a custom debounce window sees). */
export interface PluginChange {
  /** The plugin's root (its file or directory), absolute. */
  readonly root: string
  /** The net kind: created+modified = created, deleted+created = modified, and so on. */
  readonly kind: PluginChangeKind
  /** The file changes that were folded in, oldest first (at most 50 kept). */
  readonly changes: readonly FileChange[]
  /** When the first change of the burst was seen (ms since the epoch). */
  readonly firstAt: number
  /** When the last change of the burst was seen. */
  readonly lastAt: number
  /** Set by trigger(): apply even when the content hash did not change. */
  readonly force?: boolean
}

const MAX_CHANGES = 50

/**
 * Folds two consecutive changes of one plugin: created+modified = created, created+deleted =
 * nothing (the key is dropped), deleted+created = modified, modified+deleted = deleted, and a
 * later modification keeps the earlier kind. @internal
 */
export function foldPluginChange(previous: PluginChange, next: PluginChange): PluginChange | typeof DROP_KEY {
  const kind = foldKind(previous.kind, next.kind)
  if (kind === undefined) return DROP_KEY
  const changes = [...previous.changes, ...next.changes]
  return {
    root: previous.root,
    kind,
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

/** The plugin-level kind of one file change: only a change of the root itself creates or deletes the plugin. @internal */
export function kindFor(change: FileChange, root: string): PluginChangeKind {
  if (change.path !== root) return 'modified'
  if (change.kind === 'created') return 'created'
  if (change.kind === 'deleted') return 'deleted'
  return 'modified'
}
