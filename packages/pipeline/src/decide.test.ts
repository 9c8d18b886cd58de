import { describe, expect, it } from 'vitest'
import { decide, type Decision, type Observed } from './decide.js'
import type { SkipReason } from './events.js'
import type { PluginChange } from './plugin-change.js'
import { Policy, type ReloadPolicy } from './policy.js'
import type { PluginSlot } from './slot.js'

const PATH = '/plugins/counter.mjs'

const slot = (over: Partial<PluginSlot> = {}): PluginSlot => ({
  path: PATH,
  id: 'counter',
  alive: true,
  liveHash: 'aaaaaaaaaaaaaaaa',
  failedHash: undefined,
  failedDeterministic: false,
  lastError: undefined,
  breaker: { state: 'closed', trialAt: undefined },
  seq: 1,
  ...over,
})

const change = (over: Partial<PluginChange & Observed> = {}): PluginChange & Observed => ({
  path: PATH,
  kind: 'modified',
  cause: 'change',
  changes: [{ kind: 'modified', path: PATH, root: '/plugins' }],
  firstAt: 0,
  lastAt: 0,
  present: true,
  seq: 1,
  ...over,
})

const onChange = Policy.OnChange

describe('decide', () => {
  it('builds before judging content, then reloads new bytes with a fresh breaker', () => {
    expect(decide(slot(), change(), onChange, 0)).toEqual({ kind: 'build' })
    expect(decide(slot(), change({ hash: 'bbbbbbbbbbbbbbbb' }), onChange, 0)).toEqual({ kind: 'reload', resetBreaker: true })
  })

  it('loads a plugin that has no id yet', () => {
    expect(decide(slot({ id: undefined, alive: false, liveHash: undefined }), change({ kind: 'created', hash: 'b' }), onChange, 0)).toEqual({ kind: 'load', resetBreaker: true })
  })

  it('unloads a loaded plugin whose path is gone, and skips one that never loaded', () => {
    expect(decide(slot(), change({ kind: 'deleted', present: false }), onChange, 0)).toEqual({ kind: 'unload' })
    expect(decide(slot({ id: undefined }), change({ kind: 'deleted', present: false }), onChange, 0)).toEqual({ kind: 'skip', reason: 'notAPlugin' })
  })

  it('renames a loaded plugin at once, whatever the policy; a move to something that is no plugin unloads it', () => {
    const moved = change({ kind: 'renamed', to: '/plugins/renamed.mjs' })
    for (const policy of [Policy.OnChange, Policy.OnSignal, Policy.Disabled, Policy.Scheduled(1000)]) {
      expect(decide(slot(), moved, policy, 0)).toEqual({ kind: 'rename', to: '/plugins/renamed.mjs' })
    }
    expect(decide(slot(), { ...moved, present: false }, onChange, 0)).toEqual({ kind: 'unload' })
    expect(decide(slot({ id: undefined }), moved, onChange, 0)).toEqual({ kind: 'skip', reason: 'notAPlugin' })
  })

  it('skips the bytes already serving as unchanged, unless forced or the version is not alive', () => {
    const same = change({ hash: 'aaaaaaaaaaaaaaaa' })
    expect(decide(slot(), same, onChange, 0)).toEqual({ kind: 'skip', reason: 'unchanged' })
    expect(decide(slot(), { ...same, force: true, cause: 'trigger' }, onChange, 0)).toEqual({ kind: 'reload', resetBreaker: true })
    expect(decide(slot({ alive: false }), same, onChange, 0)).toEqual({ kind: 'reload', resetBreaker: true })
  })

  it('does not try bytes that failed deterministically again (fail once), until forced', () => {
    const failed = slot({ failedHash: 'ffffffffffffffff', failedDeterministic: true })
    expect(decide(failed, change({ hash: 'ffffffffffffffff' }), onChange, 0)).toEqual({ kind: 'skip', reason: 'alreadyFailed' })
    expect(decide(failed, change({ hash: 'ffffffffffffffff', cause: 'reconcile' }), onChange, 0)).toEqual({ kind: 'skip', reason: 'alreadyFailed' })
    expect(decide(failed, change({ hash: 'ffffffffffffffff', cause: 'trigger', force: true }), onChange, 0)).toEqual({ kind: 'reload', resetBreaker: true })
    expect(decide(failed, change({ hash: 'eeeeeeeeeeeeeeee' }), onChange, 0)).toEqual({ kind: 'reload', resetBreaker: true })
  })

  it('tries bytes that failed transiently again once the breaker allows a trial, keeping its state', () => {
    const failed = slot({ failedHash: 'ffffffffffffffff', breaker: { state: 'open', trialAt: 30_000 } })
    const same = change({ hash: 'ffffffffffffffff', cause: 'reconcile' })
    expect(decide(failed, same, onChange, 29_999)).toEqual({ kind: 'skip', reason: 'circuitOpen' })
    expect(decide(failed, same, onChange, 30_000)).toEqual({ kind: 'reload', resetBreaker: false })
    expect(decide(slot({ failedHash: 'ffffffffffffffff' }), same, onChange, 0)).toEqual({ kind: 'reload', resetBreaker: false })
  })

  it('supersedes a change overtaken by a newer one of the same plugin', () => {
    expect(decide(slot({ seq: 3 }), change({ seq: 2, hash: 'b' }), onChange, 0)).toEqual({ kind: 'skip', reason: 'superseded' })
    expect(decide(slot({ seq: 3 }), change({ seq: 3, hash: 'b' }), onChange, 0)).toEqual({ kind: 'reload', resetBreaker: true })
  })

  it('reaches every skip reason (the record is typed by SkipReason: a new reason does not compile here until it has a case)', () => {
    const cases: Record<SkipReason, () => Decision> = {
      unchanged: () => decide(slot(), change({ hash: 'aaaaaaaaaaaaaaaa' }), onChange, 0),
      alreadyFailed: () => decide(slot({ failedHash: 'ffffffffffffffff', failedDeterministic: true }), change({ hash: 'ffffffffffffffff' }), onChange, 0),
      circuitOpen: () => decide(slot({ failedHash: 'ffffffffffffffff', breaker: { state: 'open', trialAt: 10 } }), change({ hash: 'ffffffffffffffff' }), onChange, 9),
      notAPlugin: () => decide(slot({ id: undefined, alive: false, liveHash: undefined }), change({ kind: 'created', present: false }), onChange, 0),
      superseded: () => decide(slot({ seq: 2 }), change({ seq: 1 }), onChange, 0),
    }
    for (const [reason, run] of Object.entries(cases)) expect(run(), reason).toEqual({ kind: 'skip', reason })
  })

  describe('policies', () => {
    const policies: [string, ReloadPolicy][] = [
      ['OnChange', Policy.OnChange],
      ['OnSignal', Policy.OnSignal],
      ['Scheduled', Policy.Scheduled(1000)],
      ['Disabled', Policy.Disabled],
    ]
    // [cause, policies under which the change goes on now; the others hold it as pending]
    const table: [PluginChange['cause'], string[]][] = [
      ['change', ['OnChange']],
      ['reconcile', ['OnChange']],
      ['schedule', ['Scheduled']],
      ['start', ['OnChange', 'OnSignal', 'Scheduled', 'Disabled']],
      ['trigger', ['OnChange', 'OnSignal', 'Scheduled', 'Disabled']],
      ['enable', ['OnChange', 'OnSignal', 'Scheduled', 'Disabled']],
    ]
    for (const [cause, applies] of table) {
      for (const [name, policy] of policies) {
        const expected = applies.includes(name) ? { kind: 'build' } : { kind: 'wait', reason: 'policy' }
        it(`${cause} under ${name}: ${expected.kind}`, () => {
          expect(decide(slot(), change({ cause }), policy, 0)).toEqual(expected)
        })
      }
    }

    it('skips a path that is no plugin and never loaded whatever the policy (nothing to hold)', () => {
      for (const [, policy] of policies) expect(decide(slot({ id: undefined }), change({ kind: 'created', present: false }), policy, 0)).toEqual({ kind: 'skip', reason: 'notAPlugin' })
    })

    it('holds an unload under OnSignal too (a deletion is a change like any other)', () => {
      expect(decide(slot(), change({ kind: 'deleted', present: false }), Policy.OnSignal, 0)).toEqual({ kind: 'wait', reason: 'policy' })
    })
  })
})
