// Test support: the kill-and-verify loop shared by the crash test (and mirrored by the bench soak).
import { readdir } from 'node:fs/promises'
import type { StateStoreEvent } from '../events.js'
import { fileAdapter } from '../file-adapter.js'
import { createStateStore } from '../state-store.js'
import { exited, nextMessage, startChild } from './child-process.js'
import type { ChildMessage } from './child-process.js'
import { payloadFor } from './payload.js'

/** What one lane of kills observed. */
export interface CrashLaneReport {
  kills: number
  /** Kills that landed after the child had acknowledged at least one save in that life. */
  killsWhileSaving: number
  /** Kills after which a temp file (a write cut short) was found before reopening. */
  killsWithTornTemp: number
  /** Saves acknowledged by children over the whole lane. */
  acknowledged: number
  /** Problems found: unreadable or torn snapshots, lost acknowledged saves. Must stay empty. */
  problems: string[]
}

/** Options of {@link runCrashLane}. */
export interface CrashLaneOptions {
  readonly script: string
  readonly dir: string
  readonly kills: number
  readonly plugins: number
  readonly maxBody: number
  /** Random source in [0, 1). */
  readonly random: () => number
}

/**
 * Starts a saving child, SIGKILLs it at a random moment, reopens the store and checks that
 * every plugin's latest snapshot (and its history) is whole and no older than the last save
 * the child acknowledged; repeated `kills` times on one directory.
 */
export async function runCrashLane(options: CrashLaneOptions): Promise<CrashLaneReport> {
  const { script, dir, kills, plugins, maxBody, random } = options
  const ids = Array.from({ length: plugins }, (_, i) => `plugin-${i}`)
  const acked = new Map<string, number>(ids.map((id) => [id, 0]))
  const report: CrashLaneReport = { kills: 0, killsWhileSaving: 0, killsWithTornTemp: 0, acknowledged: 0, problems: [] }
  for (let kill = 0; kill < kills; kill++) {
    const child = startChild(script, [dir, String(plugins), String(maxBody)])
    let ackedThisLife = 0
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'acked') return
      const id = String(message.id)
      const seq = Number(message.seq)
      ackedThisLife++
      report.acknowledged++
      if (seq > (acked.get(id) ?? 0)) acked.set(id, seq)
    })
    if (random() < 0.2) {
      // Sometimes kill during start-up: while it takes the lock, cleans up, reads.
      await delay(random() * 100)
    } else {
      // Otherwise kill while it saves: after its first acknowledged save, at a random moment.
      await nextMessage(child, 'acked', 20_000)
      await delay(random() * 25)
    }
    child.kill('SIGKILL')
    await exited(child)
    report.kills++
    if (ackedThisLife > 0) report.killsWhileSaving++
    if ((await readdir(dir)).some((name) => name.endsWith('.tmp') && !name.startsWith('.lock'))) report.killsWithTornTemp++
    await verify(dir, ids, acked, maxBody, report.problems, kill)
  }
  return report
}

async function verify(
  dir: string,
  ids: readonly string[],
  acked: ReadonlyMap<string, number>,
  maxBody: number,
  problems: string[],
  kill: number,
): Promise<void> {
  const events: StateStoreEvent[] = []
  const store = await createStateStore({ adapter: fileAdapter({ dir }), maxHistory: 3, onEvent: (e) => events.push(e) })
  try {
    const leftovers = (await readdir(dir)).filter((name) => name.endsWith('.tmp'))
    if (leftovers.length > 0) problems.push(`kill ${kill}: temp files left after open: ${leftovers.join(', ')}`)
    for (const id of ids) {
      const history = await store.history<{ seq: number }>(id).catch((error: unknown) => {
        problems.push(`kill ${kill}: ${id}: ${String(error)}`)
        return []
      })
      const floor = acked.get(id) ?? 0
      const latest = history[0]
      if (latest === undefined) {
        if (floor > 0) problems.push(`kill ${kill}: ${id}: no snapshot, but save ${floor} was acknowledged`)
        continue
      }
      if (latest.data.seq < floor) problems.push(`kill ${kill}: ${id}: latest is ${latest.data.seq}, save ${floor} was acknowledged`)
      for (const [i, snapshot] of history.entries()) {
        const seq = snapshot.data.seq
        if (JSON.stringify(snapshot.data) !== JSON.stringify(payloadFor(id, seq, maxBody))) {
          problems.push(`kill ${kill}: ${id}: snapshot ${seq} is torn (content does not match its sequence number)`)
        }
        if (i > 0 && seq !== (history[i - 1]?.data.seq ?? 0) - 1) problems.push(`kill ${kill}: ${id}: history has a gap at ${seq}`)
      }
    }
    for (const event of events) if (event.type === 'corrupt') problems.push(`kill ${kill}: ${event.error.message}`)
  } finally {
    await store.close()
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
