import { StateStoreError } from './errors.js'

/** The id rule's pattern: lowercase ASCII letters, digits, `.`, `_` and `-`, 1 to 64 characters. */
export const PLUGIN_ID_PATTERN: RegExp = /^[a-z0-9][a-z0-9._-]{0,63}$/

// Device names Windows reserves in every directory, with or without an extension.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/

/**
 * Returns why a plugin id is not acceptable, or `undefined` when it is.
 *
 * The rule: it matches {@link PLUGIN_ID_PATTERN} (so it has no `/`, `\`, `:`, `%`, NUL,
 * upper case, spaces or non-ASCII look-alikes, cannot start with `.`, and is at most 64
 * characters); it does not end with `.` (Windows drops trailing dots, so `a.` would name
 * `a`); and its part before the first `.` is not a Windows device
 * name (`con`, `prn`, `aux`, `nul`, `com0`-`com9`, `lpt0`-`lpt9`). Such an id is safe to use
 * as a file-name part on Linux, macOS and Windows, and two different ids never name the
 * same file on a case-insensitive file system.
 *
 * @param id - The candidate id; any value is accepted and checked.
 * @returns A sentence saying what is wrong, or `undefined` for a valid id.
 * @example
 * ```ts
 * pluginIdProblem('greeter')   // undefined
 * pluginIdProblem('../etc')    // 'must match /^[a-z0-9][a-z0-9._-]{0,63}$/'
 * ```
 */
export function pluginIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `must be a string, got ${id === null ? 'null' : typeof id}`
  if (!PLUGIN_ID_PATTERN.test(id)) return `must match ${String(PLUGIN_ID_PATTERN)}`
  if (id.endsWith('.')) return 'must not end with "."'
  const stem = id.split('.')[0] ?? id
  if (WINDOWS_RESERVED.test(stem)) return `"${stem}" is a reserved device name on Windows`
  return undefined
}

/**
 * Tells whether a plugin id is valid (see {@link pluginIdProblem} for the rule).
 *
 * @param id - The candidate id.
 * @returns `true` for a valid id.
 * @example
 * ```ts
 * isValidPluginId('greeter') // true
 * isValidPluginId('CON')     // false
 * ```
 */
export function isValidPluginId(id: unknown): id is string {
  return pluginIdProblem(id) === undefined
}

/**
 * Asserts that a plugin id is valid (see {@link pluginIdProblem} for the rule).
 *
 * @param id - The candidate id.
 * @throws {@link StateStoreError} with code `INVALID_ID` saying what is wrong with the id.
 * @example
 * ```ts
 * validatePluginId('greeter')  // ok
 * validatePluginId('a/../b')   // throws INVALID_ID
 * ```
 */
export function validatePluginId(id: unknown): asserts id is string {
  const problem = pluginIdProblem(id)
  if (problem !== undefined) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}...` : id) : String(id)
    throw new StateStoreError('INVALID_ID', `invalid plugin id ${shown}: ${problem}`, { details: { id } })
  }
}
