// A small HTTP client on node:http for the tests: any method, any Host header, raw bodies.
import { request as httpRequest, type Agent } from 'node:http'
import { connect } from 'node:net'

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
