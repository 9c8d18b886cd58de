import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { firstValueFrom, filter, timeout, type Observable } from 'rxjs'
import { afterEach, beforeEach } from 'vitest'
import type { PipelineEvent, ReloadResult } from '../events.js'
import { createReloadPipeline, type PipelineLogger, type ReloadPipeline, type ReloadPipelineOptions } from '../index.js'

/** A temp dir with its `plugins` and `state` folders. */
export interface Dirs {
  readonly root: string
  readonly plugins: string
  readonly state: string
  readonly cleanup: () => Promise<void>
}

/** A fresh temp dir with a `plugins` folder and a `state` folder. */
export async function makeDirs(): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), 'hotswap-pipeline-'))
  const plugins = join(root, 'plugins')
  const state = join(root, 'state')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(plugins)
  await mkdir(state)
  return { root, plugins, state, cleanup: () => rm(root, { recursive: true, force: true }) }
}

/** Source of a counter plugin whose `get()` tells its version and count; state is the count. */
export function counterPlugin(name: string, version: string, extra = ''): string {
  return `let count = 0
export default {
  name: ${JSON.stringify(name)},
  version: ${JSON.stringify(version)},
  setup(ctx) {
    if (ctx.state && typeof ctx.state.count === 'number') count = ctx.state.count
    return {
      inc: () => ++count,
      get: () => ({ version: ${JSON.stringify(version)}, count }),
    }
  },
  saveState() { return { count } },
}
${extra}
`
}

/** Writes a file through a temp file and a rename, as editors and bundlers do. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  await writeFile(tmp, text)
  await rename(tmp, path)
}

/** Resolves with the first event that matches, or fails after `ms`. */
export function nextEvent<E extends PipelineEvent>(events$: Observable<PipelineEvent>, match: (e: PipelineEvent) => e is E, ms?: number): Promise<E>
export function nextEvent(events$: Observable<PipelineEvent>, match: (e: PipelineEvent) => boolean, ms?: number): Promise<PipelineEvent>
export function nextEvent(events$: Observable<PipelineEvent>, match: (e: PipelineEvent) => boolean, ms = 10_000): Promise<PipelineEvent> {
  return firstValueFrom(events$.pipe(filter(match), timeout({ first: ms })))
}

/** Collects events into an array until `stop()`. */
export function collect(events$: Observable<PipelineEvent>): { events: PipelineEvent[]; stop: () => void } {
  const events: PipelineEvent[] = []
  const sub = events$.subscribe((e) => events.push(e))
  return { events, stop: () => sub.unsubscribe() }
}

/** Polls a condition until it holds, or fails after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Narrows an event to a reload result. */
export const isReload = (e: PipelineEvent): e is ReloadResult => e.type === 'reload'

/**
 * Registers a fresh temp dir per test and closes the pipeline a test started. `start(extra)`
 * creates a pipeline on `dirs.plugins` with state in `dirs.state` (debounce 30 ms, no reconcile),
 * whose log lines go to `logs` (`level: message`).
 */
export function usePipeline(): { readonly dirs: Dirs; readonly logs: string[]; start: (extra?: Partial<ReloadPipelineOptions>) => ReloadPipeline } {
  let dirs: Dirs | undefined
  let pipeline: ReloadPipeline | undefined
  const logs: string[] = []
  const logger: PipelineLogger = {
    debug: (m) => void logs.push(`debug: ${m}`),
    info: (m) => void logs.push(`info: ${m}`),
    warn: (m) => void logs.push(`warn: ${m}`),
    error: (m) => void logs.push(`error: ${m}`),
  }
  beforeEach(async () => {
    dirs = await makeDirs()
    logs.length = 0
  })
  afterEach(async () => {
    await pipeline?.close()
    pipeline = undefined
    await dirs?.cleanup()
  })
  return {
    logs,
    get dirs(): Dirs {
      if (dirs === undefined) throw new Error('usePipeline().dirs is only there inside a test')
      return dirs
    },
    start(extra = {}) {
      const d = this.dirs
      pipeline = createReloadPipeline({ dirs: [d.plugins], stateDir: d.state, debounce: 30, reconcileIntervalMs: 0, logger, ...extra })
      return pipeline
    },
  }
}

/** Two full garbage collections with a turn of the event loop between them (flag set at run time). */
export async function fullGc(): Promise<void> {
  const { setFlagsFromString } = await import('node:v8')
  const { runInNewContext } = await import('node:vm')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  await new Promise((r) => setImmediate(r))
  gc()
}
