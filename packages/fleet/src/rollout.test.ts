import { describe, expect, it } from 'vitest'
import { decideRollout, desiredFor } from './rollout.js'
import type { HostReport, RolloutRecord } from './rollout.js'

const v1 = { hash: '1111111111111111', version: '1.0.0' }
const v2 = { hash: '2222222222222222', version: '1.1.0' }
const base: RolloutRecord = {
  id: 'svc', rev: 1, target: v2, stable: v1, phase: 'canary', canary: ['a'],
  windowMs: 1000, maxErrorRate: 0.05, minCalls: 10, startedAt: 0, phaseAt: 0,
}
const host = (hostId: string, hash: string, calls = 0, errors = 0, rejected: Record<string, string> = {}): HostReport => ({
  hostId, at: 0, plugins: { svc: { hash, version: '', calls, errors, rejected } },
})

describe('desiredFor', () => {
  it('gives the target to canaries first, to all after promotion, and the stable version after a rollback', () => {
    expect(desiredFor(base, 'a')).toBe(v2)
    expect(desiredFor(base, 'b')).toBe(v1)
    expect(desiredFor({ ...base, phase: 'promoting' }, 'b')).toBe(v2)
    expect(desiredFor({ ...base, phase: 'done' }, 'b')).toBe(v2)
    expect(desiredFor({ ...base, phase: 'rolledBack' }, 'a')).toBe(v1)
    expect(desiredFor({ ...base, phase: 'rolledBack', stable: undefined }, 'a')).toBeUndefined()
  })
})

describe('decideRollout', () => {
  it('waits for the canary, marks it serving, then promotes after one healthy window', () => {
    expect(decideRollout(base, [host('a', v1.hash), host('b', v1.hash)], 100)).toBeUndefined()
    const serving = decideRollout(base, [host('a', v2.hash, 3), host('b', v1.hash)], 200)
    expect(serving?.event.type).toBe('canaryServing')
    expect(serving?.next).toMatchObject({ canaryServingAt: 200, rev: 2, phase: 'canary' })
    const record = serving!.next
    expect(decideRollout(record, [host('a', v2.hash, 50, 1)], 1100)).toBeUndefined()
    const promoted = decideRollout(record, [host('a', v2.hash, 50, 1)], 1200)
    expect(promoted?.event.type).toBe('promoted')
    expect(promoted?.next).toMatchObject({ phase: 'promoting', phaseAt: 1200, rev: 3 })
  })

  it('rolls back on an error rate above the limit, but not on too few calls', () => {
    expect(decideRollout(base, [host('a', v2.hash, 9, 9)], 0)?.event.type).toBe('canaryServing')
    const step = decideRollout(base, [host('a', v2.hash, 20, 2)], 0)
    expect(step?.next.phase).toBe('rolledBack')
    expect(step?.event).toMatchObject({ type: 'rolledBack', reason: expect.stringContaining('2 of 20 calls') })
  })

  it('counts only calls of the target version, summed over hosts', () => {
    const done = { ...base, phase: 'done' as const }
    expect(decideRollout(done, [host('a', v2.hash, 10, 0), host('b', v1.hash, 100, 100)], 0)).toBeUndefined()
    expect(decideRollout(done, [host('a', v2.hash, 10, 0), host('b', v2.hash, 10, 3)], 0)?.next.phase).toBe('rolledBack')
  })

  it('rolls back when any host rejected the target', () => {
    const step = decideRollout({ ...base, phase: 'promoting' }, [host('a', v2.hash), host('b', v1.hash, 0, 0, { [v2.hash]: 'hash mismatch' })], 0)
    expect(step?.event).toMatchObject({ type: 'rolledBack', hostId: 'b', reason: 'host b: hash mismatch' })
  })

  it('completes once every live host serves the target, and never moves a rolled-back record', () => {
    const promoting = { ...base, phase: 'promoting' as const }
    expect(decideRollout(promoting, [host('a', v2.hash), host('b', v1.hash)], 0)).toBeUndefined()
    expect(decideRollout(promoting, [host('a', v2.hash), host('b', v2.hash)], 0)?.event.type).toBe('completed')
    expect(decideRollout({ ...base, phase: 'rolledBack' }, [host('a', v2.hash, 100, 100)], 0)).toBeUndefined()
  })

  it('waits while no canary host is alive', () => {
    expect(decideRollout(base, [host('b', v1.hash)], 10_000)).toBeUndefined()
  })
})
