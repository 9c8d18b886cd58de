import { basename } from 'node:path'
import type { PipelineEvent, PipelinePluginStatus, PipelineStatus, ReloadResult } from '@hotswap/pipeline'

/** An error as the API shows it. */
export interface ErrorJson {
  readonly name: string
  readonly code: string | undefined
  readonly message: string
  readonly cause?: ErrorJson | undefined
}

/** A plugin as the API shows it (`GET /api/plugins`). */
export interface PluginJson {
  /** The plugin id, once it loaded (undefined for a plugin that never loaded). */
  readonly id: string | undefined
  /** The file or directory name. */
  readonly label: string
  /** The plugin's file or directory, absolute (`path`, as in every hotswap API). */
  readonly path: string
  readonly version: string | undefined
  readonly state: string
  readonly loader: string | undefined
  readonly hash: string | undefined
  readonly loadedAt: number | undefined
  readonly reloadCount: number
  readonly failedReloads: number
  readonly inFlight: number
  readonly previousVersion: string | undefined
  readonly alive: boolean
  readonly pending: readonly { readonly kind: string; readonly path: string }[]
  readonly breaker: string
  readonly lastError: ErrorJson | undefined
  readonly metrics: PipelinePluginStatus['metrics']
}

/**
 * Converts an error (or anything thrown) to JSON: name, code, message and the cause chain.
 *
 * @param error - what was thrown
 * @returns its JSON form
 * @example
 * ```ts
 * errorJson(new Error('boom')) // { name: 'Error', code: undefined, message: 'boom' }
 * ```
 */
export function errorJson(error: unknown, depth = 0): ErrorJson {
  if (!(error instanceof Error)) return { name: 'Error', code: undefined, message: String(error) }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    code: typeof code === 'string' ? code : undefined,
    message: error.message,
    ...(error.cause !== undefined && depth < 3 ? { cause: errorJson(error.cause, depth + 1) } : {}),
  }
}

/**
 * Converts a value with errors inside (events, statuses) to plain JSON.
 *
 * @param value - any pipeline event or status
 * @returns the same data as JSON-safe objects (errors become {@link ErrorJson})
 * @example
 * ```ts
 * const json = toJson(event)
 * ```
 */
export function toJson<T>(value: T): unknown {
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? errorJson(v) : v))
  return text === undefined ? null : (JSON.parse(text) as unknown)
}

/**
 * One plugin of the pipeline's status, for the API.
 *
 * @param p - the plugin's status from `pipeline.status()`
 * @returns its JSON form
 * @example
 * ```ts
 * pipeline.status().plugins.map(pluginJson)
 * ```
 */
export function pluginJson(p: PipelinePluginStatus): PluginJson {
  const s = p.plugin
  return {
    id: s?.id,
    label: basename(p.path),
    path: p.path,
    version: s?.version,
    state: s?.state ?? (p.lastError !== undefined ? 'Failed' : 'Unloaded'),
    loader: s?.loader,
    hash: s?.hash,
    loadedAt: s?.loadedAt,
    reloadCount: s?.reloadCount ?? 0,
    // The pipeline's count (reloads that failed after their retries), as in the status totals.
    failedReloads: p.metrics.failures,
    inFlight: s?.inFlight ?? 0,
    previousVersion: s?.previousVersion,
    alive: s?.alive ?? false,
    pending: (p.pending ?? []).map((c) => ({ kind: c.kind, path: c.path })),
    breaker: p.breaker,
    // The pipeline clears its error when a reload succeeds; the registry's is kept only while the plugin is not running.
    lastError: p.lastError !== undefined ? errorJson(p.lastError) : s?.lastError !== undefined && s.state !== 'Running' ? errorJson(s.lastError) : undefined,
    metrics: p.metrics,
  }
}

/**
 * The pipeline's status, for `GET /api/status`.
 *
 * @param status - `pipeline.status()`
 * @returns enabled, policy, dirs, counts, the last reload and the plugins
 * @example
 * ```ts
 * reply.send(statusJson(pipeline.status()))
 * ```
 */
export function statusJson(status: PipelineStatus): Record<string, unknown> {
  return {
    enabled: status.enabled,
    policy: status.policy,
    dirs: status.dirs,
    reloads: status.totals.reloads,
    failedReloads: status.totals.failures,
    lastReloadAt: status.totals.lastReloadAt,
    durations: { p50Ms: status.totals.p50Ms, p90Ms: status.totals.p90Ms, p99Ms: status.totals.p99Ms },
    lastReload: status.lastReload === undefined ? undefined : toJson(status.lastReload),
    plugins: status.plugins.map(pluginJson),
  }
}

/**
 * A short name for the plugin of an event: its id, or its file name.
 *
 * @param e - a reload result or any event with a plugin path
 * @returns the id or the basename of the path
 * @example
 * ```ts
 * pluginLabel(result) // 'counter'
 * ```
 */
export function pluginLabel(e: Pick<ReloadResult, 'id' | 'path'>): string {
  return e.id ?? basename(e.path)
}

/**
 * The name of an event on the SSE stream: the event type, or `registry.<type>` for registry events.
 *
 * @param e - a pipeline event
 * @returns the SSE event name
 * @example
 * ```ts
 * eventName({ type: 'registry', event: { type: 'loaded', ... } }) // 'registry.loaded'
 * ```
 */
export function eventName(e: PipelineEvent): string {
  return e.type === 'registry' ? `registry.${e.event.type}` : e.type
}
