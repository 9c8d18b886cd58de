import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHost, type Host } from './host.js'
import { send, sendRaw, counterSource, makeDirs, testConfig } from './test-support/host.js'

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

  it('is keyed on the route: percent-encoded and absolute-form targets share the spent budget', async () => {
    // The budget of 3 is spent by the first test.
    const port = new URL(host.url).port
    const targets = ['/api/%70lugins/counter/reload', '/api/plugins/counter/%72eload', `http://127.0.0.1:${port}/api/plugins/counter/reload`, '/api/hot-reload/%64isable']
    for (const path of targets) {
      const res = await send(host.url, { method: 'POST', path, token: host.token })
      expect(res.status, `${path} ${res.text}`).toBe(429)
    }
    expect(host.pipeline.status().enabled).toBe(true)
  })
})

describe('error bodies', () => {
  it('414, 417 and a bad URL answer with the documented { error } shape', async () => {
    const port = new URL(host.url).port
    const cases: [string, number][] = [
      [`GET /api/plugins/${'x'.repeat(2100)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${host.token}\r\nConnection: close\r\n\r\n`, 414],
      [`POST /api/plugins/counter/reload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${host.token}\r\nExpect: 200-ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, 417],
      [`GET /api/plugins/%zz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${host.token}\r\nConnection: close\r\n\r\n`, 400],
    ]
    for (const [bytes, status] of cases) {
      const res = await sendRaw(host.url, bytes)
      expect(res.status, bytes.slice(0, 40)).toBe(status)
      const body = res.text.slice(res.text.indexOf('\r\n\r\n') + 4)
      expect(JSON.parse(body), bytes.slice(0, 40)).toEqual({ error: { code: expect.any(String), message: expect.any(String) } })
    }
  })
})
