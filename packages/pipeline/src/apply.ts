import { filter, type Observable } from 'rxjs'
import { createCircuitBreaker } from '@hotswap/operators'
import { DependencyError } from '@hotswap/registry'
import type { PluginArtifact, PluginRegistry, PluginStatus, RegistryEvent } from '@hotswap/registry'
import { buildSlotArtifact, failedBuildHash, isDeterministic, stampFiles, type SlotArtifact } from './artifact.js'
import { runAttempts } from './attempts.js'
import { decide } from './decide.js'
import type { PipelineEvent, ReloadAction, ReloadResult, SkipReason } from './events.js'
import type { ResolvedOptions } from './options.js'
import { lookAgain, type PluginChange } from './plugin-change.js'
import { isPluginPath } from './plugin-layout.js'
import type { ReloadPolicy } from './policy.js'
import type { Slot, SlotTable } from './slot.js'
import type { FileStamp } from './settle.js'

/** A change on its way to being applied, with the slot's `seq` when it was routed. @internal */
export interface Work {
  readonly change: PluginChange
  readonly seq: number
}

/** What {@link applyChange} needs from the pipeline. @internal */
export interface ApplyContext {
  readonly options: ResolvedOptions
  readonly slots: SlotTable
  readonly registry: PluginRegistry
  readonly registryEvents$: Observable<RegistryEvent>
  policy(): ReloadPolicy
  closing(): boolean
  emit(event: PipelineEvent): void
  /** Notes a change the policy holds. */
  hold(change: PluginChange): void
  /** Routes a change again (a superseded preparation, the content check after a rename). */
  route(change: PluginChange): void
}

/**
 * Applies one change to one plugin: observes the path, asks {@link decide}, builds the artifact
 * when the decision needs its hash (and asks again), then does what was decided through the
 * registry, with retries and the breaker, and emits the outcome. Never rejects.
 *
 * @internal
 */
export async function applyChange(ctx: ApplyContext, work: Work): Promise<void> {
  const { change } = work
  const now = (): number => ctx.options.scheduler.now()
  const startedAt = now()
  const slot = ctx.slots.slot(change.path)
  refreshAlive(ctx, slot)
  const present = isPluginPath(change.kind === 'renamed' && change.to !== undefined ? change.to : change.path)
  let decision = decide(slot, { ...change, present, seq: work.seq }, ctx.policy(), now())
  let artifact: SlotArtifact | undefined
  let buildError: Error | undefined
  if (decision.kind === 'build') {
    const watched = [...new Set([...slot.inputs.keys(), ...change.changes.map((c) => c.path)])]
    const before = stampFiles(watched)
    try {
      artifact = await buildSlotArtifact(change.path)
    } catch (error) {
      buildError = asError(error)
    }
    if (artifact !== undefined) {
      const files = [...artifact.inputs.keys()]
      const stamps = stampFiles(files)
      const moved = files.some((file, i) => {
        const j = watched.indexOf(file)
        return j >= 0 && !sameStamp(before[j], stamps[i])
      })
      ctx.slots.setInputs(slot, artifact.inputs, new Map(files.flatMap((file, i) => (stamps[i] === undefined ? [] : [[file, stamps[i]] as [string, FileStamp]]))))
      if (moved) {
        // Written again while we read it: this read is not a version. Drop it and look again.
        skip(ctx, slot, 'superseded', change)
        ctx.route(lookAgain(change.path, change.cause, now()))
        return
      }
    }
    // Bytes that cannot even be built stand for themselves by their error (fail once for syntax errors too).
    const hash = artifact?.hash ?? failedBuildHash(buildError!)
    decision = decide(slot, { ...change, present, seq: work.seq, hash }, ctx.policy(), now())
    if (buildError !== undefined && (decision.kind === 'skip' && decision.reason === 'unchanged')) decision = { kind: 'reload', resetBreaker: false }
  }
  switch (decision.kind) {
    case 'build':
      return
    case 'wait':
      ctx.hold(change)
      return
    case 'skip':
      // A deletion of something that never loaded is no news.
      if (!(decision.reason === 'notAPlugin' && change.cause === 'change' && (change.kind === 'deleted' || change.kind === 'renamed'))) skip(ctx, slot, decision.reason, change)
      forgetIfIdle(ctx, slot)
      return
    case 'rename': {
      const id = slot.id!
      await ctx.registry.relocate(id, decision.to)
      const before = [...slot.inputs.values()].sort().join()
      const moved = ctx.slots.move(slot, decision.to)
      ctx.emit({ type: 'renamed', id, from: change.path, to: decision.to, at: now() })
      // The same bytes under a new name are the same version (the artifact hash names the file,
      // so compare the inputs' own hashes); anything else is checked as a change.
      const after = await buildSlotArtifact(moved.path).catch(() => undefined)
      if (after !== undefined && [...after.inputs.values()].sort().join() === before) {
        moved.liveHash = after.hash
        ctx.slots.setInputs(moved, after.inputs, new Map())
        return
      }
      ctx.route({ ...lookAgain(moved.path, 'change', now()), changes: change.changes })
      return
    }
    default:
      if (decision.kind !== 'unload' && decision.resetBreaker) slot.circuit?.reset()
      await run(ctx, slot, decision.kind, change, startedAt, artifact, buildError)
  }
}

