// Runs an artifact's code in this thread: a fresh CommonJS module per version, compiled from
// artifact.code (never from the disk) under the bundle's own file name next to the entry (so
// that `require` of npm packages resolves from the plugin's folder), and maps stack frames of
// that file back to the original files through the artifact's source map.
import Module, { SourceMap, createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileFunction, constants } from 'node:vm'
import type { PluginArtifact } from './artifact.js'

interface CjsModule {
  exports: unknown
  filename: string
  paths: string[]
  loaded: boolean
}

interface ModuleStatics {
  new (id: string, parent?: unknown): CjsModule
  _nodeModulePaths(from: string): string[]
}

/**
 * `artifact.code` with its source map attached as a data URL, for a thread where Node maps stack
 * traces itself (`process.setSourceMapsEnabled(true)` in a plugin worker).
 *
 * @internal
 */
export function runnableCode(artifact: PluginArtifact): string {
  if (artifact.sourceMap === undefined) return artifact.code
  return `${artifact.code}\n${INLINE_SOURCE_MAP}${Buffer.from(artifact.sourceMap).toString('base64')}\n`
}

// Kept off the start of a line in this package's bundle: a line starting with it is taken for the
// bundle's own source map by tools that read one (Vite did, and failed to parse it).
const INLINE_SOURCE_MAP = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,'

/** The parameters of a CommonJS module's function, as Node's own loader passes them. */
const CJS_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname']

/**
 * Compiles and runs a JS artifact as a new CommonJS module (no module cache entry) and returns
 * its plugin definition (the default export, or `module.exports` itself).
 *
 * Compiled with `vm.compileFunction` and an empty, prototype-less context extension rather than
 * `Module.prototype._compile`: since Node 22 (V8 12) the CommonJS loader's compile, `vm.Script`
 * and (on Node 26) `eval`/`new Function` keep every distinct source in V8's isolate-wide
 * compilation cache, which nothing ages out (about the size of the code plus 1 KB per version,
 * linear over 40,000 compiles on Node 24; a heap snapshot clears it, which is why snapshots
 * never showed it). V8 does not cache a function compiled with context extensions, so a
 * replaced version is garbage once nothing references its exports, on every Node line. The
 * extension has no properties and no prototype, so every free name still resolves to the
 * global it names. `import()` uses the host's default loader, as in a file Node loaded itself.
 *
 * @internal
 */
export function runArtifact(artifact: PluginArtifact): unknown {
  const M = Module as unknown as ModuleStatics
  const file = bundleFile(artifact)
  const module = new M(file)
  module.filename = file
  module.paths = M._nodeModulePaths(dirname(artifact.entry))
  const run = compileFunction(artifact.code, CJS_PARAMETERS, {
    filename: file,
    contextExtensions: [Object.create(null) as object],
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const require = createRequire(file)
  run.call(module.exports, module.exports, require, module, file, dirname(file))
  module.loaded = true
  return pluginExport(module.exports)
}

/**
 * The plugin definition inside a module's exports: `exports.default` of a bundled ES module
 * (also `default.default` of a CommonJS module that set `exports.default`), else the exports.
 *
 * @internal
 */
export function pluginExport(exported: unknown): unknown {
  let value = exported
  for (let i = 0; i < 2; i++) {
    if (value === null || typeof value !== 'object') return value
    if (typeof (value as { setup?: unknown }).setup === 'function') return value
    const inner = (value as { default?: unknown }).default
    if (inner === undefined) return value
    value = inner
  }
  return value
}

/**
 * The file name the bundle runs under: beside the entry, so that it resolves like the entry and
 * is told apart from the original files in a stack trace.
 *
 * @internal
 */
export function bundleFile(artifact: PluginArtifact): string {
  return `${artifact.entry}.bundle.js`
}

const maps = new WeakMap<PluginArtifact, SourceMap | null>()

/**
 * A stack trace with every frame in the artifact's bundle replaced by the original file, line
 * and column (frames already mapped, or elsewhere, are kept as they are).
 *
 * @internal
 */
export function mapStack(stack: string, artifact: PluginArtifact): string {
  const file = bundleFile(artifact)
  if (!stack.includes(file)) return stack
  let map = maps.get(artifact)
  if (map === undefined) {
    try {
      map = artifact.sourceMap === undefined ? null : new SourceMap(JSON.parse(artifact.sourceMap) as ConstructorParameters<typeof SourceMap>[0])
    } catch {
      map = null
    }
    maps.set(artifact, map)
  }
  if (map === null) return stack
  const source = map
  const base = dirname(artifact.entry)
  return stack.replaceAll(`${file}:`, '\0').replace(/\0(\d+):(\d+)/g, (_all, line: string, column: string) => {
    const hit = source.findEntry(Number(line) - 1, Number(column) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number }
    if (hit.originalSource === undefined || hit.originalLine === undefined || hit.originalColumn === undefined) return `${file}:${line}:${column}`
    const original = hit.originalSource.startsWith('file:') ? fileURLToPath(hit.originalSource) : resolve(base, hit.originalSource)
    return `${original}:${hit.originalLine + 1}:${hit.originalColumn + 1}`
  })
}

/**
 * Maps the stack of an error thrown by plugin code (see {@link mapStack}), in place; returns it.
 *
 * @internal
 */
export function withMappedStack<T>(error: T, artifact: PluginArtifact): T {
  if (error instanceof Error && typeof error.stack === 'string') {
    try {
      error.stack = mapStack(error.stack, artifact)
    } catch {
      // a frozen error keeps its stack
    }
  }
  return error
}
