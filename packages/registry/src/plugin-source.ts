import { createHash } from 'node:crypto'
import { readFile, readdir, stat } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { RegistryError } from './errors.js'

/** A plugin on disk, read and hashed, ready for a {@link Loader}. */
export interface PluginSource {
  /** The plugin's path as loaded (a file or a directory), absolute. */
  readonly path: string
  /** The file to load: the file itself, or the directory's `package.json` `main`. */
  readonly entry: string
  /** `'js'` for `.mjs`/`.js`/`.cjs`, `'wasm'` for `.wasm`. */
  readonly kind: 'js' | 'wasm'
  /** Module format of a JS entry (`.mjs` and `.js` under `"type": "module"` are ESM). */
  readonly format: 'esm' | 'cjs'
  /** SHA-256 (hex, 16 chars) of the plugin's content: every file of a directory plugin. */
  readonly hash: string
  /** The entry's bytes. */
  readonly bytes: Uint8Array
  /** The root for relative files of this version: the directory of a directory plugin, else the file's folder. */
  readonly root: string
  /** Name and version from the directory's `package.json` or a `.wasm` sidecar `name.plugin.json`. */
  readonly manifest?: PluginManifest | undefined
}

/** Name and version given beside the code (a directory's `package.json`, a `.wasm` sidecar). */
export interface PluginManifest {
  /** The plugin id. */
  readonly name?: string | undefined
  /** The semver version. */
  readonly version?: string | undefined
}

const JS = new Set(['.mjs', '.js', '.cjs'])

/**
 * Reads and hashes a plugin: a single `.mjs`, `.js`, `.cjs` or `.wasm` file, or a directory
 * with a `package.json` (its `main`, default `index.js`).
 *
 * @param path - The plugin's file or directory.
 * @returns The {@link PluginSource}.
 * @throws {@link RegistryError} `LOAD_FAILED` when it cannot be read; `UNSUPPORTED` for another extension.
 * @example
 * ```ts
 * const source = await readPluginSource('./plugins/greeter.mjs')
 * source.hash // '3f2a…'
 * ```
 */
export async function readPluginSource(path: string): Promise<PluginSource> {
  const abs = resolve(path)
  try {
    const info = await stat(abs)
    if (info.isDirectory()) return await readDirectoryPlugin(abs)
    const ext = extname(abs)
    if (ext === '.wasm') {
      const bytes = await readFile(abs)
      const sidecar = join(dirname(abs), `${basename(abs, '.wasm')}.plugin.json`)
      const manifestText = await readFile(sidecar, 'utf8').catch(() => undefined)
      const hash = createHash('sha256').update(bytes)
      if (manifestText !== undefined) hash.update(manifestText)
      return {
        path: abs,
        entry: abs,
        kind: 'wasm',
        format: 'esm',
        hash: hash.digest('hex').slice(0, 16),
        bytes,
        root: dirname(abs),
        manifest: manifestText === undefined ? undefined : parseManifest(manifestText, sidecar),
      }
    }
    if (!JS.has(ext)) throw new RegistryError('UNSUPPORTED', `${abs}: a plugin is a .mjs, .js, .cjs or .wasm file or a directory with a package.json`)
    const bytes = await readFile(abs)
    return {
      path: abs,
      entry: abs,
      kind: 'js',
      format: await formatOf(abs),
      hash: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
      bytes,
      root: dirname(abs),
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error
    throw new RegistryError('LOAD_FAILED', `cannot read plugin ${abs}: ${(error as Error).message}`, { cause: error })
  }
}

async function readDirectoryPlugin(dir: string): Promise<PluginSource> {
  const pkgPath = join(dir, 'package.json')
  const pkgText = await readFile(pkgPath, 'utf8')
  const pkg = parseManifest(pkgText, pkgPath) as { name?: string; version?: string; main?: unknown; type?: unknown }
  const main = typeof pkg.main === 'string' ? pkg.main : 'index.js'
  const entry = resolve(dir, main)
  const ext = extname(entry)
  const kind = ext === '.wasm' ? 'wasm' : 'js'
  if (kind === 'js' && !JS.has(ext)) throw new RegistryError('UNSUPPORTED', `${dir}: package.json main "${main}" is not a .mjs, .js, .cjs or .wasm file`)
  const hash = createHash('sha256')
  for (const file of await listFiles(dir)) {
    hash.update(file.slice(dir.length))
    hash.update('\0')
    hash.update(await readFile(file))
  }
  const format = ext === '.mjs' ? 'esm' : ext === '.cjs' ? 'cjs' : pkg.type === 'module' ? 'esm' : 'cjs'
  return {
    path: dir,
    entry,
    kind,
    format,
    hash: hash.digest('hex').slice(0, 16),
    bytes: await readFile(entry),
    root: dir,
    manifest: { name: pkg.name, version: pkg.version },
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const item of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (item.name === 'node_modules' || item.name.startsWith('.')) continue
    const full = join(dir, item.name)
    if (item.isDirectory()) out.push(...(await listFiles(full)))
    else if (item.isFile()) out.push(full)
  }
  return out
}

function parseManifest(text: string, where: string): { name?: string; version?: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new RegistryError('LOAD_FAILED', `${where} is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
  if (typeof value !== 'object' || value === null) throw new RegistryError('LOAD_FAILED', `${where} must hold a JSON object`)
  return value
}

async function formatOf(file: string): Promise<'esm' | 'cjs'> {
  const ext = extname(file)
  if (ext === '.mjs') return 'esm'
  if (ext === '.cjs') return 'cjs'
  let dir = dirname(file)
  for (;;) {
    const text = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined)
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type === 'module' ? 'esm' : 'cjs'
      } catch {
        return 'cjs'
      }
    }
    const up = dirname(dir)
    if (up === dir) return 'cjs'
    dir = up
  }
}
