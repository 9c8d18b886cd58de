import { describe, expect, it } from 'vitest'
import type { PipelineStatus, ReloadResult } from '@hotswap/pipeline'
import { createTerminalView, supportsColor } from './terminal.js'

const result = (over: Partial<ReloadResult> = {}): ReloadResult => ({
  type: 'reload',
  id: 'counter',
  path: '/p/counter.mjs',
  action: 'reload',
  cause: 'change',
  changes: [{ kind: 'modified', path: '/p/counter.mjs', root: '/p' }],
  hashBefore: 'a',
  hashAfter: 'b',
  policy: 'OnChange',
  timings: { detectedMs: 0, waitedMs: 30, prepareMs: 4.25, drainMs: 0.5, stateMs: 2, switchMs: 0.01, totalMs: 12 },
  outcome: 'success',
  from: '1.0.0',
  to: '1.1.0',
  attempts: 1,
  error: undefined,
  deterministic: false,
  failedPhase: undefined,
  at: Date.UTC(2025, 0, 1, 12, 0, 0),
  ...over,
})

function view(color: boolean): { lines: string[]; v: ReturnType<typeof createTerminalView> } {
  const lines: string[] = []
  return { lines, v: createTerminalView({ write: (s) => lines.push(...s.split('\n').filter((l) => l !== '')), color }) }
}

describe('terminal view', () => {
  it('one line per reload: what changed, versions and each phase', () => {
    const { lines, v } = view(false)
    v.event(result())
    expect(lines).toEqual(['12:00:00.000 ✓ reload counter 1.0.0 → 1.1.0 modified counter.mjs  wait 30ms │ prepare 4.3ms │ drain 0.5ms │ state 2ms │ switch 0ms = 12ms'])
  })

  it('a failed reload says where, how often and that the old version serves', () => {
    const { lines, v } = view(false)
    v.event(result({ outcome: 'failed', error: new Error('Unexpected token'), failedPhase: 'prepare', attempts: 4, to: undefined }))
    expect(lines[0]).toContain('✗ reload counter modified counter.mjs failed in prepare after 4 attempts: Unexpected token — 1.0.0 keeps serving')
  })

  it('a failed first load does not claim a previous version serves', () => {
    const { lines, v } = view(false)
    v.event(result({ action: 'load', from: undefined, to: undefined, outcome: 'failed', error: new Error('Unexpected token'), failedPhase: 'prepare' }))
    expect(lines[0]).toContain('failed in prepare after 1 attempt: Unexpected token — not serving')
    expect(lines[0]).not.toContain('keeps serving')
  })

  it("a plugin's log line shows its [id@version] once, not [id] [id@version]", () => {
    const { lines, v } = view(false)
    const at = Date.UTC(2025, 0, 1, 12, 0, 0)
    v.event({ type: 'registry', event: { type: 'log', id: 'greeter', level: 'info', message: '[greeter@1.0.0] hello', at } })
    v.event({ type: 'registry', event: { type: 'log', id: 'greeter', level: 'warn', message: 'reading the saved state of greeter failed', at } })
    expect(lines).toEqual(['12:00:00.000 [greeter@1.0.0] hello', '12:00:00.000 [greeter] reading the saved state of greeter failed'])
  })

  it('colours only when asked', () => {
    const plain = view(false)
    plain.v.event(result())
    expect(plain.lines[0]).not.toContain('\u001b[')
    const coloured = view(true)
    coloured.v.event(result())
    expect(coloured.lines[0]).toContain('\u001b[32m✓')
  })

  it('prints a table of plugins with version, state and last reload', () => {
    const { lines, v } = view(false)
    const status: PipelineStatus = {
      enabled: true,
      policy: { kind: 'OnChange' },
      dirs: ['/p'],
      totals: { reloads: 1, failures: 0, lastReloadAt: undefined, p50Ms: undefined, p90Ms: undefined, p99Ms: undefined },
      lastReload: undefined,
      plugins: [
        {
          path: '/p/counter.mjs',
          plugin: { id: 'counter', version: '1.1.0', state: 'Running', path: '/p/counter.mjs', hash: 'h', loader: 'worker', loadedAt: 0, reloadCount: 3, failedReloads: 0, lastError: undefined, inFlight: 0, previousVersion: '1.0.0', alive: true },
          pending: undefined,
          breaker: 'closed',
          lastError: undefined,
          inputs: ['/p/counter.mjs'],
          metrics: { reloads: 4, failures: 0, lastReloadAt: Date.UTC(2025, 0, 1, 9, 30, 5), p50Ms: 3, p90Ms: 3, p99Ms: 3 },
        },
      ],
    }
    v.table(status)
    expect(lines[0]).toMatch(/^plugin\s+version\s+state\s+loader\s+reloads\s+last reload\s+notes$/)
    expect(lines[2]).toMatch(/^counter\s+1\.1\.0\s+Running\s+worker\s+3\s+09:30:05$/)
    expect(lines.at(-1)).toBe('hot reload enabled, policy OnChange; watching /p')
  })

  it('supportsColor follows NO_COLOR, FORCE_COLOR and the TTY', () => {
    expect(supportsColor({ isTTY: true }, {})).toBe(true)
    expect(supportsColor({ isTTY: false }, {})).toBe(false)
    expect(supportsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(supportsColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true)
    expect(supportsColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
  })
})
