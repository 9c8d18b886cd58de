import picomatch from 'picomatch'
import { sep } from 'node:path'

/**
 * Decides which paths below a root are watched and reported.
 * @internal
 */
export interface PathFilter {
  /** Whether a file (or link) at this root-relative path is reported. */
  acceptsFile(rel: string): boolean
  /** Whether a directory at this root-relative path is scanned and descended into. */
  acceptsDir(rel: string): boolean
  /** Ignore list for @parcel/watcher when subscribing to the root directory itself. */
  readonly nativeIgnore: readonly (string | RegExp)[]
  /** Ignore list for @parcel/watcher below the root (sub-trees, link targets): unanchored patterns only. */
  readonly nestedIgnore: readonly (string | RegExp)[]
}

/** @internal */
export interface PathFilterSpec {
  readonly include: readonly string[] | undefined
  readonly exclude: readonly string[]
  readonly recursive: boolean
  /** For a root that is a file: its base name; everything else in the directory is ignored. */
  readonly only?: string
}

/**
 * Builds the include/exclude/recursive filter of one root with picomatch, and the ignore
 * lists handed to the native backend.
 *
 * @internal
 * @param spec - include, exclude, recursive and (for a file root) the one name to keep.
 * @returns The filter.
 */
export function createPathFilter(spec: PathFilterSpec): PathFilter {
  if (spec.only !== undefined) {
    const only = spec.only
    const ignore = [onlyName(only)]
    return { acceptsFile: (rel) => rel === only, acceptsDir: () => false, nativeIgnore: ignore, nestedIgnore: ignore }
  }
  const excluded = matcher(spec.exclude)
  let included: (rel: string) => boolean = () => true
  if (spec.include !== undefined) {
    const extensions = spec.include.filter(isExtension)
    const globMatch = matcher(spec.include.filter((p) => !isExtension(p)))
    included = (rel) => extensions.some((ext) => rel.endsWith(ext)) || globMatch(rel)
  }
  const posix = sep === '/' ? (p: string) => p : (p: string) => p.split(sep).join('/')
  // Only directory patterns go to the backend, in the forms it matches cheaply: anchored
  // literal directories as paths (a prefix test), unanchored ones as one small RegExp. Its
  // glob support runs picomatch's regular expressions through std::regex, which costs
  // seconds on large trees; everything else is filtered here, where it is cheap.
  const literal = /^[^*?[\]{}()!+@|\\]+$/
  const anchored: string[] = []
  const anywhere: string[] = []
  for (const pattern of spec.exclude) {
    const dir = pattern.endsWith('/**') ? pattern.slice(0, -3) : undefined
    if (dir === undefined) continue
    if (dir.startsWith('**/') && literal.test(dir.slice(3)) && !dir.slice(3).includes('/')) anywhere.push(escapeRegExp(dir.slice(3)))
    else if (literal.test(dir)) anchored.push(dir)
  }
  const nested: Array<string | RegExp> = anywhere.length > 0 ? [new RegExp(`(?:^|/)(?:${anywhere.join('|')})(?:/|$)`)] : []
  const depthLimit: RegExp[] = spec.recursive ? [] : [/\//]
  return {
    acceptsFile(rel) {
      const p = posix(rel)
      if (!spec.recursive && p.includes('/')) return false
      return !excluded(p) && included(p)
    },
    acceptsDir(rel) {
      if (!spec.recursive) return false
      return !excluded(posix(rel))
    },
    nativeIgnore: [...anchored, ...nested, ...depthLimit],
    nestedIgnore: [...nested, ...depthLimit],
  }
}

/**
 * Globs without `/` match the base name at any depth; the others the whole relative path. One
 * RegExp each, compiled on first use: a plain start subscribes the backend before it needs
 * the filter, so the compiling happens while the backend crawls.
 */
function matcher(patterns: readonly string[]): (rel: string) => boolean {
  const combine = (list: string[]): RegExp | undefined =>
    list.length === 0 ? undefined : new RegExp(list.map((p) => `(?:${picomatch.makeRe(p, { dot: true }).source})`).join('|'))
  let test = (rel: string): boolean => {
    const base = combine(patterns.filter((p) => !p.includes('/')))
    const full = combine(patterns.filter((p) => p.includes('/')))
    test = (r) => (base !== undefined && base.test(r.slice(r.lastIndexOf('/') + 1))) || (full !== undefined && full.test(r))
    return test(rel)
  }
  return (rel) => test(rel)
}

function isExtension(pattern: string): boolean {
  return pattern.startsWith('.') && !/[/*?[\]{}()!+@]/.test(pattern)
}

/**
 * A native ignore pattern that keeps one base name and drops everything else in a directory.
 * @internal
 * @param name - The base name to keep.
 * @returns The RegExp for @parcel/watcher's `ignore`.
 */
export function onlyName(name: string): RegExp {
  return new RegExp(`^(?!${escapeRegExp(name)}$)`)
}

/** @internal Escapes `text` for use inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
