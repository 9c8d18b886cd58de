import { stat } from 'node:fs/promises'
import { relative } from 'node:path'
import { ChangeDetector, createFnv1a64 } from '@hotswap/change-detector'
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
    const files = st.isDirectory() ? await listPluginFiles(root) : [root, ...(root.endsWith('.wasm') ? [root.slice(0, -'.wasm'.length) + '.plugin.json'] : [])]
    if (files.length === 1 && files[0] === root) return this.#fileHash(root)
    const combined = createFnv1a64()
    for (const file of files) {
      const hash = await this.#fileHash(file)
      combined.update(`${relative(root, file)}\0${hash}\n`)
    }
    return combined.digestHex()
  }

  async #fileHash(file: string): Promise<string> {
    const check = await this.#detector.check(file)
    return check.hash ?? 'absent'
  }
}
