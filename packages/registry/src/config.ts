import type { ConfigIssue } from './contract.js'
import { RegistryError } from './errors.js'

/**
 * The error of a config that the plugin's schema refused (`code === 'CONFIG_INVALID'`): the
 * version with that config never served, the old one (if any) keeps serving with its config.
 *
 * @example
 * ```ts
 * try {
 *   await registry.configure('links', { maxLength: 'long' })
 * } catch (error) {
 *   if (error instanceof ConfigInvalidError) for (const issue of error.issues) console.warn(issue.path.join('.'), issue.message)
 * }
 * ```
 */
export class ConfigInvalidError extends RegistryError {
  /** `'ConfigInvalidError'`. */
  override readonly name: string = 'ConfigInvalidError'
  /** Every issue the schema found, each with its path. */
  readonly issues: readonly ConfigIssue[]

  /**
   * @param pluginId - The plugin whose config was refused.
   * @param issues - What the schema found.
   * @example
   * ```ts
   * new ConfigInvalidError('links', [{ path: ['maxLength'], message: 'Expected number' }])
   * ```
   */
  constructor(pluginId: string, issues: readonly ConfigIssue[]) {
    const list = issues.map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`).join('\n')
    super('CONFIG_INVALID', `the config of plugin "${pluginId}" is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}); fix it and configure again:\n${list}`, { pluginId })
    this.issues = issues
  }
}

/**
 * A config path as text: `servers[0].port`, or `(root)`.
 *
 * @internal
 */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)'
  let out = ''
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`
  return out
}
