import { Policy, type ReloadPolicy } from '@hotswap/pipeline'
import type { PolicyName } from './options.js'

/**
 * The pipeline's {@link ReloadPolicy} for a policy name of the command line.
 *
 * @param name - `on-change`, `on-signal`, `scheduled` or `disabled`
 * @param intervalMs - the interval of `scheduled`
 * @returns the policy value
 * @example
 * ```ts
 * toReloadPolicy('scheduled', 5000) // { kind: 'Scheduled', intervalMs: 5000 }
 * ```
 */
export function toReloadPolicy(name: PolicyName, intervalMs: number): ReloadPolicy {
  switch (name) {
    case 'on-signal':
      return Policy.OnSignal
    case 'scheduled':
      return Policy.Scheduled(intervalMs)
    case 'disabled':
      return Policy.Disabled
    case 'on-change':
      return Policy.OnChange
  }
}
