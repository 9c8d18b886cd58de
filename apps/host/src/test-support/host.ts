// Helpers for this package's tests (not part of the build: tsup bundles only cli.ts and index.ts),
// including a small HTTP client on node:http: any method, any Host header, raw bodies.
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { request as httpRequest, type Agent } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { DEFAULTS, type HostConfig } from '../options.js'
import type { EventJournal, JournalEntry } from '../journal.js'

/** A fresh temp dir with `plugins` and `state` folders. */
export async function makeDirs(prefix = 'hotswap-host-'): Promise<{ root: string; plugins: string; state: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  const plugins = join(root, 'plugins')
  const state = join(root, 'state')
  await mkdir(plugins)
  return { root, plugins, state, cleanup: () => rm(root, { recursive: true, force: true }) }
}

/** Settings for a host in a test: a free port, temp dirs, no colours. */
export function testConfig(dirs: { plugins: string; state: string }, overrides: Partial<HostConfig> = {}): HostConfig {
  return { ...DEFAULTS, port: 0, dirs: [dirs.plugins], stateDir: dirs.state, configFile: undefined, ...overrides }
}

/** Source of a counter plugin whose `get()` tells its version and count. */
export function counterSource(version: string, extra = ''): string {
  return `let count = 0
export default {
  name: 'counter',
  version: ${JSON.stringify(version)},
  setup(ctx) {
    if (ctx.state && typeof ctx.state.count === 'number') count = ctx.state.count
    return { inc: () => ++count, get: () => ({ version: ${JSON.stringify(version)}, count }) }
  },
  saveState() { return { count } },
}
${extra}
`
}

/** Writes a file through a temp file and a rename, as editors and bundlers do. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = join(path, '..', `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
  await writeFile(tmp, text)
  await rename(tmp, path)
}

/** Resolves with the first later journal entry that matches, or rejects after `ms`. */
export function nextEntry(journal: EventJournal, match: (entry: JournalEntry) => boolean, ms = 5000, what = 'a matching event'): Promise<JournalEntry> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
    const off = journal.subscribe((entry) => {
      if (!match(entry)) return
      clearTimeout(timer)
      off()
      resolve(entry)
    })
  })
}

/** Polls a condition until it holds, or fails after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** One response: status, headers and the body (parsed when JSON). */
export interface TestResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly text: string
  readonly json: any // eslint-disable-line @typescript-eslint/no-explicit-any -- test data
}

/** What {@link send} sends. */
export interface TestRequest {
  readonly method?: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer
  readonly token?: string
  readonly agent?: Agent
}

/** Sends one request to `base` (http://127.0.0.1:port) and reads the whole response. */
export function send(base: string, req: TestRequest): Promise<TestResponse> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(req.token !== undefined ? { authorization: `Bearer ${req.token}` } : {}), ...req.headers }
    if (req.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(req.body))
    const r = httpRequest(
      { host: url.hostname, port: url.port, method: req.method ?? 'GET', path: req.path, headers, agent: req.agent ?? false, setHost: headers.host === undefined },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on('error', reject)
      },
    )
    r.on('error', reject)
    if (req.body !== undefined) r.write(req.body)
    r.end()
  })
}

/** Writes raw bytes on a socket and resolves with the status code of the answer (0 when none). */
export function sendRaw(base: string, bytes: string): Promise<{ status: number; text: string }> {
  const url = new URL(base)
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname)
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0), text: data }))
    socket.write(bytes)
    socket.setTimeout(5000, () => socket.destroy())
  })
}
