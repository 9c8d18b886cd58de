// The transform step of an artifact: one esbuild bundle of a plugin's local modules, made from
// the bytes read once (an onLoad plugin serves them; esbuild never reads a module itself).
import { basename, dirname, extname, isAbsolute, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, transform } from 'esbuild'
import type { Loader as EsbuildLoader, Message, Plugin } from 'esbuild'
import { codeFrame } from './code-frame.js'
import { RegistryError } from './errors.js'

/** What {@link bundleArtifact} gives back. */
export interface Bundle {
  readonly code: string
  readonly sourceMap: string | undefined
  /** Every local module in the bundle and its bytes, as read. */
  readonly inputs: ReadonlyMap<string, Uint8Array>
  readonly warnings: readonly string[]
}

const LOADERS: Readonly<Record<string, EsbuildLoader>> = {
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.json': 'json',
}

/** Marks an `onResolve` re-entry through `build.resolve`. */
const INNER = Symbol('hotswap-inner-resolve')
const TOKENS = ['import.meta', '__dirname', '__filename']

/**
 * Bundles `entry` and the local files it imports into one CommonJS module. `read` is called
 * once per local file; bare specifiers (npm packages, built-ins, `#imports`) and anything under
 * `node_modules` stay `require`s for the run time.
 *
 * @internal
 */
export async function bundleArtifact(entry: string, read: (file: string) => Promise<Uint8Array>, sourceMap: boolean): Promise<Bundle> {
  const inputs = new Map<string, Uint8Array>()
  const workDir = dirname(entry)
  // A plugin may itself live under node_modules (an installed package's examples): only a file
  // deeper in node_modules than the plugin's own folder is a dependency.
  const depth = nodeModulesDepth(workDir)
  const inNodeModules = (file: string): boolean => nodeModulesDepth(file) > depth
  const single = await singleFile(entry, workDir, inputs, read, sourceMap, inNodeModules(entry))
  if (single !== undefined) return single
  const snapshot: Plugin = {
    name: 'hotswap-snapshot',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === INNER) return undefined
        const spec = args.path
        if (!isPathSpecifier(spec)) return { path: spec, external: true }
        if (!spec.includes('node_modules')) return undefined
        const found = await b.resolve(spec, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: INNER })
        if (found.errors.length > 0) return { errors: found.errors }
        return inNodeModules(found.path) ? { path: found.path, external: true } : { path: found.path }
      })
      b.onLoad({ filter: /.*/, namespace: 'file' }, async (args) => {
        const file = args.path
        if (inNodeModules(file)) return { errors: [{ text: `${file} is inside node_modules and cannot be bundled` }] }
        const loader = LOADERS[extname(file)]
        if (loader === undefined) {
          return { errors: [{ text: `cannot import ${file}: a plugin's local modules are ${Object.keys(LOADERS).join(' ')} files (read other files at run time)` }] }
        }
        const bytes = inputs.get(file) ?? (await read(file))
        inputs.set(file, bytes)
        const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        if (loader === 'json' || !TOKENS.some((token) => text.includes(token))) return { contents: bytes, loader, resolveDir: dirname(file) }
        // Per-file values of import.meta and __dirname/__filename: a transform of this file only,
        // whose inline source map esbuild chains into the bundle's.
        const out = await transform(bytes, {
          loader,
          sourcefile: file,
          sourcemap: sourceMap ? 'inline' : false,
          sourcesContent: true,
          logLevel: 'silent',
          tsconfigRaw: {},
          define: fileDefines(file),
        }).catch((error: unknown) => {
          throw buildFailed(entry, workDir, inputs, (error as { errors?: Message[] }).errors ?? [], error)
        })
        return { contents: out.code, loader: 'js', resolveDir: dirname(file) }
      })
    },
  }
  let result
  try {
    result = await build({
      entryPoints: [entry],
      absWorkingDir: workDir,
      outfile: `${entry}.bundle.js`,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: sourceMap ? 'external' : false,
      sourcesContent: true,
      tsconfigRaw: {},
      logLevel: 'silent',
      plugins: [snapshot],
    })
  } catch (error) {
    throw buildFailed(entry, workDir, inputs, (error as { errors?: Message[] }).errors ?? [], error)
  }
  let code = ''
  let map: string | undefined
  for (const file of result.outputFiles) {
    if (file.path.endsWith('.map')) map = file.text
    else code = file.text
  }
  return { code, sourceMap: map, inputs, warnings: result.warnings.map((m) => describe(m, workDir, inputs)) }
}

