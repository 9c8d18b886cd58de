/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- JSON responses are checked by the assertions */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHost, type Host } from './host.js'
import { send, sendRaw, type TestResponse, atomicWrite, counterSource, makeDirs, nextEntry, testConfig } from './test-support/host.js'
import { BODY_LIMIT } from './server.js'

let host: Host
let dirs: Awaited<ReturnType<typeof makeDirs>>
let output = ''

beforeAll(async () => {
  dirs = await makeDirs()
  await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
  await writeFile(join(dirs.plugins, 'echo.mjs'), `export default { name: 'echo', version: '1.0.0', setup() { return { echo: (x) => x } } }`)
  host = await startHost(testConfig(dirs, { rateLimit: 1000, debounceMs: 20, maxRetries: 0 }), { stdout: (s) => void (output += s), color: false })
})

afterAll(async () => {
  await host?.close()
  await dirs?.cleanup()
})

// token: null sends none.
const get = (path: string, token: string | null = host.token): Promise<TestResponse> => send(host.url, { path, ...(token !== null ? { token } : {}) })
const post = (path: string, body?: unknown, token: string | null = host.token): Promise<TestResponse> =>
  send(host.url, {
    method: 'POST',
    path,
    ...(token !== null ? { token } : {}),
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  })

function expectRefusal(res: TestResponse, status: number, code: string): void {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  expect(res.json).toEqual({ error: { code, message: expect.any(String) } })
}

