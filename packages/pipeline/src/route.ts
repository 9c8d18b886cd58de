import type { FileChange } from '@hotswap/watcher'
import type { PluginChange, PluginChangeKind } from './plugin-change.js'
import { pluginPathOf } from './plugin-layout.js'
import type { SlotTable } from './slot.js'

/**
 * Which plugins a file change concerns, as one {@link PluginChange} each:
 * - every plugin whose last artifact read the file (the dependency graph: a shared helper
 *   edited reaches each of its importers, once);
 * - the plugin the file's place makes it part of (a plugin file in a watched directory, or a
 *   file of a top-level directory plugin), unless that plugin was built and the file is not
 *   one of its inputs (an edited README next to a plugin reloads nothing; a new file is
 *   looked at, and skipped as `unchanged` when the plugin does not import it);
 * - a rename of a loaded plugin's own file or folder becomes one `renamed` change of it.
 * Pure: no I/O, `now` from the caller.
 *
 * @internal
 */
export function routeFileChange(change: FileChange, dirs: readonly string[], slots: SlotTable, now: number): PluginChange[] {
  const out = new Map<string, PluginChange>()
  const add = (path: string, kind: PluginChangeKind, to?: string): void => {
    if (!out.has(path)) out.set(path, { path, kind, ...(to !== undefined ? { to } : {}), cause: 'change', changes: [change], firstAt: now, lastAt: now })
  }
  const home = pluginPathOf(change.path, dirs)
  if (change.kind === 'renamed' && change.oldPath !== undefined) {
    const oldHome = pluginPathOf(change.oldPath, dirs)
    if (oldHome !== undefined && oldHome !== home) {
      const moved = slots.find(oldHome)
      if (moved?.id !== undefined && home !== undefined && change.oldPath === oldHome + change.path.slice(home.length)) add(oldHome, 'renamed', home)
      else {
        add(oldHome, oldHome === change.oldPath ? 'deleted' : 'modified')
        if (home !== undefined) add(home, home === change.path ? 'created' : 'modified')
      }
      return [...out.values()]
    }
    for (const reader of slots.readersOf(change.oldPath)) add(reader, 'modified')
  }
  const readers = slots.readersOf(change.path)
  for (const reader of readers) add(reader, 'modified')
  // A shared input in a folder that is no plugin (plugins/lib/): its importers are enough.
  if (home !== undefined && !(readers.length > 0 && slots.find(home) === undefined)) {
    const slot = slots.find(home)
    const built = slot !== undefined && slot.inputs.size > 0 && slot.lastError === undefined
    const own = home === change.path
    if (own || !built || change.kind === 'created' || slot.inputs.has(change.path) || (change.oldPath !== undefined && slot.inputs.has(change.oldPath))) {
      add(home, own ? kindOf(change) : 'modified')
    }
  }
  return [...out.values()]
}

function kindOf(change: FileChange): PluginChangeKind {
  if (change.kind === 'created') return 'created'
  if (change.kind === 'deleted') return 'deleted'
  return 'modified'
}
