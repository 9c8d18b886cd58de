import { describe, expect, it } from 'vitest'
import { connectFleet } from './fleet.js'
import { joinFleet } from './fleet-host.js'
import { freePort } from '@hotswap/state-store/testing'

describe('without Redis', () => {
  it('connectFleet rejects with UNAVAILABLE within its connect timeout', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    await expect(connectFleet({ url, connectTimeoutMs: 500 })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('500 ms') })
  })

  it('joinFleet starts anyway, reports itself disconnected, applies nothing and closes cleanly', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    const applied: string[] = []
    const host = await joinFleet({ url, hostId: 'lonely', heartbeatMs: 50, reconcileMs: 50, target: { apply: (a) => Promise.resolve(void applied.push(a.hash)) } })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(host.status()).toMatchObject({ hostId: 'lonely', connected: false, coordinator: false, serving: {} })
    expect(applied).toEqual([])
    await host.close()
  })

  it('refuses bad options with INVALID_OPTIONS', async () => {
    const target = { apply: () => Promise.resolve() }
    expect(() => joinFleet({ hostId: 'a b', target })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    expect(() => joinFleet({ hostId: 'a', target, heartbeatMs: 0 })).toThrow(/heartbeatMs/)
    expect(() => joinFleet({ hostId: 'a', target: {} as never })).toThrow(/apply/)
    await expect(connectFleet({ namespace: 'has space' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
  })
})
