import { statSync } from 'node:fs'
import { fnv1a64Hex } from '@hotswap/change-detector'
import { buildArtifact, failureKind, type PluginArtifact } from '@hotswap/registry'
import type { FileStamp } from './settle.js'

/** What the pipeline builds for a slot before asking the registry. @internal */
export interface SlotArtifact {
  /** FNV-1a 64 over every input: the hash in status, events and the API. */
  readonly hash: string
  /** Every input file (absolute) and its own FNV-1a 64: what a change reloads this plugin for. */
  readonly inputs: ReadonlyMap<string, string>
  /** The registry's artifact, handed to `load`/`reload` so the files are read and hashed once. */
  readonly prebuilt: PluginArtifact
}

/**
 * Builds the artifact of a plugin path with the registry's `buildArtifact` (each input read
 * once, hashed once, TypeScript turned into JavaScript). This is the one place that knows how.
 *
 * @internal
 */
export async function buildSlotArtifact(path: string): Promise<SlotArtifact> {
  const prebuilt = await buildArtifact(path)
  return { hash: prebuilt.hash, inputs: prebuilt.inputs, prebuilt }
}

/**
 * A stand-in hash for bytes that could not even be built (a syntax error, bad JSON): the same
 * broken files fail with the same message (file, line, column, code frame), so the same
 * message means the same bytes for "fail once".
 *
 * @internal
 */
export function failedBuildHash(error: Error): string {
  return `build:${fnv1a64Hex(error.message)}`
}

/** Whether a failure cannot heal without new bytes (the registry's `failureKind`). @internal */
export function isDeterministic(error: unknown): boolean {
  return failureKind(error) === 'deterministic'
}

/**
 * The stamps of files now (undefined for one that is gone), read with `statSync`: a local stat
 * takes microseconds, where each `fs.promises.stat` is a trip through libuv's thread pool and an
 * event-loop turn, which on a host busy serving cost the reload path about 0.3 ms each (p50, 1 ms
 * at p90; this path stats three times per reload, the settle window twice per plain write).
 *
 * @internal
 */
export function stampFiles(files: readonly string[]): (FileStamp | undefined)[] {
  return files.map((file) => {
    try {
      const st = statSync(file, { bigint: true, throwIfNoEntry: false })
      return st === undefined ? undefined : { ino: String(st.ino), size: Number(st.size), mtime: String(st.mtimeNs) }
    } catch {
      return undefined
    }
  })
}
