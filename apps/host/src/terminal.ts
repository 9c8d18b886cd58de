import { basename } from 'node:path'
import { createColors } from 'picocolors'
import type { PipelineEvent, PipelineStatus, ReloadResult } from '@hotswap/pipeline'
import { pluginJson, pluginLabel } from './serialize.js'

/** Options of {@link createTerminalView}. */
export interface TerminalViewOptions {
  /** Where lines go (e.g. `process.stdout.write`). */
  readonly write: (text: string) => void
  /** Use ANSI colours. Default: `supportsColor(process.stdout)`. */
  readonly color?: boolean
  /** Show skipped changes and registry debug lines. Default false. */
  readonly verbose?: boolean
}

/** The human view of the host: a plugin table and one line per reload and notable event. */
export interface TerminalView {
  /**
   * Prints a block of text lines.
   * @param lines - the lines
   */
  print(...lines: string[]): void
  /**
   * Prints the plugin table: id, version, state, loader, reloads, last reload.
   * @param status - `pipeline.status()`
   */
  table(status: PipelineStatus): void
  /**
   * Prints one line for an event worth a person's attention (reloads, failures, pending changes, policy).
   * @param event - a pipeline event
   */
  event(event: PipelineEvent, attempted?: string | null): void
}

/**
 * Whether a stream should get colours: a TTY without `NO_COLOR`, or `FORCE_COLOR` set.
 *
 * @param stream - the output stream
 * @param env - the environment
 * @returns whether to colour
 * @example
 * ```ts
 * supportsColor(process.stdout)
 * ```
 */
export function supportsColor(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true && env.TERM !== 'dumb'
}

/**
 * Creates the terminal view.
 *
 * @param options - where to write and whether to colour
 * @returns the view
 * @example
 * ```ts
 * const view = createTerminalView({ write: (s) => process.stdout.write(s) })
 * view.table(pipeline.status())
 * ```
 */
