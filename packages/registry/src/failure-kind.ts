import { RegistryError } from './errors.js'
import type { RegistryErrorCode } from './errors.js'

/**
 * Whether a failed load or reload is worth retrying with the same files.
 *
 * - `'transient'`: the files or the machine were in the way, not the code: `READ_FAILED` (a
 *   file vanished or was replaced mid-read), `SETUP_TIMEOUT`, `WORKER_CRASHED`, `DRAIN_TIMEOUT`,
 *   `SAVE_STATE_FAILED`, and `DEPENDENCY_MISSING` / `DEPENDENCY_UNSATISFIED` (another plugin's
 *   load or reload can fix them). Retry with backoff.
 * - `'deterministic'`: the same bytes fail the same way: `BUILD_FAILED` (syntax,
 *   type-stripping, unresolved import, bad JSON), `LOAD_FAILED` (a throw at the top level),
 *   `INVALID_PLUGIN` (shape, name, version), `UNSUPPORTED`, `SETUP_FAILED`, `STATE_REJECTED`,
 *   `CONFIG_INVALID`, `SERVICE_DENIED`, `DEPENDENCY_CYCLE`.
 *   Report once and wait for the next change.
 * - `'other'`: not a load failure (`NOT_FOUND`, `CLOSED`, …) or not a {@link RegistryError}.
 */
export type FailureKind = 'transient' | 'deterministic' | 'other'

const TRANSIENT: ReadonlySet<RegistryErrorCode> = new Set<RegistryErrorCode>(['READ_FAILED', 'SETUP_TIMEOUT', 'WORKER_CRASHED', 'DRAIN_TIMEOUT', 'SAVE_STATE_FAILED', 'DEPENDENCY_MISSING', 'DEPENDENCY_UNSATISFIED'])
const DETERMINISTIC: ReadonlySet<RegistryErrorCode> = new Set<RegistryErrorCode>([
  'BUILD_FAILED',
  'LOAD_FAILED',
  'INVALID_PLUGIN',
  'UNSUPPORTED',
  'SETUP_FAILED',
  'STATE_REJECTED',
  'CONFIG_INVALID',
  'SERVICE_DENIED',
  'DEPENDENCY_CYCLE',
])

/**
 * Tells a transient failure (retry) from a deterministic one (report once), by its code.
 *
 * @param error - What `load()`, `reload()` or {@link buildArtifact} rejected with.
 * @returns The {@link FailureKind}.
 * @example
 * ```ts
 * import { buildArtifact, failureKind } from '@hotswap/registry'
 *
 * const artifact = await buildArtifact('./plugins/a.ts').catch((error: unknown) => {
 *   if (failureKind(error) === 'transient') return undefined // try again shortly
 *   throw error
 * })
 * ```
 */
export function failureKind(error: unknown): FailureKind {
  if (!(error instanceof RegistryError)) return 'other'
  if (TRANSIENT.has(error.code)) return 'transient'
  if (DETERMINISTIC.has(error.code)) return 'deterministic'
  return 'other'
}
