import { existsSync } from 'node:fs'
import type { PipelineStatus, ReloadPipeline } from '@hotswap/pipeline'

/**
 * The pipeline as the host shows it: `status()` leaves out a plugin that never loaded (its
 * first load failed) once its file or directory is gone, so a deleted broken plugin stops
 * being listed as `Failed` in the API, the dashboard, the terminal table and the metrics. A
 * plugin that is loaded, or has pending changes, is always listed.
 *
 * @param pipeline - the pipeline
 * @returns the same pipeline with that `status()`; every other member is the pipeline's own
 * @internal
 */
export function hidingGonePlugins(pipeline: ReloadPipeline): ReloadPipeline {
  const status = (): PipelineStatus => {
    const s = pipeline.status()
    const plugins = s.plugins.filter((p) => p.plugin !== undefined || (p.pending?.length ?? 0) > 0 || existsSync(p.path))
    return plugins.length === s.plugins.length ? s : { ...s, plugins }
  }
  return new Proxy(pipeline, {
    get(target, key) {
      if (key === 'status') return status
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}
