import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { hashFleetFiles } from './artifact.js'
import type { FleetArtifact } from './artifact.js'
import type { FleetTarget } from './fleet-host.js'

/**
 * The part of `@hotswap/registry`'s `PluginRegistry` that {@link registryTarget} uses
 * (structural, so the fleet does not depend on a registry version).
 */
export interface FleetRegistryLike {
  /** Whether a plugin is loaded. */
  has(id: string): boolean
  /** Loads a plugin from a path. */
  load(path: string): Promise<unknown>
  /** Points a loaded plugin at a new path without reloading it. */
  relocate(id: string, newPath: string): Promise<unknown>
  /** Reloads a plugin from its path through the registry's reload protocol. */
  reload(idOrPath: string): Promise<unknown>
  /** Drains, saves the state of and forgets a plugin. */
  unload(idOrPath: string): Promise<unknown>
  /** Where a loaded plugin is loaded from. */
  status(id: string): {
    /** The plugin's folder. */
    readonly path: string
  }
}

/** Options of {@link registryTarget}. */
export interface RegistryTargetOptions {
  /** Where artifacts are written: `<dir>/<id>/<hash>/`, one folder per version. */
  readonly dir: string
}

/**
 * A {@link FleetTarget} that writes each artifact into its own folder and loads it through a
 * plugin registry: the first version with `load`, later ones with `relocate` + `reload`, so
 * the registry's reload protocol (drain, state hand-over, switch) applies and no call fails;
 * `remove` unloads. For a host with a reload pipeline, put versions in service through the
 * pipeline instead (as `hotswap-host` does), so its events, retries and breaker apply.
 *
 * A version folder is written whole before it is used: files go to a temp folder that is
 * renamed into place. A folder already there is reused only if its files still hash to the
 * artifact's hash (a folder torn by a crash is replaced), so no fsync is needed: the bytes
 * of record are in Redis.
 *
 * @param registry - The host's registry (`createPluginRegistry()` of `@hotswap/registry`).
 * @param options - `dir`, the folder for artifact versions.
 * @returns The target to pass to `joinFleet`.
 * @example
 * ```ts
 * const target = registryTarget(createPluginRegistry(), { dir: '/var/lib/myhost/fleet' })
 * ```
 */
export function registryTarget(registry: FleetRegistryLike, options: RegistryTargetOptions): FleetTarget {
  const root = resolve(options.dir)
  return {
    async apply(artifact) {
      const folder = await writeArtifact(root, artifact)
      if (registry.has(artifact.id)) {
        await registry.relocate(artifact.id, folder)
        await registry.reload(artifact.id)
      } else {
        await registry.load(folder)
      }
    },
    async remove(id) {
      if (registry.has(id)) await registry.unload(id)
    },
    async current(id) {
      if (!registry.has(id)) return undefined
      const path = registry.status(id).path
      return dirname(path) === join(root, id) ? hashFleetFolder(path) : undefined
    },
  }
}

/**
 * Writes an artifact's files to `<root>/<id>/<hash>/` (whole, via a temp folder and a rename)
 * and returns the folder; an existing folder is kept when its files hash to `artifact.hash`.
 *
 * @param root - The fleet folder.
 * @param artifact - A verified artifact.
 * @returns The version folder.
 * @example
 * ```ts
 * const folder = await writeArtifact('/var/lib/myhost/fleet', artifact)
 * ```
 */
export async function writeArtifact(root: string, artifact: FleetArtifact): Promise<string> {
  const folder = join(root, artifact.id, artifact.hash)
  if (await exists(folder)) {
    if ((await hashFleetFolder(folder)) === artifact.hash) return folder
    await rename(folder, `${folder}.torn-${process.pid}-${Date.now()}`).catch(() => rm(folder, { recursive: true, force: true }))
  }
  const temp = join(root, artifact.id, `.${artifact.hash}.${process.pid}.${Date.now()}.tmp`)
  try {
    for (const [path, bytes] of Object.entries(artifact.files)) {
      const file = join(temp, path)
      if (!file.startsWith(temp + '/')) throw new Error(`file path ${path} leaves the artifact folder`)
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, bytes)
    }
    await rename(temp, folder).catch(async (error: unknown) => {
      if (!(await exists(folder))) throw error // another writer of the same hash won: fine
    })
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
  return folder
}

/**
 * The {@link FleetArtifact.hash} of the files in a folder as they are on disk (every file,
 * `/`-separated relative paths), to check a written version before it is used.
 *
 * @param folder - a version folder
 * @returns the FNV-1a 64 hash, or `undefined` when the folder cannot be read
 * @example
 * ```ts
 * if ((await hashFleetFolder(folder)) !== artifact.hash) throw new Error('torn')
 * ```
 */
export async function hashFleetFolder(folder: string): Promise<string | undefined> {
  try {
    const files: Record<string, Uint8Array> = {}
    for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const path = join(entry.parentPath, entry.name)
      files[relative(folder, path).split(sep).join('/')] = new Uint8Array(await readFile(path))
    }
    return hashFleetFiles(files)
  } catch {
    return undefined
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}
