import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
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
}

/** Options of {@link registryTarget}. */
export interface RegistryTargetOptions {
  /** Where artifacts are written: `<dir>/<id>/<hash>/`, one folder per version. */
  readonly dir: string
}

/**
 * A {@link FleetTarget} that writes each artifact into its own folder and loads it through a
 * plugin registry: the first version with `load`, later ones with `relocate` + `reload`, so
 * the registry's reload protocol (drain, state hand-over, switch) applies and no call fails.
 *
 * A version folder is written whole before it is used: files go to a temp folder that is
 * fsynced and renamed into place; a folder already there (same hash) is reused.
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
  }
}

/**
 * Writes an artifact's files to `<root>/<id>/<hash>/` (whole, fsynced) and returns the folder.
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
  if (await exists(folder)) return folder
  const temp = join(root, artifact.id, `.${artifact.hash}.${process.pid}.${Date.now()}.tmp`)
  try {
    for (const [path, bytes] of Object.entries(artifact.files)) {
      const file = join(temp, path)
      if (!file.startsWith(temp + '/')) throw new Error(`file path ${path} leaves the artifact folder`)
      await mkdir(dirname(file), { recursive: true })
      const handle = await open(file, 'w', 0o644)
      try {
        await handle.writeFile(bytes)
        await handle.datasync()
      } finally {
        await handle.close()
      }
    }
    await rename(temp, folder).catch(async (error: unknown) => {
      if (!(await exists(folder))) throw error // another writer of the same hash won: fine
    })
  } finally {
    await rm(temp, { recursive: true, force: true })
  }
  return folder
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}
