import { satisfies, validRange } from 'semver'
import { RegistryError } from './errors.js'

/**
 * A dependency problem (`DEPENDENCY_MISSING`, `DEPENDENCY_UNSATISFIED`, `DEPENDENCY_CYCLE`)
 * with the chain of plugin ids it is about, so a caller can act on it (for example reload the
 * dependent and its dependency together with `reloadMany`).
 *
 * @example
 * ```ts
 * await registry.reload('b').catch((error: unknown) => {
 *   if (error instanceof DependencyError && error.code === 'DEPENDENCY_UNSATISFIED') return registry.reloadMany(error.chain)
 *   throw error
 * })
 * ```
 */
export class DependencyError extends RegistryError {
  /** `'DependencyError'`. */
  override readonly name: string = 'DependencyError'
  /** The plugin ids involved, from the dependent to its dependency (a cycle ends where it starts). */
  readonly chain: readonly string[]

  /**
   * @param code - Which problem.
   * @param message - What is wrong and what to do.
   * @param chain - The ids involved, dependent first.
   * @example
   * ```ts
   * new DependencyError('DEPENDENCY_MISSING', 'plugin "a" depends on "b", which is not loaded', ['a', 'b'])
   * ```
   */
  constructor(code: 'DEPENDENCY_MISSING' | 'DEPENDENCY_UNSATISFIED' | 'DEPENDENCY_CYCLE', message: string, chain: readonly string[]) {
    super(code, message, { pluginId: chain[0] })
    this.chain = chain
  }
}

/** A plugin in the dependency graph: its version and what it depends on. */
export interface DependencyNode {
  readonly version: string
  readonly dependsOn: Readonly<Record<string, string>>
}

/**
 * Checks that every plugin `id` depends on is in `graph` at a version its range accepts, and
 * that the dependencies do not lead back to `id`.
 *
 * @internal
 * @throws {@link RegistryError} `DEPENDENCY_MISSING`, `DEPENDENCY_UNSATISFIED` or `DEPENDENCY_CYCLE`, naming the chain.
 */
export function checkDependencies(id: string, node: DependencyNode, graph: ReadonlyMap<string, DependencyNode>): void {
  for (const [dep, range] of Object.entries(node.dependsOn)) {
    if (validRange(range) === null) throw new RegistryError('INVALID_PLUGIN', `plugin "${id}": dependsOn.${dep} is ${JSON.stringify(range)}, not a semver range (like "^1.2.0")`, { pluginId: id })
    if (dep === id) throw new DependencyError('DEPENDENCY_CYCLE', `plugin "${id}" depends on itself: ${id} -> ${id}`, [id, id])
    const target = graph.get(dep)
    if (target === undefined) {
      throw new DependencyError('DEPENDENCY_MISSING', `plugin "${id}" depends on "${dep}" (${range}), which is not loaded (${id} -> ${dep}); load ${dep} first, or both with reloadMany()`, [id, dep])
    }
    if (!satisfies(target.version, range, { includePrerelease: true })) {
      throw new DependencyError('DEPENDENCY_UNSATISFIED', `plugin "${id}" needs ${dep} ${range}, but ${dep} is ${target.version} (${id} -> ${dep}@${target.version})`, [id, dep])
    }
  }
  const chain = cycleThrough(id, node, graph)
  if (chain !== undefined) throw new DependencyError('DEPENDENCY_CYCLE', `plugins depend on each other in a circle: ${chain.join(' -> ')}`, chain)
}

/**
 * Checks that `id` at `version` still satisfies every plugin of `graph` that depends on it,
 * except those in `changing` (they change in the same batch and are checked on their own).
 *
 * @internal
 * @throws {@link RegistryError} `DEPENDENCY_UNSATISFIED` naming the dependent and its range.
 */
export function checkDependents(id: string, version: string, graph: ReadonlyMap<string, DependencyNode>, changing: ReadonlySet<string>): void {
  for (const [other, node] of graph) {
    if (other === id || changing.has(other)) continue
    const range = node.dependsOn[id]
    if (range === undefined || satisfies(version, range, { includePrerelease: true })) continue
    throw new DependencyError(
      'DEPENDENCY_UNSATISFIED',
      `${id}@${version} was refused: plugin "${other}" needs ${id} ${range} (${other} -> ${id}@${version}); ${id}@${graph.get(id)?.version ?? 'the old version'} keeps serving. Change ${other} in the same batch (reloadMany) to move both`,
      [other, id],
    )
  }
}

/**
 * Orders a batch so that every plugin comes after the plugins of the batch it depends on.
 *
 * @internal
 * @throws {@link RegistryError} `DEPENDENCY_CYCLE` naming the circle.
 */
export function dependencyOrder(batch: ReadonlyMap<string, DependencyNode>): string[] {
  const order: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (id: string, path: string[]): void => {
    const seen = state.get(id)
    if (seen === 'done') return
    if (seen === 'visiting') {
      const chain = [...path.slice(path.indexOf(id)), id]
      throw new DependencyError('DEPENDENCY_CYCLE', `plugins depend on each other in a circle: ${chain.join(' -> ')}`, chain)
    }
    state.set(id, 'visiting')
    for (const dep of Object.keys(batch.get(id)?.dependsOn ?? {})) if (batch.has(dep)) visit(dep, [...path, id])
    state.set(id, 'done')
    order.push(id)
  }
  for (const id of batch.keys()) visit(id, [])
  return order
}

function cycleThrough(id: string, node: DependencyNode, graph: ReadonlyMap<string, DependencyNode>): string[] | undefined {
  const seen = new Set<string>()
  const walk = (current: string, deps: Readonly<Record<string, string>>, path: string[]): string[] | undefined => {
    for (const dep of Object.keys(deps)) {
      if (dep === id) return [...path, dep]
      if (seen.has(dep)) continue
      seen.add(dep)
      const next = graph.get(dep)
      if (next === undefined) continue
      const found = walk(dep, next.dependsOn, [...path, dep])
      if (found !== undefined) return found
    }
    return undefined
  }
  return walk(id, node.dependsOn, [id])
}