export function createTerminalView(options: TerminalViewOptions): TerminalView {
  const c = createColors(options.color ?? supportsColor(process.stdout))
  const out = (line: string): void => options.write(`${line}\n`)
  const time = (at: number): string => c.dim(new Date(at).toISOString().slice(11, 23))
  const ms = (n: number): string => `${n < 10 ? n.toFixed(1) : Math.round(n)}ms`.replace('.0ms', 'ms')

  const stateColour = (state: string): string =>
    state === 'Running' || state === 'Loaded' ? c.green(state) : state.startsWith('Failed') ? c.red(state) : c.yellow(state)

  const reloadLine = (r: ReloadResult, attempted: string | null | undefined): string => {
    const what = r.changes.length === 0 ? r.cause : describeChanges(r.changes)
    const versions = r.action === 'load' ? (r.to ?? '') : r.action === 'unload' ? (r.from ?? '') : `${r.from ?? '?'} → ${r.to ?? r.from ?? '?'}`
    if (r.outcome === 'failed') {
      const where = r.failedPhase === undefined ? '' : ` in ${r.failedPhase}`
      // Only a reload has a previous version that keeps serving; a failed first load serves nothing.
      const after = r.action === 'reload' && r.from !== undefined ? `— ${r.from} keeps serving` : r.action === 'load' ? '— not serving: fix the file and save it again' : ''
      // The version tried, when its module got as far as naming one: `1.0.0 → 1.1.0 refused`.
      const tried = typeof attempted === 'string' ? `${c.cyan(r.action === 'reload' ? `${r.from ?? '?'} → ${attempted}` : attempted)} ` : ''
      return `${time(r.at)} ${c.red('✗')} ${c.bold(r.action.padEnd(6))} ${c.bold(pluginLabel(r))} ${tried}${c.dim(what)} ${c.red(`failed${where} after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}: ${r.error?.message ?? 'unknown error'}`)} ${c.dim(after)}`.trimEnd()
    }
    const t = r.timings
    const phases =
      r.action === 'unload'
        ? `total ${ms(t.totalMs)}`
        : [`wait ${ms(t.waitedMs)}`, `prepare ${ms(t.prepareMs)}`, `drain ${ms(t.drainMs)}`, `state ${ms(t.stateMs)}`, `switch ${ms(t.switchMs)}`].join(c.dim(' │ ')) + c.dim(' = ') + c.bold(ms(t.totalMs))
    return `${time(r.at)} ${c.green('✓')} ${c.bold(r.action.padEnd(6))} ${c.bold(pluginLabel(r))} ${c.cyan(versions)} ${c.dim(what)}  ${phases}`
  }

  return {
    print(...lines) {
      for (const line of lines) out(line)
    },
    table(status) {
      const rows = status.plugins.map(pluginJson).map((p) => [
        p.id ?? p.label,
        p.version ?? '-',
        p.state,
        p.loader ?? '-',
        String(p.reloadCount),
        p.metrics.lastReloadAt === undefined ? '-' : new Date(p.metrics.lastReloadAt).toISOString().slice(11, 19),
        p.pending.length > 0 ? `${p.pending.length} pending` : p.lastError !== undefined ? p.lastError.message.slice(0, 60) : '',
      ])
      const head = ['plugin', 'version', 'state', 'loader', 'reloads', 'last reload', 'notes']
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
      const pad = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()
      out(c.bold(pad(head)))
      out(c.dim(widths.map((w) => '─'.repeat(w)).join('  ')))
      for (const row of rows) {
        const line = pad(row)
        const state = row[2]!
        out(line.replace(state.padEnd(widths[2]!), stateColour(state).padEnd(widths[2]! + (stateColour(state).length - state.length))))
      }
      if (rows.length === 0) out(c.dim('(no plugins yet: add a .mjs, .js, .cjs or .wasm file or a directory with a package.json)'))
      out(
        c.dim(`hot reload ${status.enabled ? 'enabled' : 'disabled'}, policy ${status.policy.kind}${status.policy.kind === 'Scheduled' ? ` every ${status.policy.intervalMs} ms` : ''}; watching ${status.dirs.join(', ')}`),
      )
    },
    event(e, attempted) {
      switch (e.type) {
        case 'reload':
          out(reloadLine(e, attempted))
          return
        case 'pending':
          out(`${time(e.at)} ${c.yellow('…')} ${c.bold('pending')} ${c.bold(e.id ?? basename(e.path))} ${c.dim(describeChanges(e.changes))} ${c.yellow(e.enabled ? `(policy ${e.policy}: send SIGUSR2 or POST /api/plugins/<id>/reload)` : '(hot reload disabled)')}`)
          return
        case 'skipped':
          if (options.verbose === true || (e.reason !== 'unchanged' && e.reason !== 'notAPlugin')) {
            out(`${time(e.at)} ${c.dim('·')} ${c.dim(`skipped ${e.id ?? basename(e.path)}: ${e.reason}`)}`)
          }
          return
        case 'retry':
          out(`${time(e.at)} ${c.yellow('↻')} retry ${e.id ?? basename(e.path)} #${e.attempt} in ${e.delayMs}ms: ${c.yellow(e.error instanceof Error ? e.error.message : String(e.error))}`)
          return
        case 'policy':
          out(`${time(e.at)} ${c.cyan('⏵')} hot reload ${e.enabled ? c.green('enabled') : c.yellow('disabled')}, policy ${e.policy.kind}`)
          return
        case 'renamed':
          out(`${time(e.at)} ${c.cyan('→')} renamed ${e.id}: ${basename(e.from)} → ${basename(e.to)}`)
          return
        case 'watcherError':
          out(`${time(e.at)} ${c.red('!')} watcher error: ${e.error.message} ${c.dim('(rescanning)')}`)
          return
        case 'ready':
          out(`${time(e.at)} ${c.green('●')} ready: ${e.plugins} plugin${e.plugins === 1 ? '' : 's'} loaded in ${ms(e.durationMs)}`)
          return
        case 'registry': {
          const r = e.event
          if (r.type === 'rolledBack') out(`${time(r.at)} ${c.magenta('↶')} ${c.bold('rollback')} ${c.bold(r.id)} ${c.cyan(`${r.from ?? '?'} → ${r.to}`)}`)
          else if (r.type === 'log' && (options.verbose === true || r.level !== 'debug')) {
            const colour = r.level === 'error' ? c.red : r.level === 'warn' ? c.yellow : c.dim
            // Loaders already prefix a plugin's own lines with [id@version]: do not repeat the name.
            const own = r.id !== undefined && (r.message.startsWith(`[${r.id}@`) || r.message.startsWith(`[${r.id}]`))
            out(`${time(r.at)} ${own ? '' : `${c.dim(`[${r.id ?? 'registry'}]`)} `}${colour(r.message)}`)
          }
          return
        }
        default:
          return
      }
    },
  }
}

function describeChanges(changes: readonly { readonly kind: string; readonly path: string }[]): string {
  if (changes.length === 0) return ''
  const names = [...new Set(changes.map((ch) => `${ch.kind} ${basename(ch.path)}`))]
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} +${names.length - 3}` : names.join(', ')
}
