import { describe, expect, it } from 'vitest'
import { RegistryError } from './errors.js'
import { LIFECYCLE_TRANSITIONS, Lifecycle, canTransition } from './lifecycle.js'
import type { LifecycleState } from './lifecycle.js'

const ALL: LifecycleState[] = ['Unloaded', 'Loading', 'Loaded', 'Running', 'Reloading', 'Failed', 'Unloading']

describe('lifecycle', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = ALL.flatMap((from) => ALL.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`))
    expect(allowed.sort()).toEqual(
      [
        'Unloaded->Loading',
        'Loading->Loaded',
        'Loading->Failed',
        'Loaded->Running',
        'Loaded->Unloading',
        'Running->Reloading',
        'Running->Unloading',
        'Running->Failed',
        'Reloading->Running',
        'Reloading->Failed',
        'Failed->Reloading',
        'Failed->Loading',
        'Failed->Unloading',
        'Unloading->Unloaded',
      ].sort(),
    )
    expect(Object.keys(LIFECYCLE_TRANSITIONS).sort()).toEqual([...ALL].sort())
  })

  it('walks a full life and refuses a forbidden move with INVALID_TRANSITION', () => {
    const life = new Lifecycle('greeter')
    for (const s of ['Loading', 'Loaded', 'Running', 'Reloading', 'Failed', 'Reloading', 'Running', 'Unloading', 'Unloaded'] as const) life.to(s)
    expect(life.state).toBe('Unloaded')
    let error: unknown
    try {
      life.to('Running')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).code).toBe('INVALID_TRANSITION')
    expect(life.state).toBe('Unloaded')
  })

  it('refuses every move that is not in the table', () => {
    for (const from of ALL) {
      for (const to of ALL) {
        if (canTransition(from, to)) continue
        const life = new Lifecycle('x')
        // reach `from` by a legal path
        const path: Record<LifecycleState, LifecycleState[]> = {
          Unloaded: [],
          Loading: ['Loading'],
          Loaded: ['Loading', 'Loaded'],
          Running: ['Loading', 'Loaded', 'Running'],
          Reloading: ['Loading', 'Loaded', 'Running', 'Reloading'],
          Failed: ['Loading', 'Failed'],
          Unloading: ['Loading', 'Loaded', 'Unloading'],
        }
        for (const s of path[from]) life.to(s)
        expect(() => life.to(to)).toThrow(/cannot go from/)
      }
    }
  })
})
