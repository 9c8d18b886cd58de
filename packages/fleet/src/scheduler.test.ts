// The host's loops and recorded times come from the injected scheduler: with a virtual one,
// nothing is stamped with the wall clock and the heartbeat runs only as virtual time passes.
import { redisMissing, startRedis } from '@hotswap/state-store/testing'
import type { TestRedis } from '@hotswap/state-store/testing'
import { VirtualAction, VirtualTimeScheduler } from 'rxjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectFleet } from './fleet.js'
import { joinFleet } from './fleet-host.js'
import { waitFor } from './test-support/hosts.js'

const missing = redisMissing()

describe.skipIf(missing !== undefined)('joinFleet on a virtual scheduler', () => {
  let redis: TestRedis
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('stamps reports and events with the scheduler\'s time and beats only as that time passes', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 600)
    const namespace = `virtual-${process.pid}`
    const host = await joinFleet({ url: redis.url, namespace, hostId: 'v', heartbeatMs: 250, reconcileMs: 1000, coordinate: false, scheduler, target: { apply: () => Promise.resolve() } })
    const fleet = await connectFleet({ url: redis.url, namespace })
    try {
      // The first heartbeat is on connecting (not a timer): virtual time 0.
      const first = await waitFor('the first report', async () => (await fleet.status()).hosts.find((h) => h.hostId === 'v')?.report)
      expect(first.at).toBe(0)
      const joined = await waitFor('hostJoined', async () => (await fleet.status()).events.find((e) => e.type === 'hostJoined' && e.hostId === 'v'))
      expect(joined.at).toBe(0)
      scheduler.flush() // virtual time runs to 600 ms: heartbeats at 250 and 500
      const later = await waitFor('a report from virtual time 500', async () => {
        const report = (await fleet.status()).hosts.find((h) => h.hostId === 'v')?.report
        return report !== undefined && report.at === 500 && report
      })
      expect(later.at).toBe(500)
    } finally {
      await fleet.close()
      await host.close()
    }
  })
})
