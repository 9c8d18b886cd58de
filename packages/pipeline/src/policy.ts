import { PipelineError } from './errors.js'

/**
 * When detected changes are applied:
 * - `OnChange` (default): as soon as a plugin's changes settle;
 * - `OnSignal`: changes are noted as pending and applied on `trigger()` (the host maps SIGUSR2 to it);
 * - `Scheduled`: pending changes are applied every `intervalMs`;
 * - `Disabled`: plugins load once at start; later changes are noted as pending and not applied.
 */
export type ReloadPolicy = OnChangePolicy | OnSignalPolicy | ScheduledPolicy | DisabledPolicy

/** Apply changes as soon as a plugin's changes settle. */
export interface OnChangePolicy {
  /** Discriminant. */
  readonly kind: 'OnChange'
}

/** Note changes as pending; apply them on `trigger()` (SIGUSR2 in the host). */
export interface OnSignalPolicy {
  /** Discriminant. */
  readonly kind: 'OnSignal'
}

/** Apply pending changes every `intervalMs`. */
export interface ScheduledPolicy {
  /** Discriminant. */
  readonly kind: 'Scheduled'
  /** How often pending changes are applied, in ms (at least 10). */
  readonly intervalMs: number
}

/** Load plugins once at start; later changes are noted as pending and not applied. */
export interface DisabledPolicy {
  /** Discriminant. */
  readonly kind: 'Disabled'
}

/** The shape of {@link Policy}. */
export interface PolicyShorthands {
  /** `{ kind: 'OnChange' }` */
  readonly OnChange: ReloadPolicy
  /** `{ kind: 'OnSignal' }` */
  readonly OnSignal: ReloadPolicy
  /** `{ kind: 'Disabled' }` */
  readonly Disabled: ReloadPolicy
  /** `{ kind: 'Scheduled', intervalMs }` */
  readonly Scheduled: (intervalMs: number) => ReloadPolicy
}

/**
 * Shorthands for the {@link ReloadPolicy} values.
 *
 * @example
 * ```ts
 * createReloadPipeline({ dirs: ['plugins'], policy: Policy.Scheduled(5000) })
 * ```
 */
export const Policy: PolicyShorthands = {
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