describe('the control API on a real port', () => {
  it('prints the dashboard URL with the token in the fragment and the 0600 token file', async () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(output).toContain(`${host.url}/#token=${host.token}`)
    expect(output).toContain(host.tokenFile)
    const { stat, readFile } = await import('node:fs/promises')
    expect((await stat(host.tokenFile)).mode & 0o777).toBe(0o600)
    expect((await readFile(host.tokenFile, 'utf8')).trim()).toBe(host.token)
  })

  it('GET /api/status tells enabled, policy, dirs, counts, last reload and plugins', async () => {
    const res = await get('/api/status')
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ enabled: true, policy: { kind: 'OnChange' }, dirs: [dirs.plugins], reloads: 2, failedReloads: 0 })
    expect(res.json.lastReload).toMatchObject({ type: 'reload', action: 'load', outcome: 'success' })
    expect(res.json.plugins.map((p: { id: string }) => p.id).sort()).toEqual(['counter', 'echo'])
  })

  it('GET /api/plugins and /api/plugins/:id (with state history)', async () => {
    const list = await get('/api/plugins')
    expect(list.status).toBe(200)
    expect(list.json.plugins.find((p: { id: string }) => p.id === 'counter')).toMatchObject({ version: '1.0.0', state: 'Running', loader: 'worker', pending: [] })

    await host.pipeline.registry.get('counter').call('inc')
    await host.pipeline.registry.get('counter').call('inc')
    await host.pipeline.trigger('counter')
    const one = await get('/api/plugins/counter')
    expect(one.status).toBe(200)
    expect(one.json.plugin).toMatchObject({ id: 'counter', reloadCount: 1 })
    expect(one.json.stateHistory[0]).toMatchObject({ pluginId: 'counter', pluginVersion: '1.0.0', data: { count: 2 } })
    expect(one.json.reloads.map((r: { cause: string }) => r.cause)).toEqual(['start', 'trigger'])

    expectRefusal(await get('/api/plugins/nope'), 404, 'PLUGIN_NOT_FOUND')
    expectRefusal(await get('/api/plugins/NOT%20AN%20ID'), 400, 'INVALID_REQUEST')
  })

  it('POST /api/plugins/:id/reload reloads once and returns the result with phase timings', async () => {
    const before = host.journal.reloads('counter').length
    const res = await post('/api/plugins/counter/reload')
    expect(res.status).toBe(200)
    expect(res.json.reload).toMatchObject({ id: 'counter', action: 'reload', cause: 'trigger', outcome: 'success' })
    expect(Object.keys(res.json.reload.timings).sort()).toEqual(['detectedMs', 'drainMs', 'prepareMs', 'stateMs', 'switchMs', 'totalMs', 'waitedMs'])
    expect(host.journal.reloads('counter').length).toBe(before + 1)
    expect(await host.pipeline.registry.get<{ get(): { count: number } }>('counter').call('get')).toEqual({ version: '1.0.0', count: 2 })
  })

  it('a failed reload answers 422 RELOAD_FAILED while the old version keeps serving', async () => {
    await atomicWrite(join(dirs.plugins, 'echo.mjs'), 'export default { this is not javascript')
    const failed = await nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'echo' && e.event.outcome === 'failed', 15_000, 'the failed reload')
    expect(failed.data).toMatchObject({ outcome: 'failed', error: { name: 'RegistryError' } })
    const res = await post('/api/plugins/echo/reload')
    expect(res.status).toBe(422)
    expect(res.json.error.code).toBe('RELOAD_FAILED')
    expect(await host.pipeline.registry.get<{ echo(x: number): number }>('echo').call('echo', 7)).toBe(7)
    const status = await get('/api/status')
    expect(status.json.plugins.find((p: { id: string }) => p.id === 'echo').lastError).toMatchObject({ name: 'RegistryError' })
    await atomicWrite(join(dirs.plugins, 'echo.mjs'), `export default { name: 'echo', version: '1.0.1', setup() { return { echo: (x) => x } } }`)
    await nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'echo' && e.event.outcome === 'success', 10_000, 'the fixed reload')
  })

  it('POST /api/plugins/:id/rollback switches back to the previous version; 409 without one', async () => {
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), counterSource('1.1.0'))
    await nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'counter' && e.event.to === '1.1.0', 10_000, 'counter 1.1.0')
    const res = await post('/api/plugins/counter/rollback')
    expect(res.status).toBe(200)
    expect(res.json.plugin).toMatchObject({ id: 'counter', version: '1.0.0' })
    expect((await host.pipeline.registry.get<{ get(): { version: string } }>('counter').call('get')).version).toBe('1.0.0')
    expectRefusal(await post('/api/plugins/counter/rollback'), 409, 'NO_PREVIOUS_VERSION')
    expectRefusal(await post('/api/plugins/ghost/rollback'), 404, 'PLUGIN_NOT_FOUND')
    expectRefusal(await post('/api/plugins/ghost/reload'), 404, 'PLUGIN_NOT_FOUND')
  })

  it('POST /api/hot-reload/disable keeps changes pending; enable applies them', async () => {
    const off = await post('/api/hot-reload/disable')
    expect(off.status).toBe(200)
    expect(off.json.enabled).toBe(false)
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), counterSource('1.2.0'))
    const pending = await nextEntry(host.journal, (e) => e.event.type === 'pending' && e.event.id === 'counter', 10_000, 'the pending change')
    expect(pending.data).toMatchObject({ enabled: false })
    expect((await get('/api/status')).json.plugins.find((p: { id: string }) => p.id === 'counter').pending.length).toBeGreaterThan(0)
    const applied = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'counter', 10_000, 'the applied change')
    const on = await post('/api/hot-reload/enable')
    expect(on.status).toBe(200)
    expect(on.json.enabled).toBe(true)
    expect((await applied).data).toMatchObject({ to: '1.2.0', cause: 'enable' })
    expectRefusal(await post('/api/hot-reload/enable', { policy: 'sometimes' }), 400, 'INVALID_REQUEST')
    expectRefusal(await post('/api/hot-reload/disable', { extra: true }), 400, 'INVALID_REQUEST')
    const sched = await post('/api/hot-reload/enable', { policy: 'on-signal' })
    expect(sched.json.policy).toEqual({ kind: 'OnSignal' })
    expect((await post('/api/hot-reload/enable', { policy: 'on-change' })).json.policy).toEqual({ kind: 'OnChange' })
  })

  it('GET /api/events streams every event as SSE, opened with a one-time ticket', async () => {
    const ticket = (await post('/api/events/ticket')).json.ticket as string
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    const chunks: string[] = []
    const agent = new Agent()
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      const url = new URL(host.url)
      httpRequest({ host: url.hostname, port: url.port, path: `/api/events?ticket=${ticket}`, agent }, resolve).on('error', reject).end()
    })
    expect(stream.statusCode).toBe(200)
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/)
    stream.setEncoding('utf8')
    const sawReload = new Promise<void>((resolve) => stream.on('data', (c: string) => (chunks.push(c), chunks.join('').includes('event: reload\n') && resolve())))
    await post('/api/plugins/counter/reload')
    await sawReload
    const frame = chunks.join('').split('\n\n').find((f) => f.includes('event: reload'))!
    const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!)
    expect(data).toMatchObject({ type: 'reload', id: 'counter', cause: 'trigger', seq: expect.any(Number) })
    expect(frame).toMatch(/^id: \d+$/m)
    stream.destroy()
    agent.destroy()
    // The ticket is used up; no ticket and a made-up one are refused.
    expectRefusal(await get(`/api/events?ticket=${ticket}`, null), 401, 'UNAUTHORIZED')
    expectRefusal(await get('/api/events?ticket=made-up', null), 401, 'UNAUTHORIZED')
    expectRefusal(await post('/api/events/ticket', undefined, null), 401, 'UNAUTHORIZED')
  })

  it('GET /metrics is Prometheus text with reload counters and a duration histogram per plugin', async () => {
    const res = await get('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    expect(res.text).toMatch(/^hotswap_reloads_total\{plugin="counter",action="reload",outcome="success"\} [1-9]\d*$/m)
    expect(res.text).toMatch(/^hotswap_reload_failures_total\{plugin="echo",phase="[a-z]+"\} [1-9]/m)
    expect(res.text).toMatch(/^hotswap_reload_duration_seconds_bucket\{le="0\.5",plugin="counter",action="reload"\} \d+$/m)
    expect(res.text).toMatch(/^hotswap_plugins\{state="Running"\} 2$/m)
    expect(res.text).toMatch(/^hotswap_enabled 1$/m)
    expectRefusal(await get('/metrics', null), 401, 'UNAUTHORIZED')
  })

  it('serves the dashboard without a token, with a strict CSP', async () => {
    const page = await get('/', null)
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.text).toContain('<script src="/app.js"')
    expect((await get('/app.js', null)).status).toBe(200)
    expect((await get('/style.css', null)).status).toBe(200)
  })
})

