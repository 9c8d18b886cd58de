// Runs an artifact's code in this thread: a fresh CommonJS module per version, compiled from
// artifact.code (never from the disk), with the entry as its file name so that `require` of npm
// packages resolves from the plugin's own folder and stack traces map through the source map.
import Module from 'node:module'
import { dirname } from 'node:path'
import type { PluginArtifact } from './artifact.js'

interface CjsModule {
  exports: unknown
  filename: string
  paths: string[]
  loaded: boolean
  _compile(code: string, filename: string, format?: string): unknown
}

interface ModuleStatics {
  new (id: string, parent?: unknown): CjsModule
  _nodeModulePaths(from: string): string[]
}

/**
 * `artifact.code` with its source map attached as a data URL (Node maps stack traces through
 * it when source maps are enabled).
 *
 * @internal
 */
export function runnableCode(artifact: PluginArtifact): string {
  if (artifact.sourceMap === undefined) return artifact.code
  return `${artifact.code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(artifact.sourceMap).toString('base64')}\n`
}

/**
 * Compiles and runs a JS artifact as a new CommonJS module (no module cache entry, no
 * compilation cache: the version is garbage once nothing references its exports) and returns
 * its plugin definition (the default export, or `module.exports` itself).
 *
 * @internal
 */
export function runArtifact(artifact: PluginArtifact): unknown {
  const M = Module as unknown as ModuleStatics
  const module = new M(artifact.entry)
  module.filename = artifact.entry
  module.paths = M._nodeModulePaths(dirname(artifact.entry))
  module._compile(runnableCode(artifact), artifact.entry, 'commonjs')
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