async function run(ctx: ApplyContext, slot: Slot, action: ReloadAction, change: PluginChange, startedAt: number, first: SlotArtifact | undefined, firstError: Error | undefined): Promise<void> {
  const { registry, options } = ctx
  const id = slot.id
  const hashBefore = slot.liveHash
  const from = id !== undefined && registry.has(id) ? registry.status(id).version : undefined
  let artifact = first
  let seen: RegistryEvent | undefined
  const watch = ctx.registryEvents$
    .pipe(filter((e) => (e.type === 'loaded' || e.type === 'reloaded' || e.type === 'failed') && (('path' in e && e.path === slot.path) || ('id' in e && e.id !== undefined && e.id === id))))
    .subscribe((e) => (seen = e))
  if (action !== 'unload' && options.breaker !== undefined && slot.circuit === undefined) {
    slot.circuit = createCircuitBreaker({ name: slot.path, ...options.breaker, scheduler: options.scheduler })
  }
  const outcome = await runAttempts<PluginStatus | undefined>(
    async (n) => {
      if (action === 'unload') {
        await registry.unload(id!)
        return undefined
      }
      if (n === 1 && firstError !== undefined) throw firstError
      if (n > 1 || artifact === undefined) {
        artifact = undefined
        artifact = await buildSlotArtifact(slot.path)
        ctx.slots.setInputs(slot, artifact.inputs, slot.stamps)
      }
      const built = artifact.prebuilt
      if (action === 'reload' && related(registry, id!).length > 0) return together(registry, () => reloadWithRelated(ctx, id!, built))
      return (action === 'load' ? registry.load(built) : registry.reload(id!, built)).catch((error: unknown) => withDependent(registry, built, error))
    },
    {
      retry: action === 'unload' ? undefined : options.retry,
      breaker: action === 'unload' ? undefined : slot.circuit,
      scheduler: options.scheduler,
      retryable: (error) => !isDeterministic(error) && !ctx.closing(),
      onRetry: ({ attempt, delayMs, error }) => ctx.emit({ type: 'retry', path: slot.path, id, attempt, delayMs, error, at: options.scheduler.now() }),
    },
  )
  watch.unsubscribe()
  if (outcome.refused) {
    skip(ctx, slot, 'circuitOpen', change)
    return
  }
  const failure = outcome.error
  const status = outcome.value
  const hashAfter = action === 'unload' ? undefined : artifact?.hash
  const deterministic = failure !== undefined && isDeterministic(failure)
  if (failure === undefined) {
    if (action === 'unload') {
      ctx.slots.setId(slot, undefined)
      slot.liveHash = undefined
      slot.alive = false
    } else {
      ctx.slots.setId(slot, status?.id ?? id)
      slot.liveHash = hashAfter
      slot.alive = true
    }
    slot.failedHash = undefined
    slot.failedDeterministic = false
    slot.lastError = undefined
  } else {
    slot.failedHash = hashAfter ?? failedBuildHash(failure)
    slot.failedDeterministic = deterministic
    slot.lastError = failure
  }
  const end = options.scheduler.now()
  const e = seen
  const result: ReloadResult = {
    type: 'reload',
    id: status?.id ?? id,
    path: slot.path,
    action,
    cause: change.cause,
    changes: change.changes,
    hashBefore,
    hashAfter,
    policy: ctx.policy().kind,
    timings: {
      detectedMs: change.lastAt - change.firstAt,
      waitedMs: Math.max(0, startedAt - change.lastAt),
      prepareMs: e?.type === 'reloaded' ? e.phases.prepareMs : e?.type === 'loaded' ? e.durationMs : 0,
      drainMs: e?.type === 'reloaded' ? e.phases.drainMs : 0,
      stateMs: e?.type === 'reloaded' ? e.phases.stateMs : 0,
      switchMs: e?.type === 'reloaded' ? e.phases.switchMs : 0,
      totalMs: end - startedAt,
    },
    outcome: failure === undefined ? 'success' : 'failed',
    from,
    to: status?.version,
    attempts: outcome.attempts,
    error: failure,
    deterministic,
    failedPhase: e?.type === 'failed' && failure !== undefined ? e.phase : failure !== undefined && e === undefined ? 'prepare' : undefined,
    at: end,
  }
  if (action !== 'unload') slot.metrics.record(failure === undefined, result.timings.totalMs, end)
  ctx.emit(result)
  if (action === 'unload' && failure === undefined) forgetIfIdle(ctx, slot)
}

