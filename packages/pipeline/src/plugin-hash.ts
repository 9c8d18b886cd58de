import { stat } from 'node:fs/promises'
import { relative } from 'node:path'
import { ChangeDetector, createFnv1a64 } from '@hotswap/change-detector'
import { PipelineError } from './errors.js'
import { listPluginFiles } from './plugin-layout.js'

/**
 * The content hash of a plugin root: the FNV-1a 64 of a single file (plus its `.plugin.json`
 * sidecar for wasm), or of every file of a directory plugin (relative path and hash of each).
 * Files whose size and mtime did not move are not read again. @internal
 */
export class PluginHasher {
  readonly #detector = new ChangeDetector()

  /** Hashes a root; throws the detector's typed error when a file is still being written. */
  async hash(root: string): Promise<string> {
    const st = await stat(root)
    const sidecar = root.endsWith('.wasm') ? root.slice(0, -'.wasm'.length) + '.plugin.json' : undefined
    const files = st.isDirectory() ? await listPluginFiles(root) : [root, ...(sidecar === undefined ? [] : [sidecar])]
    if (files.length === 1 && files[0] === root) return this.#fileHash(root, true)
    const combined = createFnv1a64()
    for (const file of files) {
      const hash = await this.#fileHash(file, file !== sidecar)
      combined.update(`${relative(root, file)}\0${hash}\n`)
    }
    return combined.digestHex()
  }

  async #fileHash(file: string, required: boolean): Promise<string> {
    const check = await this.#detector.check(file)
    if (check.hash !== undefined) return check.hash
    if (required) throw new PipelineError('NOT_A_PLUGIN', `${file} went away while it was being hashed (deleted or renamed)`)
    return 'absent'
  }
}
