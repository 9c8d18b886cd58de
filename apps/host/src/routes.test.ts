// Calls (POST /api/plugins/:id/call, hotswap-host call) and plugin routes (/p/<id>/*) on a real host.
import { request as httpRequest } from 'node:http'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHost, type Host } from './host.js'
import { send, atomicWrite, makeDirs, nextEntry, testConfig } from './test-support/host.js'
import { main } from './main.js'

const ECHO = (version: string): string => `let hits = 0
let aborted = 0
export default {
  name: 'web',
  version: '${version}',
  setup(ctx) {
    hits = ctx.state?.hits ?? 0
    return {
      add: (a, b) => a + b,
      hits: () => hits,
      aborted: () => aborted,
      fail: () => { throw new Error('nope') },
      async *count(n) { for (let i = 1; i <= n; i++) yield { i } },
      async *broken() { yield 1; throw new Error('mid-stream') },
      async fetch(request) {
        hits++
        const url = new URL(request.url)
        if (url.pathname === '/echo') {
          // Streams both ways: each chunk read goes straight back.
          const reader = request.body.getReader()
          return new Response(new ReadableStream({
            async pull(controller) {
              const { value, done } = await reader.read()
              if (done) controller.close()
              else controller.enqueue(value)
            },
          }), { headers: { 'content-type': 'application/octet-stream' } })
        }
        if (url.pathname === '/wait') {
          // Answers only once the client has gone: request.signal says so.
          await new Promise((resolve) => request.signal.addEventListener('abort', resolve, { once: true }))
          aborted++
          return new Response('too late')
        }
        if (url.pathname === '/big') return new Response('x'.repeat(5 * 1024 * 1024))
        if (url.pathname === '/boom') throw new Error('handler broke')
        if (url.pathname === '/cookie') return new Response('ok', { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] })
        return Response.json({ version: '${version}', method: request.method, path: url.pathname, query: url.search, prefix: request.headers.get('x-forwarded-prefix'), hits })
      },
    }
  },
  saveState() { return { hits } },
}
`

let host: Host
let worker: Host
let dirs: Awaited<ReturnType<typeof makeDirs>>
let workerDirs: Awaited<ReturnType<typeof makeDirs>>

beforeAll(async () => {
  dirs = await makeDirs('hotswap-routes-')
  await writeFile(join(dirs.plugins, 'web.mjs'), ECHO('1.0.0'))
  await writeFile(join(dirs.plugins, 'plain.mjs'), `export default { name: 'plain', version: '1.0.0', setup() { return { hi: () => 'hi' } } }`)
  host = await startHost(testConfig(dirs, { loader: 'in-process', policy: 'on-signal', debounceMs: 20, maxRetries: 0 }), { stdout: () => undefined, color: false })
  workerDirs = await makeDirs('hotswap-routes-worker-')
  await writeFile(join(workerDirs.plugins, 'web.mjs'), ECHO('1.0.0'))
  worker = await startHost(testConfig(workerDirs, { debounceMs: 20, maxRetries: 0 }), { stdout: () => undefined, color: false })
}, 30_000)

afterAll(async () => {
  await host?.close()
  await worker?.close()
  await dirs?.cleanup()
  await workerDirs?.cleanup()
})

const call = (body: unknown, id = 'web', token: string | null = host.token): ReturnType<typeof send> =>
  send(host.url, { method: 'POST', path: `/api/plugins/${id}/call`, ...(token !== null ? { token } : {}), body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

describe('POST /api/plugins/:id/call', () => {
  it('calls a method with JSON args and answers { result }', async () => {
    const res = await call({ method: 'add', args: [2, 3] })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ result: 5 })
  })

  it('streams an async iterable as NDJSON; a failure mid-stream ends it with an error line', async () => {
    const res = await call({ method: 'count', args: [3] })
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(res.text).toBe('{"i":1}\n{"i":2}\n{"i":3}\n')
    const broken = await call({ method: 'broken' })
    expect(broken.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)).toEqual([1, { error: expect.objectContaining({ message: 'mid-stream' }) }])
  })

  it('says what went wrong: no token, no plugin, no method, a throwing method, a bad body', async () => {
    expect((await call({ method: 'add' }, 'web', null)).status).toBe(401)
    expect((await call({ method: 'add' }, 'ghost')).json.error.code).toBe('PLUGIN_NOT_FOUND')
    const unknown = await call({ method: 'nothing' })
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'UNKNOWN_METHOD'])
    const failed = await call({ method: 'fail' })
    expect(failed.status).toBe(422)
    expect(failed.json.error).toMatchObject({ code: 'CALL_FAILED', message: expect.stringContaining('web.fail() failed: nope') })
    expect((await call({ args: [] })).json.error.code).toBe('INVALID_REQUEST')
    expect((await call({ method: 'add', args: 'x' })).json.error.code).toBe('INVALID_REQUEST')
  })

  it('hotswap-host call talks to the running host through its state directory', async () => {
    let out = ''
    let err = ''
    const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s), env: {}, cwd: dirs.root }
    expect(await main(['call', 'web', 'add', '20', '22', '--state-dir', dirs.state], io)).toBe(0)
    expect(JSON.parse(out)).toBe(42)
    out = ''
    expect(await main(['call', 'web', 'count', '2', '--state-dir', dirs.state], io)).toBe(0)
    expect(out).toBe('{"i":1}\n{"i":2}\n')
    expect(await main(['call', 'web', 'fail', '--state-dir', dirs.state], io)).toBe(1)
    expect(err).toContain('web.fail() failed: nope')
    err = ''
    expect(await main(['call', 'web', 'add', '--state-dir', join(dirs.root, 'nowhere')], io)).toBe(1)
    expect(err).toContain('no running host found for state directory')
    expect(await main(['call', 'web'], io)).toBe(2)
  })
})

