// The plugin-contract cases of the loader contract (config, services, dependencies, events,
// streams), run by loaderContract() for JS plugins on every loader.
import { deepStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict'
import { ConfigInvalidError } from './config.js'
import { callCases } from './contract-cases-calls.js'
import { caseCollector, source, until, type Case, type Format } from './contract-case-kit.js'
import { RegistryError } from './errors.js'
import type { RegistryEvent } from './events.js'
import type { Loader } from './loader.js'
import type { PluginRegistry } from './registry-types.js'

const isCode = (code: string) => (error: unknown): boolean => error instanceof RegistryError && error.code === code

// A Standard Schema written out by hand (the spec's interface, no library): { greeting: string, times?: number (default 1) }.
const SCHEMA = `{
  '~standard': {
    version: 1,
    vendor: 'contract-test',
    validate(value) {
      const issues = []
      if (value === null || typeof value !== 'object') return { issues: [{ message: 'expected an object', path: [] }] }
      if (typeof value.greeting !== 'string') issues.push({ message: 'expected a string', path: ['greeting'] })
      if (value.times !== undefined && (typeof value.times !== 'number' || value.times < 1)) issues.push({ message: 'expected a number >= 1', path: [{ key: 'times' }] })
      if (Array.isArray(value.tags)) value.tags.forEach((t, i) => { if (typeof t !== 'string') issues.push({ message: 'expected a string', path: ['tags', i] }) })
      return issues.length > 0 ? { issues } : { value: { greeting: value.greeting, times: value.times ?? 1 } }
    },
  },
}`


/**
 * The contract cases for a JS plugin format on a loader.
 *
 * @internal
 */
export function contractCases(loader: () => Loader, format: Format): Case[] {
  const { cases, test } = caseCollector(loader, format, 'hotswap-contract-', { drainTimeoutMs: 1500 })
  const greeter = (version: string): string =>
    source(format, `name: 'greeter', version: '${version}', config: ${SCHEMA}, setup(ctx) { return { greet: (who) => (ctx.config.greeting + ' ' + who + '!').repeat(ctx.config.times), config: () => ctx.config } } `)
  const other = source(format, `name: 'other', version: '1.0.0', setup() { return { ping: () => 'pong' } }`)

  test('config: validated by the plugin\'s Standard Schema (its output is ctx.config), updated with configure()', { config: { greeter: { greeting: 'hello' } } }, async (registry, write) => {
    await registry.load(await write('greeter', greeter('1.0.0')))
    await registry.load(await write('other', other))
    const handle = registry.get<{ greet(who: string): string; config(): unknown }>('greeter')
    strictEqual(await handle.call('greet', 'bob'), 'hello bob!')
    deepStrictEqual(await handle.call('config'), { greeting: 'hello', times: 1 })
    const events: RegistryEvent[] = []
    const sub = registry.events$.subscribe((e) => events.push(e))
    const status = await registry.configure('greeter', { greeting: 'hi', times: 2 })
    sub.unsubscribe()
    strictEqual(status?.reloadCount, 1)
    strictEqual(await handle.call('greet', 'al'), 'hi al!hi al!')
    strictEqual(registry.status('other').reloadCount, 0)
    ok(events.some((e) => e.type === 'configChanged' && e.id === 'greeter'))
  })

  test('config: an invalid config is CONFIG_INVALID listing each issue with its path; the old version and config keep serving', { config: { greeter: { greeting: 'hello' } } }, async (registry, write) => {
    await registry.load(await write('greeter', greeter('1.0.0')))
    const handle = registry.get<{ greet(who: string): string }>('greeter')
    const error = await registry.configure('greeter', { greeting: 7, times: 0, tags: ['a', 3] }).then(
      () => undefined,
      (e: unknown) => e,
    )
    ok(error instanceof ConfigInvalidError, `expected ConfigInvalidError, got ${String(error)}`)
    strictEqual(error.code, 'CONFIG_INVALID')
    deepStrictEqual(
      error.issues.map((i) => i.path),
      [['greeting'], ['times'], ['tags', 1]],
    )
    ok(error.message.includes('tags[1]: expected a string'), error.message)
    strictEqual(await handle.call('greet', 'bob'), 'hello bob!')
    strictEqual(registry.status('greeter').version, '1.0.0')
    await rejects(registry.load(await write('greeter2', greeter('1.0.0').replace("'greeter'", "'greeter2'"))), isCode('CONFIG_INVALID'))
    await write('greeter', greeter('1.0.1'))
    await registry.reload('greeter')
    strictEqual(await handle.call('greet', 'bob'), 'hello bob!')
  })

  const kvPlugin = source(
    format,
    `name: 'user', version: '1.0.0', uses: ['kv', 'clock'],
    setup(ctx) { return {
      async roundTrip(k, v) { await ctx.services.kv.set(k, v); return ctx.services.kv.get(k) },
      now: () => ctx.services.clock(),
      seen: () => Object.keys(ctx.services).sort(),
      async scan(n) { const out = []; for await (const x of ctx.services.kv.scan(n)) out.push(x); return out },
      async firstOf(n) { for await (const x of ctx.services.kv.scan(n)) return x },
      async typed() { try { await ctx.services.kv.get('missing') } catch (e) { return { name: e.name, code: e.code, message: e.message } } },
    } } `,
  )
  const services = (): { kv: object; clock: () => number; mail: () => string; scans: { closed: number } } => {
    const map = new Map<string, string>()
    const scans = { closed: 0 }
    class KvMissing extends Error {
      override readonly name = 'KvMissing'
      readonly code = 'KV_MISSING'
    }
    return {
      scans,
      kv: {
        set: async (k: string, v: string) => {
          await new Promise((r) => setTimeout(r, 1))
          map.set(k, v)
        },
        get: (k: string) => {
          if (!map.has(k)) throw new KvMissing(`no key ${k}`)
          return map.get(k)
        },
        async *scan(n: number) {
          await Promise.resolve()
          try {
            for (let i = 0; i < n; i++) yield { i }
          } finally {
            scans.closed++
          }
        },
      },
      clock: () => 1234,
      mail: () => 'sent',
    }
  }
  {
    const s = services()
    test('services: a plugin sees only what it uses and is granted; values, promises, streams and typed errors cross', { services: s, grants: { user: ['kv', 'clock'] } }, async (registry, write) => {
      await registry.load(await write('user', kvPlugin))
      const handle = registry.get<{ roundTrip(k: string, v: string): string; now(): number; seen(): string[]; scan(n: number): unknown[]; firstOf(n: number): unknown; typed(): unknown }>('user')
      strictEqual(await handle.call('roundTrip', 'a', 'b'), 'b')
      strictEqual(await handle.call('now'), 1234)
      deepStrictEqual(await handle.call('seen'), ['clock', 'kv'])
      deepStrictEqual(await handle.call('scan', 3), [{ i: 0 }, { i: 1 }, { i: 2 }])
      deepStrictEqual(await handle.call('firstOf', 1000), { i: 0 })
      await until(() => s.scans.closed === 2, 'the host stream to be closed after the plugin broke out of it')
      deepStrictEqual(await handle.call('typed'), { name: 'KvMissing', code: 'KV_MISSING', message: 'no key missing' })
    })
  }
  test('services: an ungranted or unknown service fails the load with SERVICE_DENIED naming it', { services: services(), grants: { user: ['kv'] } }, async (registry, write) => {
    const path = await write('user', kvPlugin)
    await rejects(registry.load(path), (e: unknown) => isCode('SERVICE_DENIED')(e) && /"clock"/.test((e as Error).message) && /not granted/.test((e as Error).message))
    strictEqual(registry.has('user'), false)
    await rejects(registry.load(await write('user', kvPlugin.replace("'clock'", "'sms'"))), (e: unknown) => isCode('SERVICE_DENIED')(e) && /"sms"/.test((e as Error).message))
  })

  const b = (version: string, extra = ''): string =>
    source(format, `name: 'b', version: '${version}', ${extra} setup() { return { whoami: () => '${version}', slow: (ms) => new Promise((r) => setTimeout(() => r('${version}'), ms)) } }`)
  const a = (version: string, range: string): string =>
    source(format, `name: 'a', version: '${version}', dependsOn: { b: '${range}' }, setup(ctx) { const b = ctx.plugins.get('b'); return {
      viaB: () => b.call('whoami'), slowViaB: (ms) => b.api.slow(ms), undeclared() { try { ctx.plugins.get('c') } catch (e) { return e.message } },
    } } `)
  const order = (registry: PluginRegistry): string[] => {
    const seen: string[] = []
    registry.events$.subscribe((e) => {
      if (e.type === 'loaded') seen.push(`loaded ${e.id}`)
      if (e.type === 'reloaded') seen.push(`reloaded ${e.id}@${e.to}`)
    })
    return seen
  }

  test('dependencies: load in dependency order; A keeps its handle on B through 20 reloads of B with calls in flight', {}, async (registry, write) => {
    const seen = order(registry)
    const pa = await write('a', a('1.0.0', '^1.0.0'))
    const pb = await write('b', b('1.0.0'))
    await registry.reloadMany([pa, pb])
    deepStrictEqual(seen, ['loaded b', 'loaded a'])
    const handle = registry.get<{ viaB(): string; slowViaB(ms: number): string; undeclared(): string }>('a')
    strictEqual(await handle.call('viaB'), '1.0.0')
    ok(/not in dependsOn/.test(await handle.call('undeclared')))
    const calls: Promise<string>[] = []
    for (let v = 1; v <= 20; v++) {
      calls.push(handle.call('slowViaB', 5), handle.call('viaB'))
      await write('b', b(`1.0.${v}`))
      await registry.reload('b')
    }
    const results = await Promise.all(calls)
    strictEqual(results.length, 40)
    ok(results.every((r) => /^1\.0\.\d+$/.test(r)))
    strictEqual(await handle.call('viaB'), '1.0.20')
  })

  test('dependencies: a B that breaks A\'s range is refused (old B serves); B and A changed together reload, B first', {}, async (registry, write) => {
    await registry.load(await write('b', b('1.2.0')))
    await registry.load(await write('a', a('1.0.0', '^1.0.0')))
    await write('b', b('2.0.0'))
    await rejects(registry.reload('b'), (e: unknown) => isCode('DEPENDENCY_UNSATISFIED')(e) && /"a" needs b \^1\.0\.0/.test((e as Error).message))
    strictEqual(registry.status('b').version, '1.2.0')
    const handle = registry.get<{ viaB(): string }>('a')
    strictEqual(await handle.call('viaB'), '1.2.0')
    const seen = order(registry)
    await write('a', a('2.0.0', '^2.0.0'))
    await registry.reloadMany(['a', 'b'])
    deepStrictEqual(seen, ['reloaded b@2.0.0', 'reloaded a@2.0.0'])
    strictEqual(await handle.call('viaB'), '2.0.0')
  })

  test('dependencies: B unloaded, A\'s calls to B fail with NOT_FOUND; A heals when B returns', {}, async (registry, write) => {
    const pb = await write('b', b('1.0.0'))
    await registry.load(pb)
    await registry.load(await write('a', a('1.0.0', '^1.0.0')))
    const handle = registry.get<{ viaB(): string }>('a')
    await registry.unload('b')
    await rejects(handle.call('viaB'), (e: unknown) => (e as { code?: unknown }).code === 'NOT_FOUND' && /"b"/.test((e as Error).message))
    await write('b', b('1.0.1'))
    await registry.load(pb)
    strictEqual(await handle.call('viaB'), '1.0.1')
  })

  test('dependencies: a stream of B read by A through its handle (for await on the call), break stops it', {}, async (registry, write) => {
    await registry.load(await write('b', source(format, `name: 'b', version: '1.0.0', setup() { return { async *upTo(n) { try { for (let i = 0; i < n; i++) yield i } finally { stopped++ } }, stopped: () => stopped } }`, 'let stopped = 0')))
    await registry.load(
      await write('a', source(format, `name: 'a', version: '1.0.0', dependsOn: { b: '^1.0.0' }, setup(ctx) { const b = ctx.plugins.get('b'); return { async firstOf(n, k) { const out = []; for await (const x of b.api.upTo(n)) { out.push(x); if (out.length === k) break } return out } } }`)),
    )
    const handle = registry.get<{ firstOf(n: number, k: number): number[] }>('a')
    deepStrictEqual(await handle.call('firstOf', 1_000_000, 3), [0, 1, 2])
    deepStrictEqual(await handle.call('firstOf', 2, 5), [0, 1])
    const b = registry.get<{ stopped(): number }>('b')
    await until(async () => (await b.call('stopped')) === 2, 'both streams of b to be stopped')
  })

  test('dependencies: missing, unsatisfied and circular dependencies are typed errors naming the chain', {}, async (registry, write) => {
    const pa = await write('a', a('1.0.0', '^1.0.0'))
    await rejects(registry.load(pa), (e: unknown) => isCode('DEPENDENCY_MISSING')(e) && /a -> b/.test((e as Error).message))
    const pb = await write('b', b('1.0.0', "dependsOn: { a: '^1.0.0' },"))
    await rejects(registry.reloadMany([pa, pb]), (e: unknown) => isCode('DEPENDENCY_CYCLE')(e) && /(a -> b -> a|b -> a -> b)/.test((e as Error).message))
    strictEqual(registry.list().length, 0)
    await registry.load(await write('b', b('0.9.0')))
    await rejects(registry.load(pa), (e: unknown) => isCode('DEPENDENCY_UNSATISFIED')(e) && /a -> b@0\.9\.0/.test((e as Error).message))
  })

  test('events: ctx.emit reaches handle.events$ and the registry\'s events$ with the plugin id and version', {}, async (registry, write) => {
    await registry.load(await write('e', source(format, `name: 'e', version: '1.2.3', setup(ctx) { return { fire: (n) => { ctx.emit('fired', { n }); ctx.emit('bare') } } }`)))
    const handle = registry.get<{ fire(n: number): void }>('e')
    const local: unknown[] = []
    const global: unknown[] = []
    handle.events$.subscribe((e) => local.push({ type: e.type, payload: e.payload, id: e.id, version: e.version }))
    registry.events$.subscribe((e) => {
      if (e.type === 'emitted') global.push({ event: e.event, payload: e.payload, id: e.id, version: e.version })
    })
    await handle.call('fire', 7)
    await until(() => local.length === 2 && global.length === 2, 'both events')
    deepStrictEqual(local, [
      { type: 'fired', payload: { n: 7 }, id: 'e', version: '1.2.3' },
      { type: 'bare', payload: null, id: 'e', version: '1.2.3' },
    ])
    deepStrictEqual(global[0], { event: 'fired', payload: { n: 7 }, id: 'e', version: '1.2.3' })
  })

  const streamer = (version: string): string =>
    source(
      format,
      `name: 's', version: '${version}', setup() { return {
        async *count(n) { try { for (let i = 0; i < n; i++) { produced = i + 1; yield i } } finally { closed++ } },
        stats: () => ({ produced, closed }),
        async *slow() { for (let i = 0; ; i++) { await new Promise((r) => setTimeout(r, 20)); yield '${version}:' + i } },
        ticks(n) { return { async *[Symbol.asyncIterator]() { for (let i = 0; i < n; i++) yield 'tick' + i } } },
      } } `,
      'let produced = 0\nlet closed = 0',
    )
  type Streamer = { count(n: number): AsyncIterable<number>; stats(): { produced: number; closed: number }; slow(): AsyncIterable<string>; ticks(n: number): AsyncIterable<string> }

  test('streams: a 1,000,000-item stream read slowly never runs far ahead of its reader; break cancels the producer', {}, async (registry, write) => {
    await registry.load(await write('s', streamer('1.0.0')))
    const handle = registry.get<Streamer>('s')
    let seen = 0
    let maxAhead = 0
    for await (const i of await handle.call('count', 1_000_000)) {
      strictEqual(i, seen)
      seen++
      if (seen % 100_000 === 0) {
        await new Promise((r) => setTimeout(r, 30))
        const { produced } = await handle.call('stats')
        maxAhead = Math.max(maxAhead, produced - seen)
      }
    }
    strictEqual(seen, 1_000_000)
    ok(maxAhead <= 2048, `the producer ran ${maxAhead} items ahead of a paused reader`)
    let taken = 0
    for await (const _ of await handle.call('count', 1_000_000)) if (++taken === 10) break
    await until(async () => (await handle.call('stats')).closed === 2, 'the producer to be closed by break')
    ok((await handle.call('stats')).produced < 5000)
    const ticks: string[] = []
    for await (const t of await handle.call('ticks', 3)) ticks.push(t)
    deepStrictEqual(ticks, ['tick0', 'tick1', 'tick2'])
  })

  test('streams: a reload waits for an open stream, then cancels it with DRAIN_TIMEOUT', {}, async (registry, write) => {
    await registry.load(await write('s', streamer('1.0.0')))
    const handle = registry.get<Streamer>('s')
    const iterator = (await handle.call('slow'))[Symbol.asyncIterator]()
    strictEqual((await iterator.next()).value, '1.0.0:0')
    strictEqual(registry.status('s').inFlight, 1)
    const reading = (async () => {
      for (;;) await iterator.next()
    })()
    await write('s', streamer('1.0.1'))
    const t0 = Date.now()
    await registry.reload('s')
    ok(Date.now() - t0 >= 1000, 'the reload did not wait for the open stream (drainTimeoutMs 1500)')
    await rejects(reading, isCode('DRAIN_TIMEOUT'))
    const fresh = (await handle.call('slow'))[Symbol.asyncIterator]()
    strictEqual((await fresh.next()).value, '1.0.1:0')
    await fresh.return?.()
  })
  cases.push(...callCases(loader, format))
  return cases
}
