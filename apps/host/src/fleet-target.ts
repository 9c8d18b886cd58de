// The fleet puts versions in service through the host's own reload pipeline: a fleet plugin
// lives in <stateDir>/fleet/plugins/<id>/, a folder the pipeline watches like any plugin dir,
// so a fleet version goes the way a disk change goes (gate, drain, state move, events,
// retries, breaker) and a restarted host loads what it served last from there.
import { mkdirSync } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { filter, firstValueFrom, timeout } from 'rxjs'
import { FleetError, hashFleetFolder, writeArtifact } from '@hotswap/fleet'
import type { FleetArtifact, FleetTarget } from '@hotswap/fleet'
import type { PipelineEvent, ReloadPipeline } from '@hotswap/pipeline'

/** The folders of a host's fleet plugins, under its state directory. */
export interface FleetFolders {
  /** Watched by the pipeline: one folder per fleet plugin, the version it serves. */
  readonly plugins: string
  /** Versions written whole and verified before they are moved into `plugins`. */
  readonly staging: string
  /** Replaced versions on their way out (removed after the move). */
  readonly trash: string
}

/**
 * The fleet folders of a state directory, created (synchronously: before the pipeline starts,
 * which refuses a plugin dir that does not exist).
 *
 * @param stateDir - the host's state directory
 * @returns the three folders
 */
export function fleetFolders(stateDir: string): FleetFolders {
  const root = join(stateDir, 'fleet')
  const folders = { plugins: join(root, 'plugins'), staging: join(root, 'staging'), trash: join(root, 'trash') }
  for (const dir of Object.values(folders)) mkdirSync(dir, { recursive: true, mode: 0o700 })
  return folders
}

/** What the pipeline target tells the host integration after each change. */
export interface PipelineTargetHooks {
  /** The registry hash now serving plugin `id` for the fleet (`undefined`: none). */
  serving(id: string, registryHash: string | undefined): void
}

/** How long one fleet version may take to go through the pipeline before the apply fails. */
const APPLY_TIMEOUT_MS = 120_000

/**
 * A fleet target that applies through the pipeline: the artifact (hash verified by the fleet
 * host) is written whole into the staging folder and verified again from disk, the serving
 * folder is swapped for it (two renames on one file system), then `pipeline.trigger` reloads
 * it now whatever the local policy, and the pipeline's own `reload` event is the outcome.
 *
 * @param pipeline - the host's pipeline (its dirs include `folders.plugins`)
 * @param folders - see {@link fleetFolders}
 * @param hooks - told which registry hash serves a fleet plugin after each change
 * @returns the target for `joinFleet`
 */
export function pipelineTarget(pipeline: ReloadPipeline, folders: FleetFolders, hooks: PipelineTargetHooks): FleetTarget {
  const registry = pipeline.registry
  const servingPath = (id: string): string => join(folders.plugins, id)
  const foreign = (id: string): string | undefined => {
    if (!registry.has(id)) return undefined
    const path = registry.status(id).path
    return dirname(path) === folders.plugins ? undefined : path
  }
  let trashed = 0
  const moveAway = async (path: string): Promise<boolean> => {
    if (!(await exists(path))) return false
    const away = join(folders.trash, `${Date.now()}-${process.pid}-${++trashed}`)
    await rename(path, away)
    void rm(away, { recursive: true, force: true }).catch(() => undefined)
    return true
  }
  return {
    async apply(artifact: FleetArtifact) {
      const other = foreign(artifact.id)
      if (other !== undefined) {
        throw new FleetError('APPLY_FAILED', `plugin ${artifact.id} is served here from ${other}, one of this host's own plugin folders; a fleet plugin must come from the fleet alone: remove it from that folder (or publish it under another name)`)
      }
      const staged = await writeArtifact(folders.staging, artifact)
      const onDisk = await hashFleetFolder(staged)
      if (onDisk !== artifact.hash) {
        await rm(staged, { recursive: true, force: true })
        throw new FleetError('HASH_MISMATCH', `plugin ${artifact.id} ${artifact.version}: the files written to ${staged} hash to ${onDisk ?? 'nothing readable'}, not ${artifact.hash}; refused`)
      }
      const path = servingPath(artifact.id)
      const outcome = nextOutcome(pipeline, path, 'reload')
      await moveAway(path)
      await rename(staged, path)
      void rm(dirname(staged), { recursive: true, force: true }).catch(() => undefined)
      pipeline.trigger(path).catch(() => undefined) // the outcome is the reload event
      const event = await outcome
      if (event.type === 'skipped' && event.reason !== 'unchanged') {
        throw new FleetError('APPLY_FAILED', `the pipeline skipped ${artifact.id} ${artifact.version}: ${event.reason}`)
      }
      if (event.type === 'reload' && event.outcome === 'failed') {
        throw new FleetError('APPLY_FAILED', `${artifact.id} ${artifact.version} failed in the pipeline (${event.failedPhase ?? 'load'}): ${event.error?.message ?? 'no reason given'}`, { cause: event.error })
      }
      hooks.serving(artifact.id, registry.has(artifact.id) ? registry.status(artifact.id).hash : undefined)
    },
    async remove(id: string) {
      const path = servingPath(id)
      if (!registry.has(id) || registry.status(id).path !== path) {
        await moveAway(path)
        hooks.serving(id, undefined)
        return
      }
      const outcome = nextOutcome(pipeline, path, 'unload')
      await moveAway(path)
      pipeline.trigger(path).catch(() => undefined)
      const event = await outcome
      hooks.serving(id, undefined)
      if (event.type === 'reload' && event.outcome === 'failed') throw new FleetError('APPLY_FAILED', `unloading ${id} failed: ${event.error?.message ?? 'no reason given'}`, { cause: event.error })
    },
    async current(id: string) {
      if (!registry.has(id) || registry.status(id).path !== servingPath(id)) return undefined
      const hash = await hashFleetFolder(servingPath(id))
      if (hash !== undefined) hooks.serving(id, registry.status(id).hash)
      return hash
    },
  }
}

/** The pipeline's next word on `path` (a superseded attempt is not one: the newer one follows). */
async function nextOutcome(pipeline: ReloadPipeline, path: string, kind: 'reload' | 'unload'): Promise<Extract<PipelineEvent, { type: 'reload' | 'skipped' }>> {
  const word = await firstValueFrom(
    pipeline.events$.pipe(
      filter((e): e is Extract<PipelineEvent, { type: 'reload' | 'skipped' }> => (e.type === 'reload' || e.type === 'skipped') && e.path === path),
      filter((e) => (e.type === 'skipped' ? e.reason !== 'superseded' : kind === 'unload' ? e.action === 'unload' : e.action !== 'unload')),
      timeout({ first: APPLY_TIMEOUT_MS, with: () => { throw new FleetError('APPLY_FAILED', `the pipeline did not ${kind} ${path} within ${APPLY_TIMEOUT_MS / 1000} s`) } }),
    ),
  )
  return word
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}
