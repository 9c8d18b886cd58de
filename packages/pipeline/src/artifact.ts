import { readFile, stat } from 'node:fs/promises'
import { relative } from 'node:path'
import { createFnv1a64, fnv1a64Hex } from '@hotswap/change-detector'
import { listPluginFiles } from './plugin-layout.js'
import type { FileStamp } from './settle.js'

/** What the pipeline builds for a slot before asking the registry: the hash and the inputs. @internal */
export interface SlotArtifact {
  /** FNV-1a 64 over every input (relative path and bytes). */
  readonly hash: string
  /** Every input file (absolute) and its own FNV-1a 64. */
  readonly inputs: ReadonlyMap<string, string>
  /** What to hand to the registry with the load or reload (undefined: the registry reads the path). */
  readonly prebuilt: undefined
}

/**
 * Builds the artifact of a plugin path: reads each input once and hashes it. This is the one
 * place that knows how; the registry's own artifact builder replaces it when it lands.
 *
 * @internal
 */
export async function buildSlotArtifact(path: string): Promise<SlotArtifact> {
  const st = await stat(path)
  const sidecar = path.endsWith('.wasm') ? path.slice(0, -'.wasm'.length) + '.plugin.json' : undefined
  const files = st.isDirectory() ? await listPluginFiles(path) : [path, ...(sidecar === undefined ? [] : [sidecar])]
  const inputs = new Map<string, string>()
  const combined = createFnv1a64()
  for (const file of files) {
    let bytes: Uint8Array
    try {
      bytes = await readFile(file)
    } catch (error) {
      if (file === sidecar && (error as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw error
    }
    const hash = fnv1a64Hex(bytes)
    inputs.set(file, hash)
    combined.update(`${relative(path, file)}\0${hash}\n`)
  }
  return { hash: combined.digestHex(), inputs, prebuilt: undefined }
}

/** The stamps of files now (undefined for one that is gone). @internal */
export async function stampFiles(files: readonly string[]): Promise<(FileStamp | undefined)[]> {
  return Promise.all(
    files.map(async (file) => {
      try {
        const st = await stat(file, { bigint: true })
        return { ino: String(st.ino), size: Number(st.size), mtime: String(st.mtimeNs) }
      } catch {
        return undefined
      }
    }),
  )
}
