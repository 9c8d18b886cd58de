import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurably } from './durable-file.js'

/** The file in the state directory that holds the API token. */
export const TOKEN_FILE_NAME = 'api-token'

/** The file in the state directory that tells `hotswap-host call` where the running host answers. */
export const HOST_FILE_NAME = 'host.json'

/**
 * Writes `stateDir/host.json` (`{ url, pid }`, mode 0600) once the server listens, so that
 * `hotswap-host call` finds the running host of a state directory.
 *
 * @param stateDir - the host's state directory
 * @param url - the server's base URL
 * @returns once written and synced
 * @internal
 */
export async function writeHostFile(stateDir: string, url: string): Promise<void> {
  await writeFileDurably(join(stateDir, HOST_FILE_NAME), `${JSON.stringify({ url, pid: process.pid })}\n`)
}

/**
 * Removes `stateDir/host.json` (when the host stops).
 *
 * @param stateDir - the host's state directory
 * @returns once removed (a missing file is fine)
 * @internal
 */
export async function removeHostFile(stateDir: string): Promise<void> {
  await rm(join(stateDir, HOST_FILE_NAME), { force: true }).catch(() => undefined)
}

/**
 * Reads where a running host answers and its token, from its state directory.
 *
 * @param stateDir - the host's state directory
 * @returns the URL and the token
 * @throws the file system's error (ENOENT when no host runs there)
 * @internal
 */
export async function readRunningHost(stateDir: string): Promise<{ url: string; token: string }> {
  const info = JSON.parse(await readFile(join(stateDir, HOST_FILE_NAME), 'utf8')) as { url?: unknown }
  const token = (await readFile(join(stateDir, TOKEN_FILE_NAME), 'utf8')).trim()
  if (typeof info.url !== 'string') throw new Error(`${join(stateDir, HOST_FILE_NAME)} has no url`)
  return { url: info.url, token }
}

/**
 * Creates a random API token (256 bits, base64url) and writes it to `stateDir/api-token`
 * with mode 0600 (owner only), replacing the one of an earlier run.
 *
 * @param stateDir - the host's state directory (created 0700 if missing)
 * @returns the token and the file it was written to
 * @throws the file system's error when the directory cannot be written
 * @example
 * ```ts
 * const { token, file } = await writeToken('.hotswap-state')
 * ```
 */
export async function writeToken(stateDir: string): Promise<{ token: string; file: string }> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('base64url')
  const file = join(stateDir, TOKEN_FILE_NAME)
  await writeFileDurably(file, `${token}\n`)
  return { token, file }
}

/**
 * Compares a presented secret with the expected one in constant time (over SHA-256 digests,
 * so the length does not leak either).
 *
 * @param presented - what the client sent, if anything
 * @param expected - the secret
 * @returns whether they are equal
 * @example
 * ```ts
 * secretMatches(bearerOf(req.headers.authorization), token)
 * ```
 */
export function secretMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined || presented === '') return false
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * The token of an `Authorization: Bearer <token>` header.
 *
 * @param header - the header value
 * @returns the token, or undefined for a missing or other scheme
 * @example
 * ```ts
 * bearerOf('Bearer abc') // 'abc'
 * ```
 */
export function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i.exec(header)
  return match?.[1]
}

/**
 * The `Host` header values the server answers to: the loopback names (`127.0.0.1`,
 * `localhost`, `[::1]`) and the bind address when it is a specific one, each with the port.
 * Anything else is refused, which defeats DNS rebinding (a hostile name resolving to 127.0.0.1).
 *
 * @param bindHost - the address the server binds to
 * @param port - the port it listens on
 * @returns the allowed `host:port` values, lower case
 * @example
 * ```ts
 * allowedHostHeaders('127.0.0.1', 4477).has('localhost:4477') // true
 * ```
 */
export function allowedHostHeaders(bindHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]'])
  if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.includes(':') ? `[${bindHost}]` : bindHost.toLowerCase())
  const out = new Set<string>()
  for (const name of names) {
    out.add(`${name}:${port}`)
    if (port === 80) out.add(name)
  }
  return out
}

/**
 * Whether an `Origin` header is the server's own origin (`http://` + an allowed host).
 * Browsers send `Origin: null` from sandboxed frames and files: refused too.
 *
 * @param origin - the header value
 * @param allowedHosts - from {@link allowedHostHeaders}
 * @returns whether the origin is same-origin
 * @example
 * ```ts
 * isOwnOrigin('http://localhost:4477', allowedHostHeaders('127.0.0.1', 4477)) // true
 * ```
 */
export function isOwnOrigin(origin: string, allowedHosts: ReadonlySet<string>): boolean {
  const match = /^http:\/\/([^/]+)$/i.exec(origin.trim())
  return match !== null && allowedHosts.has(match[1]!.toLowerCase())
}

/**
 * One-time tickets for the event stream: `EventSource` cannot send an `Authorization`
 * header, so the page asks for a ticket with its token (`POST /api/events/ticket`) and opens
 * `/api/events?ticket=...`. A ticket is random, works once and expires after `ttlMs`, so a
 * ticket that ends up in a log or the browser history is worthless.
 *
 * @example
 * ```ts
 * const tickets = new TicketBook()
 * const t = tickets.issue()
 * tickets.redeem(t) // true
 * tickets.redeem(t) // false
 * ```
 */
export class TicketBook {
  readonly #tickets = new Map<string, number>()
  readonly #ttlMs: number
  readonly #max: number

  /**
   * @param ttlMs - how long a ticket is valid. Default 30 s.
   * @param max - outstanding tickets kept; the oldest are dropped beyond it. Default 64.
   */
  constructor(ttlMs = 30_000, max = 64) {
    this.#ttlMs = ttlMs
    this.#max = max
  }

  /** Creates a ticket. @returns the ticket */
  issue(): string {
    this.#sweep()
    const ticket = randomBytes(24).toString('base64url')
    this.#tickets.set(ticket, Date.now() + this.#ttlMs)
    while (this.#tickets.size > this.#max) this.#tickets.delete(this.#tickets.keys().next().value!)
    return ticket
  }

  /**
   * Uses a ticket up.
   *
   * @param ticket - the presented ticket
   * @returns whether it was valid (it is not any more)
   */
  redeem(ticket: string | undefined): boolean {
    this.#sweep()
    if (ticket === undefined) return false
    for (const [known, expires] of this.#tickets) {
      if (secretMatches(ticket, known)) {
        this.#tickets.delete(known)
        return expires > Date.now()
      }
    }
    return false
  }

  #sweep(): void {
    const now = Date.now()
    for (const [ticket, expires] of this.#tickets) if (expires <= now) this.#tickets.delete(ticket)
  }
}
