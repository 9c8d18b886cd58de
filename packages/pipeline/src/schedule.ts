import { EMPTY, switchMap, timer, type Observable, type SchedulerLike } from 'rxjs'
import type { ReloadPolicy } from './policy.js'

/**
 * The ticks of the `Scheduled` policy: one every `intervalMs` on `scheduler` while the policy in
 * force is `Scheduled`, none under any other policy. Every policy change restarts the count
 * (a new interval starts from the change, not from the last tick). Each tick applies the
 * pending changes (cause `schedule`).
 *
 * @param policies - the policy in force, then each change of it
 * @param scheduler - the pipeline's scheduler
 * @returns the tick count since the last policy change (0, 1, 2, ...)
 * @internal
 */
export function scheduledTicks(policies: Observable<ReloadPolicy>, scheduler: SchedulerLike): Observable<number> {
  return policies.pipe(switchMap((policy) => (policy.kind === 'Scheduled' ? timer(policy.intervalMs, policy.intervalMs, scheduler) : EMPTY)))
}
