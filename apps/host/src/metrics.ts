import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ReloadPipeline } from '@hotswap/pipeline'
import type { EventJournal } from './journal.js'
import { pluginLabel } from './serialize.js'

/** The Prometheus side of the host. */
export interface HostMetrics {
  /** The prom-client registry served at `/metrics`. */
  readonly registry: Registry
  /** Stops recording. */
  close(): void
}

/**
 * Records the pipeline's reloads as Prometheus metrics on a registry of its own (not the global
 * one, so several hosts in one process do not clash):
 * `hotswap_reloads_total{plugin,action,outcome}`, `hotswap_reload_failures_total{plugin,phase}`,
 * `hotswap_reload_duration_seconds{plugin,action}` (histogram), `hotswap_plugins{state}`,
 * `hotswap_pending_changes`, `hotswap_enabled`, plus Node's default process metrics.
 *
 * @param pipeline - read on every scrape for the gauges
 * @param journal - where reload results come from
 * @returns the registry and a `close()`
 * @example
 * ```ts
 * const metrics = createHostMetrics(pipeline, journal)
 * const text = await metrics.registry.metrics()
 * ```
 */
export function createHostMetrics(pipeline: Pick<ReloadPipeline, 'status'>, journal: EventJournal): HostMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'hotswap_host_' })
  const reloads = new Counter({
    name: 'hotswap_reloads_total',
    help: 'Loads, reloads and unloads applied by the pipeline, by plugin, action and outcome.',
    labelNames: ['plugin', 'action', 'outcome'] as const,
    registers: [registry],
  })
  const failures = new Counter({
    name: 'hotswap_reload_failures_total',
    help: 'Failed loads and reloads (after retries), by plugin and failed phase.',
    labelNames: ['plugin', 'phase'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'hotswap_reload_duration_seconds',
    help: 'Duration of loads and reloads from start to outcome, retries included.',
    labelNames: ['plugin', 'action'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  new Gauge({
    name: 'hotswap_plugins',
    help: 'Plugins known to the pipeline, by lifecycle state.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const p of pipeline.status().plugins) this.inc({ state: p.plugin?.state ?? (p.lastError !== undefined ? 'Failed' : 'Unloaded') })
    },
  })
  new Gauge({
    name: 'hotswap_pending_changes',
    help: 'Plugins with changes noted but not applied (policy or disabled).',
    registers: [registry],
    collect() {
      this.set(pipeline.status().plugins.filter((p) => p.pending !== undefined && p.pending.length > 0).length)
    },
  })
  new Gauge({
    name: 'hotswap_enabled',
    help: '1 when hot reloading is enabled, 0 when disabled.',
    registers: [registry],
    collect() {
      this.set(pipeline.status().enabled ? 1 : 0)
    },
  })
  new Gauge({
    name: 'hotswap_plugin_heap_bytes',
    help: 'JS heap of the serving version of each plugin, from its loader\'s last measurement (pool loader: its realm).',
    labelNames: ['plugin', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const p of pipeline.status().plugins) {
        const memory = p.plugin?.memory
        if (p.plugin !== undefined && memory !== undefined) this.set({ plugin: p.plugin.id, version: p.plugin.version }, memory.heapBytes)
      }
    },
  })
  const off = journal.subscribe(({ event }) => {
    if (event.type !== 'reload') return
    const plugin = pluginLabel(event)
    reloads.inc({ plugin, action: event.action, outcome: event.outcome })
    if (event.outcome === 'failed') failures.inc({ plugin, phase: event.failedPhase ?? 'unknown' })
    if (event.action !== 'unload') duration.observe({ plugin, action: event.action }, event.timings.totalMs / 1000)
  })
  return { registry, close: off }
}
