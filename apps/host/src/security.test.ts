import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allowedHostHeaders, bearerOf, isOwnOrigin, secretMatches, TicketBook, TOKEN_FILE_NAME, writeToken } from './security.js'
import { makeDirs } from './test-support/host.js'

let dirs: Awaited<ReturnType<typeof makeDirs>>
beforeAll(async () => (dirs = await makeDirs('hotswap-security-')))
afterAll(() => dirs.cleanup())

describe('writeToken', () => {
  it('writes a fresh 256-bit token with mode 0600, also over an existing world-readable file', async () => {
    const file = join(dirs.state, TOKEN_FILE_NAME)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dirs.state, { recursive: true })
    await writeFile(file, 'old', { mode: 0o644 })
    const a = await writeToken(dirs.state)
    expect(a.file).toBe(file)
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await readFile(file, 'utf8')).trim()).toBe(a.token)
    const b = await writeToken(dirs.state)
    expect(b.token).not.toBe(a.token)
  })
})

describe('request checks', () => {
  it('bearerOf reads only the Bearer scheme', () => {
    expect(bearerOf('Bearer abc-DEF_123')).toBe('abc-DEF_123')
    expect(bearerOf('bearer  abc ')).toBe('abc')
    expect(bearerOf('Basic abc')).toBeUndefined()
    expect(bearerOf('Bearer')).toBeUndefined()
    expect(bearerOf('Bearer a b')).toBeUndefined()
    expect(bearerOf(undefined)).toBeUndefined()
  })

  it('secretMatches compares exactly', () => {
    expect(secretMatches('s3cret', 's3cret')).toBe(true)
    expect(secretMatches('s3cre', 's3cret')).toBe(false)
    expect(secretMatches('s3cretx', 's3cret')).toBe(false)
    expect(secretMatches('', '')).toBe(false)
    expect(secretMatches(undefined, 's3cret')).toBe(false)
  })

  it('allows the loopback names with the port, and the bind address when specific', () => {
    const hosts = allowedHostHeaders('127.0.0.1', 4477)
    expect([...hosts].sort()).toEqual(['127.0.0.1:4477', '[::1]:4477', 'localhost:4477'])
    expect(allowedHostHeaders('192.168.1.5', 80).has('192.168.1.5')).toBe(true)
    expect(allowedHostHeaders('::1', 9).has('[::1]:9')).toBe(true)
    expect(allowedHostHeaders('0.0.0.0', 9).has('0.0.0.0:9')).toBe(false)
  })

  it('isOwnOrigin accepts only http:// + an allowed host', () => {
    const hosts = allowedHostHeaders('127.0.0.1', 4477)
    expect(isOwnOrigin('http://localhost:4477', hosts)).toBe(true)
    expect(isOwnOrigin('http://127.0.0.1:4477', hosts)).toBe(true)
    for (const o of ['http://localhost:4478', 'https://localhost:4477', 'null', 'http://evil.example', 'http://localhost:4477/x', 'http://localhost:4477.evil.example']) {
      expect(isOwnOrigin(o, hosts)).toBe(false)
    }
  })
})

describe('TicketBook', () => {
  it('a ticket works once', () => {
    const book = new TicketBook()
    const t = book.issue()
    expect(book.redeem(t)).toBe(true)
    expect(book.redeem(t)).toBe(false)
    expect(book.redeem('forged')).toBe(false)
    expect(book.redeem(undefined)).toBe(false)
  })

  it('a ticket expires', () => {
    const book = new TicketBook(-1)
    expect(book.redeem(book.issue())).toBe(false)
  })

  it('keeps at most `max` outstanding tickets, dropping the oldest', () => {
    const book = new TicketBook(30_000, 2)
    const [a, b, c] = [book.issue(), book.issue(), book.issue()]
    expect(book.redeem(a)).toBe(false)
    expect(book.redeem(b)).toBe(true)
    expect(book.redeem(c)).toBe(true)
  })
})