describe('plugin routes /p/<id>/*', () => {
  it("serve the plugin's fetch handler without a token: method, rest of the path, query and prefix passed on", async () => {
    const res = await send(host.url, { method: 'DELETE', path: '/p/web/a/b%20c?x=1&y=2' })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ version: '1.0.0', method: 'DELETE', path: '/a/b%20c', query: '?x=1&y=2', prefix: '/p/web' })
    expect((await send(host.url, { path: '/p/web' })).json.path).toBe('/')
    const cookies = await send(host.url, { path: '/p/web/cookie' })
    expect(cookies.headers['set-cookie']).toEqual(['a=1', 'b=2'])
  })

  it.each([
    ['in-process', () => host],
    ['worker', () => worker],
  ] as const)('stream bodies both ways (%s plugin): the answer to the first chunk arrives before the request ends', async (_loader, which) => {
    const url = new URL(which().url)
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/p/web/echo', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
          if (body === 'first;') req.end('second') // only once the first chunk came back
        })
        res.on('end', () => resolve(body))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.flushHeaders()
      req.write('first;')
    })
    expect(text).toBe('first;second')
    const big = await send(which().url, { path: '/p/web/big' })
    expect(big.text.length).toBe(5 * 1024 * 1024)
  })

  it("abort a GET's request.signal when the client leaves before the response (in-process plugin)", async () => {
    const url = new URL(host.url)
    const req = httpRequest({ host: url.hostname, port: url.port, path: '/p/web/wait' })
    req.on('error', () => undefined)
    req.end()
    await new Promise((r) => setTimeout(r, 200))
    req.destroy()
    const deadline = Date.now() + 5000
    let seen = 0
    while (seen === 0 && Date.now() < deadline) {
      seen = (await call({ method: 'aborted', args: [] })).json.result as number
      if (seen === 0) await new Promise((r) => setTimeout(r, 50))
    }
    expect(seen).toBe(1)
  })

  it('refuse clearly: unknown plugin, a plugin without fetch, a throwing handler; the control API still needs its token', async () => {
    expect((await send(host.url, { path: '/p/ghost/' })).json.error.code).toBe('PLUGIN_NOT_FOUND')
    const plain = await send(host.url, { path: '/p/plain/' })
    expect([plain.status, plain.json.error.code]).toEqual([404, 'NO_FETCH_HANDLER'])
    const boom = await send(host.url, { path: '/p/web/boom' })
    expect([boom.status, boom.json.error.code]).toEqual([502, 'CALL_FAILED'])
    expect((await send(host.url, { path: '/api/status' })).status).toBe(401)
    expect((await send(host.url, { path: '/p/web/', headers: { host: 'evil.example:80' } })).status).toBe(403)
  })

  it('count requests, errors and latency per plugin route', async () => {
    await send(host.url, { path: '/p/web/x' })
    const text = (await send(host.url, { path: '/metrics', token: host.token })).text
    expect(text).toMatch(/hotswap_route_requests_total\{plugin="web",status="200"\} [1-9]/)
    expect(text).toMatch(/hotswap_route_errors_total\{plugin="web",code="CALL_FAILED"\} [1-9]/)
    expect(text).toMatch(/hotswap_route_duration_seconds_count\{plugin="web"\} [1-9]/)
  })

  it('keep answering across reloads: no failed request, the new version answers, state kept', async () => {
    const before = (await send(host.url, { path: '/p/web/' })).json.hits as number
    let stop = false
    let failures = 0
    let served = 0
    const load = (async () => {
      while (!stop) {
        const res = await send(host.url, { path: '/p/web/' }).catch(() => ({ status: 0 }))
        if (res.status === 200) served++
        else failures++
      }
    })()
    for (let v = 1; v <= 5; v++) {
      // Policy on-signal: the change is noted as pending, then applied by a trigger (as SIGUSR2 does).
      const pending = nextEntry(host.journal, (e) => e.event.type === 'pending' && e.event.id === 'web', 10_000, `the 1.${v}.0 change`)
      await atomicWrite(join(dirs.plugins, 'web.mjs'), ECHO(`1.${v}.0`))
      await pending
      const reloaded = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.to === `1.${v}.0`, 10_000, `reload to 1.${v}.0`)
      await host.pipeline.trigger('web')
      await reloaded
    }
    stop = true
    await load
    expect(failures).toBe(0)
    const after = (await send(host.url, { path: '/p/web/' })).json
    expect(after.version).toBe('1.5.0')
    expect(after.hits).toBeGreaterThan(before + served - 1)
  })

  it('on a worker plugin: calls and routes work (method, path, query, prefix, set-cookie headers, a throwing handler)', async () => {
    expect(worker.pipeline.registry.status('web').loader).not.toBe('in-process')
    const res = await send(worker.url, { method: 'POST', path: '/api/plugins/web/call', token: worker.token, body: JSON.stringify({ method: 'add', args: [1, 2] }), headers: { 'content-type': 'application/json' } })
    expect(res.json).toEqual({ result: 3 })
    const route = await send(worker.url, { method: 'PUT', path: '/p/web/a/b?x=1', body: 'data', headers: { 'content-type': 'text/plain' } })
    expect(route.status, JSON.stringify(route.json)).toBe(200)
    expect(route.json).toMatchObject({ method: 'PUT', path: '/a/b', query: '?x=1', prefix: '/p/web' })
    expect((await send(worker.url, { path: '/p/web/cookie' })).headers['set-cookie']).toEqual(['a=1', 'b=2'])
    const boom = await send(worker.url, { path: '/p/web/boom' })
    expect([boom.status, boom.json.error.code]).toEqual([502, 'CALL_FAILED'])
  })
})