/** A static import, re-export or require of a local file, in source or in esbuild's output. */
const LOCAL_IMPORT = /(?:\bfrom|\bimport|\brequire\s*\(|\bimport\s*\()\s*['"`](?:\.{1,2}(?:\/|['"`])|\/|file:)/

/**
 * The one-file case (a plugin that imports no local file, the common one): a single esbuild
 * `transform` to CommonJS, one round trip to esbuild's service, instead of a bundle whose
 * resolve and load hooks cost several (1 KB JS plugin, idle: 2 ms instead of 7). The source is
 * checked for local imports before, and the output after (what esbuild's own parser found), so
 * any plugin with a local module is bundled as before. Returns undefined for those.
 */
async function singleFile(entry: string, workDir: string, inputs: Map<string, Uint8Array>, read: (file: string) => Promise<Uint8Array>, sourceMap: boolean, underNodeModules: boolean): Promise<Bundle | undefined> {
  const loader = LOADERS[extname(entry)]
  if (loader === undefined || loader === 'json' || underNodeModules) return undefined
  const bytes = await read(entry)
  inputs.set(entry, bytes)
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  if (LOCAL_IMPORT.test(text)) return undefined
  const out = await transform(text, {
    loader,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcefile: basename(entry),
    sourcemap: sourceMap ? 'external' : false,
    sourcesContent: true,
    logLevel: 'silent',
    tsconfigRaw: {},
    ...(TOKENS.some((token) => text.includes(token)) ? { define: fileDefines(entry) } : {}),
  }).catch((error: unknown) => {
    throw buildFailed(entry, workDir, inputs, (error as { errors?: Message[] }).errors ?? [], error)
  })
  if (LOCAL_IMPORT.test(out.code)) return undefined
  return { code: out.code, sourceMap: sourceMap && out.map !== '' ? out.map : undefined, inputs, warnings: out.warnings.map((m) => describe(m, workDir, inputs)) }
}

/** The values of import.meta.url/dirname/filename, __dirname and __filename in `file`. */
function fileDefines(file: string): Record<string, string> {
  return {
    'import.meta.url': JSON.stringify(pathToFileURL(file).href),
    'import.meta.dirname': JSON.stringify(dirname(file)),
    'import.meta.filename': JSON.stringify(file),
    __dirname: JSON.stringify(dirname(file)),
    __filename: JSON.stringify(file),
  }
}

function isPathSpecifier(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || spec.startsWith('file:') || isAbsolute(spec)
}

function nodeModulesDepth(path: string): number {
  return path.split(sep).filter((part) => part === 'node_modules').length
}

function buildFailed(entry: string, workDir: string, inputs: ReadonlyMap<string, Uint8Array>, errors: readonly Message[], cause: unknown): RegistryError {
  for (const message of errors) {
    if (message.detail instanceof RegistryError) return message.detail
  }
  if (errors.length === 0) return new RegistryError('BUILD_FAILED', `cannot build ${entry}: ${(cause as Error).message}`, { cause })
  const lines = errors.slice(0, 5).map((m) => describe(m, workDir, inputs))
  const more = errors.length > 5 ? `\n(${errors.length - 5} more errors)` : ''
  const tla = errors.some((m) => m.text.includes('Top-level await'))
    ? '\nTop-level await cannot run in a plugin bundle: move the awaiting into setup() (which may be async).'
    : ''
  return new RegistryError('BUILD_FAILED', `cannot build ${entry}:\n${lines.join('\n')}${more}${tla}`, { cause })
}

/** `file:line:col: text` and a code frame from the bytes read, for one esbuild message. */
function describe(message: Message, workDir: string, inputs: ReadonlyMap<string, Uint8Array>): string {
  const loc = message.location
  if (loc === null) return message.text
  const file = resolve(workDir, loc.file)
  const bytes = inputs.get(file)
  const frame = bytes === undefined ? (loc.lineText === '' ? '' : `\n  > ${loc.lineText}`) : `\n${codeFrame(Buffer.from(bytes).toString('utf8'), loc.line, loc.column + 1)}`
  return `${file}:${loc.line}:${loc.column + 1}: ${message.text}${frame}`
}
