import { RegistryError } from './errors.js'

/**
 * Where a plugin is in its life:
 * `Unloaded` → `Loading` → `Loaded` → `Running` ⇄ `Reloading`, `Failed` after an error
 * (the previous version, if any, keeps serving), `Unloading` → `Unloaded`.
 */
export type LifecycleState = 'Unloaded' | 'Loading' | 'Loaded' | 'Running' | 'Reloading' | 'Failed' | 'Unloading'

/**
 * The allowed transitions of {@link LifecycleState}; anything else is refused with
 * `INVALID_TRANSITION`.
 *
 * @internal
 */
export const LIFECYCLE_TRANSITIONS: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = Object.freeze({
  Unloaded: ['Loading'],
  Loading: ['Loaded', 'Failed'],
  Loaded: ['Running', 'Unloading'],
  Running: ['Reloading', 'Unloading', 'Failed'],
  Reloading: ['Running', 'Failed'],
  Failed: ['Reloading', 'Loading', 'Unloading'],
  Unloading: ['Unloaded'],
})

/**
 * Whether the lifecycle may go from `from` to `to`.
 *
 * @internal
 */
export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return LIFECYCLE_TRANSITIONS[from].includes(to)
}

/**
 * A plugin's lifecycle state machine: holds the state and refuses forbidden moves
 * (`INVALID_TRANSITION`).
 *
 * @internal
 */
export class Lifecycle {
  #state: LifecycleState = 'Unloaded'
  readonly #id: string

  /** @param id - The plugin id, for error messages. */
  constructor(id: string) {
    this.#id = id
  }

  /** The current state. */
  get state(): LifecycleState {
    return this.#state
  }

  /**
   * Moves to `next`.
   *
   * @param next - The wanted state.
   * @returns The state before the move.
   * @throws {@link RegistryError} `INVALID_TRANSITION` when the move is not allowed.
   */
  to(next: LifecycleState): LifecycleState {
    const prev = this.#state
    if (!canTransition(prev, next)) {
      throw new RegistryError('INVALID_TRANSITION', `plugin "${this.#id}" cannot go from ${prev} to ${next}`, { pluginId: this.#id })
    }
    this.#state = next
    return prev
  }
}
