import { PipelineError } from './errors.js'

/**
 * When detected changes are applied:
 * - `OnChange` (default): as soon as a plugin's changes settle;
 * - `OnSignal`: changes are noted as pending and applied on `trigger()` (the host maps SIGUSR2 to it);
 * - `Scheduled`: pending changes are applied every `intervalMs`;
 * - `Disabled`: plugins load once at start; later changes are noted as pending and not applied.
 */
export type ReloadPolicy =
  | { readonly kind: 'OnChange' }
  | { readonly kind: 'OnSignal' }
  | { readonly kind: 'Scheduled'; readonly intervalMs: number }
  | { readonly kind: 'Disabled' }

/**
 * Shorthands for the {@link ReloadPolicy} values.
 *
 * @example
 * ```ts
 * createReloadPipeline({ dirs: ['plugins'], policy: Policy.Scheduled(5000) })
 * ```
 */
export const Policy: {
  readonly OnChange: ReloadPolicy
  readonly OnSignal: ReloadPolicy
  readonly Disabled: ReloadPolicy
  readonly Scheduled: (intervalMs: number) => ReloadPolicy
} = {
  OnChange: { kind: 'OnChange' },
  OnSignal: { kind: 'OnSignal' },
  Disabled: { kind: 'Disabled' },
  Scheduled: (intervalMs: number): ReloadPolicy => ({ kind: 'Scheduled', intervalMs }),
}

/** Checks a policy value and returns it frozen. @internal */
export function validatePolicy(policy: unknown): ReloadPolicy {
  const kind = (policy as { kind?: unknown } | undefined)?.kind
  switch (kind) {
    case 'OnChange':
    case 'OnSignal':
    case 'Disabled':
      return Object.freeze({ kind })
    case 'Scheduled': {
      const intervalMs = (policy as { intervalMs?: unknown }).intervalMs
      if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 10) {
        throw new PipelineError('INVALID_OPTIONS', `policy Scheduled needs intervalMs, a number of milliseconds >= 10; got ${String(intervalMs)}`)
      }
      return Object.freeze({ kind, intervalMs })
    }
    default:
      throw new PipelineError(
        'INVALID_OPTIONS',
        `unknown reload policy ${JSON.stringify(policy)}: use { kind: 'OnChange' | 'OnSignal' | 'Disabled' } or { kind: 'Scheduled', intervalMs }`,
      )
  }
}
