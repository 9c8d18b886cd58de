import type { PluginRegistry } from '@hotswap/registry'
import { MetricsRecorder } from './metrics.js'
import type { PipelinePluginStatus, PipelineStatus } from './pipeline-types.js'
import type { ReloadPolicy } from './policy.js'
import type { ReloadResult } from './events.js'
import type { SlotTable } from './slot.js'

/** The snapshot `status()` returns: every plugin loaded, pending or failed, with its slot's facts. @internal */
export function statusOf(slots: SlotTable, registry: PluginRegistry, policy: ReloadPolicy, dirs: readonly string[], totals: MetricsRecorder, lastReload: ReloadResult | undefined): PipelineStatus {
  const serving = new Map(registry.list().map((s) => [s.path, s]))
  const paths = new Set<string>(serving.keys())
  for (const slot of slots.all()) if (slot.id !== undefined || slot.pending !== undefined || slot.lastError !== undefined) paths.add(slot.path)
  const plugins = [...paths].sort().map((path): PipelinePluginStatus => {
    const slot = slots.find(path)
    return {
      path,
      plugin: serving.get(path),
      pending: slot?.pending?.changes,
      breaker: slot?.breaker.state ?? 'closed',
      lastError: slot?.lastError,
      inputs: slot === undefined ? [] : [...slot.inputs.keys()],
      metrics: (slot?.metrics ?? new MetricsRecorder()).snapshot(),
    }
  })
  return { enabled: policy.kind !== 'Disabled', policy, dirs, plugins, totals: totals.snapshot(), lastReload }
}
