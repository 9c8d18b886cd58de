import { createFnv1a64 } from '@hotswap/change-detector'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { pluginIdProblem } from '@hotswap/state-store'
import { FleetError } from './errors.js'

/**
 * A plugin version as the fleet ships it: every file of the plugin folder with its bytes,
 * the entry, the manifest and one FNV-1a 64 hash over all of it. Serialisable, so it is
 * stored in Redis once and fetched by every host.
 */
export interface FleetArtifact {
  /** The plugin id (the manifest's `name`). */
  readonly id: string
  /** The plugin version (the manifest's `version`). */
  readonly version: string
  /**
   * FNV-1a 64 (16 lowercase hex) over every file, sorted by relative path: for each file its
   * path (`/`-separated, UTF-8), a NUL byte, its length in decimal, a NUL byte, its bytes.
   */
  readonly hash: string
  /** The entry file, relative to the plugin folder (`/`-separated). */
  readonly entry: string
  /** Relative path (`/`-separated) to the file's bytes. */
  readonly files: Readonly<Record<string, Uint8Array>>
  /** The folder's `package.json` as parsed (name, version and anything else it says). */
  readonly manifest: Readonly<Record<string, unknown>>
}

/** Options of {@link buildFleetArtifact}. */
export interface BuildFleetArtifactOptions {
  /** Folder names skipped anywhere in the tree. Default `['node_modules', '.git']`. */
  readonly ignore?: readonly string[]
  /** Refuse folders whose files add up to more than this. Default 32 MiB. */
  readonly maxBytes?: number
}

/**
 * Reads a directory plugin into a {@link FleetArtifact}: every file once, hashed once.
 *
 * The folder must hold a `package.json` with `name` (the plugin id) and `version`; the entry
 * is its `main` (default `index.js`) and must be one of the files read.
 *
 * @param dir - The plugin folder.
 * @param options - Folders to skip and a size bound.
 * @returns The artifact, ready for `fleet.publish`.
 * @throws {@link FleetError} `INVALID_ARTIFACT` when the folder cannot be read, has no valid
 *   `package.json`, lacks its entry file or is larger than `maxBytes`.
 * @example
 * ```ts
 * const artifact = await buildFleetArtifact('./plugins/greeter')
 * console.log(artifact.id, artifact.version, artifact.hash)
 * ```
 */
export async function buildFleetArtifact(dir: string, options: BuildFleetArtifactOptions = {}): Promise<FleetArtifact> {
  const root = resolve(dir)
  const ignore = new Set(options.ignore ?? ['node_modules', '.git'])
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024
  const files: Record<string, Uint8Array> = {}
  let total = 0
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true })
    for (const entry of entries) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) {
        if (!ignore.has(entry.name)) await walk(path)
      } else if (entry.isFile()) {
        const bytes = new Uint8Array(await readFile(path))
        total += bytes.length
        if (total > maxBytes) throw invalid(root, `its files add up to more than ${maxBytes} bytes (raise maxBytes to publish it)`)
        files[relative(root, path).split(sep).join('/')] = bytes
      }
    }
  }
  try {
    await walk(root)
  } catch (error) {
    if (error instanceof FleetError) throw error
    throw invalid(root, `it cannot be read (${String(error)})`, error)
  }
  const pkg = files['package.json']
  if (pkg === undefined) throw invalid(root, 'it has no package.json (with the plugin name and version)')
  let manifest: Record<string, unknown>
  try {
    manifest = JSON.parse(new TextDecoder().decode(pkg)) as Record<string, unknown>
  } catch (error) {
    throw invalid(root, 'its package.json is not JSON', error)
  }
  return artifactFrom(files, manifest, root)
}

/**
 * The FNV-1a 64 hash of a set of files, as {@link FleetArtifact.hash} defines it.
 *
 * @param files - Relative path to bytes.
 * @returns 16 lowercase hex digits.
 * @example
 * ```ts
 * const hash = hashFleetFiles({ 'index.js': new TextEncoder().encode('export default {}') })
 * ```
 */
