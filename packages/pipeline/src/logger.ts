import { relative } from 'node:path'
import type { PipelineEvent } from './events.js'

/**
 * Where the pipeline writes what a person should see without subscribing to `events$`: failed
 * loads and reloads (once per failure, with the location), retries, watcher errors. The shape
 * is the registry's `RegistryLogger`, so one logger can serve both.
 */
export interface PipelineLogger {
  /** Debug lines (skips, settles). */
  debug(message: string): void
  /** Info lines (loads, reloads, renames). */
  info(message: string): void
  /** Warnings (a retry, a watcher reconnect). */
  warn(message: string): void
  /** Errors (a failed load or reload, a watcher error). */
  error(message: string): void
}

/**
 * The default logger: warnings and errors on the console, debug and info dropped, so that a
 * broken save is never silent when the pipeline is used as a library.
 *
 * @example
 * ```ts
 * createReloadPipeline({ dirs: ['plugins'], logger: consoleWarnings })
 * ```
 */
export const consoleWarnings: PipelineLogger = {
  debug() {},
  info() {},
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
}

/** Writes the line an event deserves, if any. @internal */
export function logEvent(logger: PipelineLogger, event: PipelineEvent, dirs: readonly string[]): void {
  switch (event.type) {
    case 'reload': {
      const name = event.id ?? label(event.path, dirs)
      if (event.outcome === 'success') {
        logger.info(`hotswap: ${event.action} ${name}${event.to === undefined ? '' : `@${event.to}`} in ${Math.round(event.timings.totalMs)} ms`)
        return
      }
      const tries = event.attempts > 1 ? ` after ${event.attempts} attempts` : ''
      const phase = event.failedPhase === undefined ? '' : ` (${event.failedPhase})`
      const next = event.deterministic ? '; not retried until its files change' : ''
      const serving = event.from === undefined ? '' : `; ${event.from} keeps serving`
      logger.error(`hotswap: ${event.action} of ${name} failed${phase}${tries}: ${event.error?.message ?? 'unknown error'}${serving}${next}`)
      return
    }
    case 'retry':
      logger.warn(`hotswap: ${event.id ?? label(event.path, dirs)}: attempt ${event.attempt} failed (${errorText(event.error)}); retrying in ${Math.round(event.delayMs)} ms`)
      return
    case 'watcherError':
      logger.error(`hotswap: the file watcher failed (${event.error.message}); rescanning and watching again`)
      return
    case 'renamed':
      logger.info(`hotswap: ${event.id} moved from ${label(event.from, dirs)} to ${label(event.to, dirs)}`)
      return
    case 'skipped':
      logger.debug(`hotswap: ${event.id ?? label(event.path, dirs)}: skipped (${event.reason})`)
      return
    default:
  }
}

function label(path: string, dirs: readonly string[]): string {
  for (const dir of dirs) {
    const rel = relative(dir, path)
    if (rel !== '' && !rel.startsWith('..')) return rel
  }
  return path
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