describe('security', () => {
  it('refuses no token, a wrong token and another auth scheme on every API route and /metrics', async () => {
    const routes: [string, string][] = [
      ['GET', '/api/status'],
      ['GET', '/api/plugins'],
      ['GET', '/api/plugins/counter'],
      ['GET', '/api/reloads'],
      ['GET', '/api/events'],
      ['GET', '/metrics'],
      ['POST', '/api/hot-reload/enable'],
      ['POST', '/api/hot-reload/disable'],
      ['POST', '/api/plugins/counter/reload'],
      ['POST', '/api/plugins/counter/rollback'],
      ['POST', '/api/events/ticket'],
    ]
    const before = host.journal.seq
    for (const [method, path] of routes) {
      const variants: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Bearer ${host.token}x` }, { authorization: `Basic ${host.token}` }]
      for (const headers of variants) {
        const res = await send(host.url, { method, path, headers })
        expectRefusal(res, 401, 'UNAUTHORIZED')
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
      }
    }
    expect(host.pipeline.status().enabled).toBe(true)
    expect(host.journal.seq).toBe(before) // nothing happened
  })

  it('refuses a foreign Host header (DNS rebinding), even with the token', async () => {
    const port = new URL(host.url).port
    for (const h of ['evil.example', `evil.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost:${Number(port) + 1}`, '']) {
      expectRefusal(await send(host.url, { path: '/api/status', token: host.token, headers: { host: h } }), 403, 'FORBIDDEN_HOST')
    }
    expectRefusal(await send(host.url, { path: '/', headers: { host: 'evil.example' } }), 403, 'FORBIDDEN_HOST')
    for (const h of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect((await send(host.url, { path: '/api/status', token: host.token, headers: { host: h } })).status).toBe(200)
    }
  })

  it('refuses a cross-site Origin, even with the token; the own origin passes; no CORS headers', async () => {
    const port = new URL(host.url).port
    for (const origin of ['http://evil.example', `http://evil.example:${port}`, 'null', `https://127.0.0.1:${port}`]) {
      const res = await send(host.url, { method: 'POST', path: '/api/hot-reload/disable', token: host.token, headers: { origin } })
      expectRefusal(res, 403, 'FORBIDDEN_ORIGIN')
    }
    expectRefusal(await send(host.url, { path: '/api/status', token: host.token, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'FORBIDDEN_ORIGIN')
    expect(host.pipeline.status().enabled).toBe(true)
    const ok = await send(host.url, { path: '/api/status', token: host.token, headers: { origin: `http://localhost:${port}` } })
    expect(ok.status).toBe(200)
    expect(ok.headers['access-control-allow-origin']).toBeUndefined()
    const preflight = await send(host.url, { method: 'OPTIONS', path: '/api/status', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } })
    expect(preflight.status).toBe(403)
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('refuses oversized bodies (413), non-JSON (415) and bad JSON (400)', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) })
    expectRefusal(await send(host.url, { method: 'POST', path: '/api/hot-reload/enable', token: host.token, body: big, headers: { 'content-type': 'application/json' } }), 413, 'BODY_TOO_LARGE')
    expectRefusal(await send(host.url, { method: 'POST', path: '/api/hot-reload/enable', token: host.token, body: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE')
    expectRefusal(await send(host.url, { method: 'POST', path: '/api/hot-reload/enable', token: host.token, body: '{"policy":', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON')
    expectRefusal(await send(host.url, { method: 'POST', path: '/api/hot-reload/enable', token: host.token, body: '{"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON')
  })

  it('1,000 malformed requests all get a 4xx and the server stays up', async () => {
    const port = new URL(host.url).port
    const agent = new Agent({ keepAlive: true, maxSockets: 16 })
    const kinds: ((i: number) => Promise<{ status: number; what: string }>)[] = [
      async (i) => ({ what: 'bad json', status: (await send(host.url, { agent, method: 'POST', path: '/api/plugins/counter/reload', token: host.token, body: ['{', '{"a":}', '[1,', 'nul', '{"a":1}}', '\u0000'][i % 6]!, headers: { 'content-type': 'application/json' } })).status }),
      async (i) => ({ what: 'huge body', status: (await send(host.url, { agent, method: 'POST', path: '/api/hot-reload/enable', token: host.token, body: 'x'.repeat(BODY_LIMIT + 1 + (i % 7) * 4096), headers: { 'content-type': 'application/json' } })).status }),
      async () => ({ what: 'huge body, no token', status: (await send(host.url, { agent, method: 'POST', path: '/api/hot-reload/enable', body: 'y'.repeat(BODY_LIMIT * 4), headers: { 'content-type': 'application/json' } })).status }),
      async (i) => ({ what: 'odd path', status: (await send(host.url, { agent, path: ['/api/../etc/passwd', '/%2e%2e/%2e%2e', '/api/plugins/%00', '/API/STATUS', '//api//status', `/api/plugins/${'a'.repeat(300)}`, '/api/status/', '/api/plugins/x/y/z', `/${'%'.repeat(i % 5 + 1)}`, '/metrics/../api/status'][i % 10]!, token: i % 2 === 0 ? host.token : undefined })).status }),
      async (i) => ({ what: 'odd method', status: (await send(host.url, { agent, method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'TRACE', 'MKCOL', 'SEARCH'][i % 8]!, path: ['/api/status', '/api/plugins/counter/reload', '/api/hot-reload/enable', '/metrics'][i % 4]!, token: host.token })).status }),
      async (i) => ({ what: 'wrong content type', status: (await send(host.url, { agent, method: 'POST', path: '/api/hot-reload/disable', token: host.token, body: 'a=b', headers: { 'content-type': ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain', 'application/xml'][i % 4]! } })).status }),
      async (i) => ({ what: 'bad params', status: (await send(host.url, { agent, method: i % 2 === 0 ? 'POST' : 'GET', path: `/api/plugins/${encodeURIComponent(['..', 'A', ' x', '-x', '.x', 'é', '<script>'][i % 7]!)}${i % 2 === 0 ? '/reload' : ''}`, token: host.token })).status }),
      async (i) => ({ what: 'bad host', status: (await send(host.url, { agent, path: '/api/status', token: host.token, headers: { host: `attacker-${i}.example:${port}` } })).status }),
      async (i) => ({ what: 'raw garbage', status: (await sendRaw(host.url, [`FOO / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 'GET /\r\n\r\n', `GET / HTTP/9.9\r\nHost: x\r\n\r\n`, `POST /api/hot-reload/enable HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: -1\r\n\r\n`, '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003'][i % 5]!)).status }),
      async (i) => ({ what: 'bad body shape', status: (await send(host.url, { agent, method: 'POST', path: '/api/hot-reload/enable', token: host.token, body: JSON.stringify([{ policy: 1 }, { intervalMs: -5, policy: 'scheduled' }, [], 'str', 42, { policy: 'on-change', more: 1 }][i % 6]), headers: { 'content-type': 'application/json' } })).status }),
    ]
    const results: { status: number; what: string }[] = []
    const total = 1000
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++
        results.push(await kinds[i % kinds.length]!(Math.floor(i / kinds.length)))
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))
    agent.destroy()
    expect(results).toHaveLength(total)
    const bad = results.filter((r) => r.status < 400 || r.status >= 500)
    expect(bad).toEqual([])
    // Still up and unchanged.
    const status = await get('/api/status')
    expect(status.status).toBe(200)
    expect(status.json.enabled).toBe(true)
    expect(await host.pipeline.registry.get<{ echo(x: string): string }>('echo').call('echo', 'still here')).toBe('still here')
  })
})