export function hashFleetFiles(files: Readonly<Record<string, Uint8Array>>): string {
  const hasher = createFnv1a64()
  for (const path of Object.keys(files).sort()) {
    const bytes = files[path]!
    hasher.update(path).update(NUL).update(String(bytes.length)).update(NUL).update(bytes)
  }
  return hasher.digestHex()
}

/**
 * Checks that an artifact's bytes hash to its `hash` (and, when given, to `expected`).
 *
 * @internal Used by the publisher and the hosts.
 * @throws {@link FleetError} `HASH_MISMATCH`.
 */
export function verifyFleetArtifact(artifact: FleetArtifact, expected?: string): void {
  const actual = hashFleetFiles(artifact.files)
  if (actual !== artifact.hash || (expected !== undefined && actual !== expected)) {
    throw new FleetError(
      'HASH_MISMATCH',
      `artifact of plugin "${artifact.id}" ${artifact.version}: its bytes hash to ${actual}, ` +
        `it claims ${artifact.hash}${expected !== undefined && expected !== artifact.hash ? ` and the rollout wants ${expected}` : ''}; refused (republish it)`,
    )
  }
}

/**
 * Serialises an artifact for Redis (JSON with base64 bytes).
 *
 * @internal
 */
export function encodeFleetArtifact(artifact: FleetArtifact): string {
  const files: Record<string, string> = {}
  for (const [path, bytes] of Object.entries(artifact.files)) files[path] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  return JSON.stringify({ format: 1, id: artifact.id, version: artifact.version, hash: artifact.hash, entry: artifact.entry, manifest: artifact.manifest, files })
}

/**
 * Parses what {@link encodeFleetArtifact} wrote; does not verify the hash.
 *
 * @internal
 * @throws {@link FleetError} `INVALID_ARTIFACT`.
 */
export function decodeFleetArtifact(text: string, where: string): FleetArtifact {
  let raw: { format?: unknown; id?: unknown; version?: unknown; hash?: unknown; entry?: unknown; manifest?: unknown; files?: unknown }
  try {
    raw = JSON.parse(text) as typeof raw
  } catch (error) {
    throw new FleetError('INVALID_ARTIFACT', `${where} is not an artifact record (not JSON)`, { cause: error })
  }
  if (raw.format !== 1 || typeof raw.id !== 'string' || typeof raw.version !== 'string' || typeof raw.hash !== 'string' ||
    typeof raw.entry !== 'string' || typeof raw.files !== 'object' || raw.files === null || typeof raw.manifest !== 'object' || raw.manifest === null) {
    throw new FleetError('INVALID_ARTIFACT', `${where} is not an artifact record of format 1`)
  }
  const files: Record<string, Uint8Array> = {}
  for (const [path, value] of Object.entries(raw.files as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new FleetError('INVALID_ARTIFACT', `${where}: file ${path} is not base64 text`)
    files[path] = new Uint8Array(Buffer.from(value, 'base64'))
  }
  return { id: raw.id, version: raw.version, hash: raw.hash, entry: raw.entry, files, manifest: raw.manifest as Record<string, unknown> }
}

const NUL = new Uint8Array([0])

function artifactFrom(files: Record<string, Uint8Array>, manifest: Record<string, unknown>, where: string): FleetArtifact {
  const { name, version, main } = manifest
  const idProblem = pluginIdProblem(name)
  if (idProblem !== undefined || typeof name !== 'string') throw invalid(where, `package.json "name" must be a plugin id: ${idProblem ?? 'not a string'}`)
  if (typeof version !== 'string' || version.length === 0) throw invalid(where, 'package.json has no "version"')
  const entry = (typeof main === 'string' ? main : 'index.js').replace(/^\.\//, '')
  if (files[entry] === undefined) throw invalid(where, `its entry ${entry} (package.json "main") is not in the folder`)
  for (const path of Object.keys(files)) {
    if (path.split('/').some((part) => part === '..' || part === '')) throw invalid(where, `file path ${path} is not a plain relative path`)
  }
  return { id: name, version, hash: hashFleetFiles(files), entry, files, manifest }
}

function invalid(where: string, reason: string, cause?: unknown): FleetError {
  return new FleetError('INVALID_ARTIFACT', `cannot build a fleet artifact from ${where}: ${reason}`, { cause })
}
