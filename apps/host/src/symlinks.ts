import { watch, type FSWatcher } from 'node:fs'
import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, sep } from 'node:path'
import type { ReloadPipeline } from '@hotswap/pipeline'

/** Options of {@link followSymlinks}. */
export interface SymlinkFollowerOptions {
  /** Changes to one plugin closer together than this make one reload. Default 30. */
  readonly debounceMs?: number
  /** Told when a watch cannot be set up or a triggered reload is refused (a log line). */
  readonly onProblem?: (message: string) => void
}

/** What {@link followSymlinks} returns. */
export interface SymlinkFollower {
  /** Stops every watch. */
  close(): void
}

type Pipeline = Pick<ReloadPipeline, 'trigger' | 'events$'>

/**
 * Follows what the pipeline's watcher cannot see through symbolic links, so that those changes
 * reload at once instead of at the next periodic rescan:
 * - a plugin that is a symlink (`plugins/links.mjs -> ~/src/links.mjs`, or a directory): its
 *   target is watched (the target's folder for a file, so editors' save-by-rename is seen);
 * - a watched directory that is itself a symlink (`plugins -> releases/v2`): the target is
 *   watched (recursively), and the link itself, so a repointed link reloads every plugin of
 *   the old and the new target.
 * A change there asks the pipeline to look at that plugin again (`trigger(path)`: it reloads,
 * loads or unloads as the disk says). The set of symlinked plugins is read again after every
 * load, reload and unload in a directory.
 *
 * @param pipeline - the pipeline to trigger
 * @param dirs - its plugin directories (absolute, as given to it)
 * @param options - debounce and where problems are said
 * @returns the follower, once every watch is set up
 * @internal
 */
export async function followSymlinks(pipeline: Pipeline, dirs: readonly string[], options: SymlinkFollowerOptions = {}): Promise<SymlinkFollower> {
  const debounceMs = options.debounceMs ?? 30
  const problem = options.onProblem ?? (() => undefined)
  const timers = new Map<string, NodeJS.Timeout>()
  let closed = false

  const poke = (pluginPath: string): void => {
    if (closed) return
    clearTimeout(timers.get(pluginPath))
    timers.set(
      pluginPath,
      setTimeout(() => {
        timers.delete(pluginPath)
        if (closed) return
        pipeline.trigger(pluginPath).catch((error: unknown) => {
          // NOT_FOUND: not a plugin (a README next to them); anything else is said.
          if ((error as { code?: unknown }).code !== 'NOT_FOUND' && (error as { code?: unknown }).code !== 'CLOSED') problem(`symlinked ${pluginPath}: ${(error as Error).message}`)
        })
      }, debounceMs).unref(),
    )
  }
  const watchOr = (path: string, recursive: boolean, listener: (file: string | null) => void): FSWatcher | undefined => {
    try {
      const w = watch(path, { recursive, persistent: false }, (_event, file) => listener(file === null ? null : String(file)))
      w.on('error', (error) => problem(`cannot follow ${path}: ${error.message}`))
      return w
    } catch (error) {
      problem(`cannot follow ${path}: ${(error as Error).message}`)
      return undefined
    }
  }

  // ---- plugins that are symlinks: path -> the watch on its target
  const entries = new Map<string, { target: string; watcher: FSWatcher | undefined }>()
  const scanDir = async (dir: string): Promise<void> => {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      return
    }
    const seen = new Set<string>()
    for (const name of names) {
      if (name.startsWith('.')) continue
      const path = join(dir, name)
      const info = await lstat(path).catch(() => undefined)
      if (info?.isSymbolicLink() !== true) continue
      const target = await realpath(path).catch(() => undefined)
      if (target === undefined) continue
      seen.add(path)
      const known = entries.get(path)
      if (known?.target === target) continue
      known?.watcher?.close()
      const isDir = (await stat(target).catch(() => undefined))?.isDirectory() === true
      const watcher = isDir ? watchOr(target, true, () => poke(path)) : watchOr(dirname(target), false, (file) => (file === null || file === basename(target) ? poke(path) : undefined))
      if (closed) watcher?.close()
      else entries.set(path, { target, watcher })
    }
    for (const [path, known] of entries) {
      if (dirname(path) === dir && !seen.has(path)) {
        known.watcher?.close()
        entries.delete(path)
      }
    }
  }

  // ---- watched directories that are symlinks: the target (recursive) and the link itself
  const linked = new Map<string, { real: string; target: FSWatcher | undefined; link: FSWatcher | undefined }>()
  const pluginOf = (dir: string, real: string, file: string | null): string | undefined => {
    if (file === null) return undefined
    const first = relative(real, join(real, file)).split(sep)[0]
    return first === undefined || first === '' || first.startsWith('.') || first === '..' ? undefined : join(dir, first)
  }
  const watchLinkedDir = async (dir: string): Promise<void> => {
    const real = await realpath(dir).catch(() => undefined)
    const known = linked.get(dir)
    if (real === undefined || known?.real === real) return
    known?.target?.close()
    const before = known === undefined ? [] : await readdir(known.real).catch(() => [] as string[])
    const target = watchOr(real, true, (file) => {
      const path = pluginOf(dir, real, file)
      if (path !== undefined) poke(path)
    })
    const link = known?.link ?? watchOr(dirname(dir), false, (file) => (file === null || file === basename(dir) ? void watchLinkedDir(dir) : undefined))
    if (closed) {
      target?.close()
      link?.close()
      return
    }
    linked.set(dir, { real, target, link })
    if (known !== undefined) {
      // Repointed: every plugin of the old and the new target is looked at again.
      const after = await readdir(real).catch(() => [] as string[])
      for (const name of new Set([...before, ...after])) if (!name.startsWith('.')) poke(join(dir, name))
      await scanDir(dir)
    }
  }

  for (const dir of dirs) {
    if ((await lstat(dir).catch(() => undefined))?.isSymbolicLink() === true) await watchLinkedDir(dir)
    await scanDir(dir)
  }
  const sub = pipeline.events$.subscribe((event) => {
    if (event.type !== 'reload') return
    const dir = dirs.find((d) => dirname(event.path) === d)
    if (dir !== undefined) void scanDir(dir)
  })

  return {
    close() {
      closed = true
      sub.unsubscribe()
      for (const t of timers.values()) clearTimeout(t)
      timers.clear()
      for (const e of entries.values()) e.watcher?.close()
      entries.clear()
      for (const l of linked.values()) {
        l.target?.close()
        l.link?.close()
      }
      linked.clear()
    },
  }
}
