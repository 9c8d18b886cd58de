import { statSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { extname, join, relative, resolve, sep } from 'node:path'
import { PLUGIN_EXTENSIONS } from '@hotswap/registry'


const SIDECAR = '.plugin.json'

/**
 * Which plugin a path belongs to, as the absolute path of the plugin (its file or folder): a plugin file
 * directly in a watched directory, or the top-level directory (a directory plugin) that contains
 * the path. A `name.plugin.json` sidecar belongs to `name.wasm`. Returns undefined for a path
 * outside every watched directory, or a file directly in one that is not a plugin.
 * @internal
 */
export function pluginPathOf(path: string, dirs: readonly string[]): string | undefined {
  const abs = resolve(path)
  for (const dir of dirs) {
    const rel = relative(dir, abs)
    if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) continue
    const first = rel.split(sep)[0]!
    if (first !== rel) return join(dir, first)
    if (first.endsWith(SIDECAR)) return join(dir, first.slice(0, -SIDECAR.length) + '.wasm')
    if (PLUGIN_EXTENSIONS.includes(extname(first))) return join(dir, first)
    // A name without a plugin extension directly in the dir: a directory (plugin) or nothing.
    return join(dir, first)
  }
  return undefined
}

/**
 * Whether a path is a plugin now: a plugin file, or a directory with a `package.json`. A sync
 * stat, as `stampFiles` (artifact.ts) explains: it runs on every reload of a host that may be busy serving.
 *
 * @internal
 */
export function isPluginPath(path: string): boolean {
  try {
    const st = statSync(path, { throwIfNoEntry: false })
    if (st === undefined) return false
    if (st.isFile()) return PLUGIN_EXTENSIONS.includes(extname(path))
    if (st.isDirectory()) return statSync(join(path, 'package.json'), { throwIfNoEntry: false })?.isFile() === true
    return false
  } catch {
    return false
  }
}

/** Every plugin path in the watched directories, sorted. @internal */
export async function discoverPlugins(dirs: readonly string[]): Promise<string[]> {
  const found: string[] = []
  for (const dir of dirs) {
    const entries = await readdir(dir, { withFileTypes: true })
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.name.startsWith('.')) continue
      if (isPluginPath(path)) found.push(path)
    }
  }
  return found.sort()
}
