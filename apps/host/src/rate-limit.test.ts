import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHost, type Host } from './host.js'
import { send } from './http-client.test-support.js'
import { counterSource, makeDirs, testConfig } from './test-support.js'

let host: Host
let dirs: Awaited<ReturnType<typeof makeDirs>>

beforeAll(async () => {
  dirs = await makeDirs('hotswap-ratelimit-')
  await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
  host = await startHost(testConfig(dirs, { rateLimit: 3 }), { stdout: () => undefined, color: false })
})
afterAll(async () => {
  await host?.close()
  await dirs?.cleanup()
})

describe('rate limit on triggers', () => {
  it('reload, rollback, enable and disable share one budget per minute; then 429 RATE_LIMITED; reads are not limited', async () => {
    const post = (path: string): Promise<{ status: number; json: any }> => send(host.url, { method: 'POST', path, token: host.token }) // eslint-disable-line @typescript-eslint/no-explicit-any
    expect((await post('/api/plugins/counter/reload')).status).toBe(200)
    expect((await post('/api/hot-reload/disable')).status).toBe(200)
    expect((await post('/api/hot-reload/enable')).status).toBe(200)
    const before = host.journal.reloads('counter').length
    for (const path of ['/api/plugins/counter/reload', '/api/plugins/counter/rollback', '/api/hot-reload/disable']) {
      const res = await post(path)
      expect(res.status).toBe(429)
      expect(res.json).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/at most 3 per minute/) } })
    }
    expect(host.journal.reloads('counter').length).toBe(before) // the refused reload did not run
    expect(host.pipeline.status().enabled).toBe(true)
    for (let i = 0; i < 10; i++) expect((await send(host.url, { path: '/api/status', token: host.token })).status).toBe(200)
    expect((await send(host.url, { method: 'POST', path: '/api/events/ticket', token: host.token })).status).toBe(200)
  })

  it('unauthenticated trigger requests do not use up the budget', async () => {
    // Auth runs before the limiter: a flood without the token gets 401s, never 429s.
    for (let i = 0; i < 5; i++) expect((await send(host.url, { method: 'POST', path: '/api/plugins/counter/reload' })).status).toBe(401)
  })
})
