// Helpers for this package's tests (not part of the build: tsup bundles only cli.ts and index.ts).
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS, type HostConfig } from './options.js'
import type { EventJournal, JournalEntry } from './journal.js'

/** A fresh temp dir with `plugins` and `state` folders. */
export async function makeDirs(prefix = 'hotswap-host-'): Promise<{ root: string; plugins: string; state: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  const plugins = join(root, 'plugins')
  const state = join(root, 'state')
  await mkdir(plugins)
  return { root, plugins, state, cleanup: () => rm(root, { recursive: true, force: true }) }
}

/** Settings for a host in a test: a free port, temp dirs, no colours. */
export function testConfig(dirs: { plugins: string; state: string }, overrides: Partial<HostConfig> = {}): HostConfig {
  return { ...DEFAULTS, port: 0, dirs: [dirs.plugins], stateDir: dirs.state, configFile: undefined, ...overrides }
}

/** Source of a counter plugin whose `get()` tells its version and count. */
export function counterSource(version: string, extra = ''): string {
  return `let count = 0
export default {
  name: 'counter',
  version: ${JSON.stringify(version)},
  setup(ctx) {
    if (ctx.state && typeof ctx.state.count === 'number') count = ctx.state.count
    return { inc: () => ++count, get: () => ({ version: ${JSON.stringify(version)}, count }) }
  },
  saveState() { return { count } },
}
${extra}
`
}

/** Writes a file through a temp file and a rename, as editors and bundlers do. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = join(path, '..', `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
  await writeFile(tmp, text)
  await rename(tmp, path)
}

/** Resolves with the first later journal entry that matches, or rejects after `ms`. */
export function nextEntry(journal: EventJournal, match: (entry: JournalEntry) => boolean, ms = 5000, what = 'a matching event'): Promise<JournalEntry> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
    const off = journal.subscribe((entry) => {
      if (!match(entry)) return
      clearTimeout(timer)
      off()
      resolve(entry)
    })
  })
}

/** Polls a condition until it holds, or fails after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