function skip(ctx: ApplyContext, slot: Slot, reason: SkipReason, change: PluginChange): void {
  ctx.emit({ type: 'skipped', path: slot.path, id: slot.id, reason, changes: change.changes, at: ctx.options.scheduler.now() })
}

function refreshAlive(ctx: ApplyContext, slot: Slot): void {
  if (slot.id !== undefined && !ctx.registry.has(slot.id)) ctx.slots.setId(slot, undefined)
  slot.alive = slot.id !== undefined && ctx.registry.status(slot.id).alive
}

/** Forgets a slot with nothing loaded, failed or pending, so gone plugins leave nothing behind. */
function forgetIfIdle(ctx: ApplyContext, slot: Slot): void {
  if (slot.id === undefined && slot.pending === undefined && slot.lastError === undefined && ctx.slots.find(slot.path) === slot) ctx.slots.drop(slot)
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtime === b.mtime)
}

/**
 * A version refused because it and another plugin must change together (a new dependency range,
 * or a dependency's new major that its dependent already asks for): both reload as one batch,
 * in dependency order, with the other plugin's files as they are now. @internal
 */
async function withDependent(registry: PluginRegistry, built: PluginArtifact, error: unknown): Promise<PluginStatus> {
  if (!(error instanceof DependencyError) || error.code !== 'DEPENDENCY_UNSATISFIED') throw error
  const other = error.chain.find((id) => registry.has(id) && registry.status(id).path !== built.path)
  if (other === undefined) throw error
  const statuses = await registry.reloadMany([built, registry.status(other).path])
  return statuses.find((s) => s.path === built.path) ?? (statuses[0] as PluginStatus)
}

/** The loaded plugins `id` depends on and the loaded plugins that depend on it. */
function related(registry: PluginRegistry, id: string): string[] {
  const out = new Set<string>()
  for (const status of registry.list()) {
    if (status.id === id) for (const dep of Object.keys(status.dependsOn ?? {})) out.add(dep)
    else if (status.dependsOn !== undefined && Object.hasOwn(status.dependsOn, id)) out.add(status.id)
  }
  out.delete(id)
  return [...out].filter((other) => registry.has(other))
}

/** One at a time per registry: the reloads of plugins that depend on each other (so a batch is formed once). */
const queues = new WeakMap<PluginRegistry, Promise<unknown>>()
function together<T>(registry: PluginRegistry, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(registry) ?? Promise.resolve()).then(fn)
  queues.set(
    registry,
    run.then(
      () => undefined,
      () => undefined,
    ),
  )
  return run
}

/**
 * Reloads a plugin with the plugins it depends on and that depend on it whose files changed too
 * (as they are now): one `registry.reloadMany()`, in dependency order, so a watcher batch that
 * changes a dependency and its dependent swaps them together. A plugin a batch already swapped
 * to this very artifact is not reloaded again. @internal
 */
async function reloadWithRelated(ctx: ApplyContext, id: string, built: PluginArtifact): Promise<PluginStatus> {
  const { registry } = ctx
  if (registry.has(id) && registry.status(id).hash === built.hash) return registry.status(id)
  const companions: { slot: Slot; artifact: SlotArtifact }[] = []
  for (const other of related(registry, id)) {
    const slot = ctx.slots.find(registry.status(other).path)
    if (slot === undefined) continue
    const artifact = await buildSlotArtifact(slot.path).catch(() => undefined)
    if (artifact !== undefined && artifact.hash !== registry.status(other).hash) companions.push({ slot, artifact })
  }
  if (companions.length === 0) return registry.reload(id, built).catch((error: unknown) => withDependent(registry, built, error))
  const statuses = await registry.reloadMany([built, ...companions.map((c) => c.artifact.prebuilt)])
  for (const { slot, artifact } of companions) {
    ctx.slots.setInputs(slot, artifact.inputs, slot.stamps)
    slot.liveHash = artifact.hash
    slot.alive = true
    slot.failedHash = undefined
    slot.failedDeterministic = false
    slot.lastError = undefined
  }
  return statuses.find((s) => s.path === built.path) ?? (statuses[0] as PluginStatus)
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
