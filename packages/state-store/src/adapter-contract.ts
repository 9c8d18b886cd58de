import { deepStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict'
import type { AdapterEvent, StateAdapter } from './adapter.js'
import { StateStoreError } from './errors.js'
import { createSnapshot } from './snapshot.js'
import type { StateSnapshot } from './snapshot.js'

/**
 * How {@link adapterContract} gets fresh adapters of the kind under test.
 *
 * @example
 * ```ts
 * const options: AdapterContractOptions = {
 *   create: () => fileAdapter({ dir: mkdtempSync(join(tmpdir(), 'state-')) }),
 * }
 * for (const c of adapterContract(options)) it(c.name, c.run)
 * ```
 */
export interface AdapterContractOptions {
  /** Returns a new, unopened adapter on empty storage. Called once per case. */
  readonly create: () => StateAdapter | Promise<StateAdapter>
  /**
   * For persistent adapters: returns a new, unopened adapter on the same storage as the
   * adapter last returned by `create`. When given, the persistence cases run.
   */
  readonly reopen?: () => StateAdapter | Promise<StateAdapter>
}

/**
 * One case of the adapter contract: a name for the test runner and the check itself.
 *
 * @example
 * ```ts
 * for (const { name, run } of adapterContract({ create: () => memoryAdapter() })) it(name, run)
 * ```
 */
export interface AdapterContractCase {
  /** What the case checks, to use as the test's name. */
  readonly name: string
  /** Runs the case; rejects with an `AssertionError` when the adapter misbehaves. */
  readonly run: () => Promise<void>
}

/**
 * The behaviour every {@link StateAdapter} must have, as framework-neutral test cases
 * (they use `node:assert`), so that each adapter (memory, file, a later Redis one) is tested
 * the same way. Each case opens its own adapter and closes it; a failing case rejects with an
 * `AssertionError`.
 *
 * @param options - `create` (a fresh adapter per case) and, for persistent adapters, `reopen`.
 * @returns The cases; register each one with your test runner.
 * @example
 * ```ts
 * import { describe, it } from 'vitest'
 * describe('memoryAdapter', () => {
 *   for (const c of adapterContract({ create: () => memoryAdapter() })) it(c.name, c.run)
 * })
 * ```
 */
export function adapterContract(options: AdapterContractOptions): AdapterContractCase[] {
  const cases: AdapterContractCase[] = []
  const test = (name: string, body: (adapter: StateAdapter, events: AdapterEvent[]) => Promise<void>): void => {
    cases.push({
      name,
      run: async () => {
        const adapter = await options.create()
        const events: AdapterEvent[] = []
        await adapter.open({ emit: (event) => events.push(event) })
        try {
          await body(adapter, events)
        } finally {
          await adapter.close()
        }
      },
    })
  }

  cases.push({
    name: 'rejects with CLOSED before open',
    run: async () => {
      const adapter = await options.create()
      await rejects(adapter.list('a', 1), isCode('CLOSED'))
      await rejects(adapter.put(snap('a', 1), 3), isCode('CLOSED'))
      await adapter.close()
    },
  })

  test('an unknown id has no snapshots', async (adapter) => {
    deepStrictEqual(await adapter.list('nobody', 10), [])
    strictEqual(await adapter.pop('nobody'), false)
    deepStrictEqual(await adapter.ids(), [])
    await adapter.remove('nobody')
  })

  test('put then list returns an equal snapshot', async (adapter) => {
    const snapshot = snap('counter', 1)
    await adapter.put(snapshot, 5)
    deepStrictEqual(await adapter.list('counter', 5), [snapshot])
  })

  test('list is newest first and honours the limit', async (adapter) => {
    for (let n = 1; n <= 4; n++) await adapter.put(snap('p', n), 10)
    deepStrictEqual(seqs(await adapter.list('p', 10)), [4, 3, 2, 1])
    deepStrictEqual(seqs(await adapter.list('p', 2)), [4, 3])
    deepStrictEqual(seqs(await adapter.list('p', 1)), [4])
  })

  test('put keeps at most `keep` snapshots, dropping the oldest', async (adapter) => {
    for (let n = 1; n <= 7; n++) await adapter.put(snap('p', n), 3)
    deepStrictEqual(seqs(await adapter.list('p', 100)), [7, 6, 5])
    await adapter.put(snap('p', 8), 1)
    deepStrictEqual(seqs(await adapter.list('p', 100)), [8])
  })

  test('pop discards the newest and reports whether there was one', async (adapter) => {
    for (let n = 1; n <= 3; n++) await adapter.put(snap('p', n), 10)
    strictEqual(await adapter.pop('p'), true)
    deepStrictEqual(seqs(await adapter.list('p', 10)), [2, 1])
    strictEqual(await adapter.pop('p'), true)
    strictEqual(await adapter.pop('p'), true)
    strictEqual(await adapter.pop('p'), false)
    deepStrictEqual(await adapter.ids(), [])
    await adapter.put(snap('p', 9), 10)
    deepStrictEqual(seqs(await adapter.list('p', 10)), [9])
  })

  test('remove discards one plugin only', async (adapter) => {
    await adapter.put(snap('a', 1), 10)
    await adapter.put(snap('a', 2), 10)
    await adapter.put(snap('b', 1), 10)
    await adapter.remove('a')
    deepStrictEqual(await adapter.list('a', 10), [])
    deepStrictEqual(seqs(await adapter.list('b', 10)), [1])
    deepStrictEqual(await adapter.ids(), ['b'])
  })

  test('ids lists every plugin with a snapshot, sorted', async (adapter) => {
    for (const id of ['zeta', 'alpha', 'm.i-d_dle', '0lead']) await adapter.put(snap(id, 1), 2)
    deepStrictEqual(await adapter.ids(), ['0lead', 'alpha', 'm.i-d_dle', 'zeta'])
  })

  test('stored snapshots are copies, isolated from callers', async (adapter) => {
    const data = { list: [1, 2], nested: { flag: true } }
    const snapshot = createSnapshot({ pluginId: 'iso', pluginVersion: '1.0.0', data, timestamp: 1 })
    await adapter.put(snapshot, 3)
    ;(snapshot.data as { list: number[] }).list.push(3)
    const [first] = await adapter.list('iso', 1)
    ok(first)
    ;(first.data as { nested: { flag: boolean } }).nested.flag = false
    const [again] = await adapter.list('iso', 1)
    deepStrictEqual(again?.data, { list: [1, 2], nested: { flag: true } })
  })

  test('JSON values round-trip exactly', async (adapter) => {
    const data = {
      text: 'héllo \u0000 \u2028 😀 "quoted" \\ back',
      numbers: [0, -1, 1.5, 1e21, -2.5e-7, Number.MAX_SAFE_INTEGER],
      empty: { '': [], 'a.b': {} },
      nothing: null,
      yes: true,
    }
    const snapshot = createSnapshot({
      pluginId: 'json',
      pluginVersion: '2.3.4-rc.1+build.5',
      schemaVersion: 7,
      data,
      timestamp: 1_700_000_000_123,
      metadata: { reason: 'reload', n: 3 },
    })
    await adapter.put(snapshot, 3)
    deepStrictEqual(await adapter.list('json', 1), [snapshot])
  })

  test('puts for many plugins at once all land', async (adapter) => {
    const ids = Array.from({ length: 40 }, (_, i) => `plugin-${i}`)
    await Promise.all(ids.map(async (id) => {
      for (let n = 1; n <= 3; n++) await adapter.put(snap(id, n), 2)
    }))
    deepStrictEqual(await adapter.ids(), [...ids].sort())
    for (const id of ids) deepStrictEqual(seqs(await adapter.list(id, 10)), [3, 2])
  })

  cases.push({
    name: 'rejects with CLOSED after close, and close is idempotent',
    run: async () => {
      const adapter = await options.create()
      await adapter.open({ emit: () => undefined })
      await adapter.put(snap('a', 1), 2)
      await adapter.close()
      await adapter.close()
      await rejects(adapter.list('a', 1), isCode('CLOSED'))
      await rejects(adapter.put(snap('a', 2), 2), isCode('CLOSED'))
      await rejects(adapter.ids(), isCode('CLOSED'))
    },
  })

  const reopen = options.reopen
  if (reopen !== undefined) {
    cases.push({
      name: 'snapshots, history and removals persist across reopen',
      run: async () => {
        const first = await options.create()
        await first.open({ emit: () => undefined })
        for (let n = 1; n <= 5; n++) await first.put(snap('keep', n), 3)
        await first.put(snap('gone', 1), 3)
        await first.remove('gone')
        await first.pop('keep')
        await first.close()
        const second = await reopen()
        await second.open({ emit: () => undefined })
        try {
          deepStrictEqual(await second.ids(), ['keep'])
          deepStrictEqual(seqs(await second.list('keep', 10)), [4, 3])
          await second.put(snap('keep', 6), 3)
          deepStrictEqual(seqs(await second.list('keep', 10)), [6, 4, 3])
        } finally {
          await second.close()
        }
      },
    })
  }
  return cases
}

function snap(pluginId: string, seq: number): StateSnapshot {
  return createSnapshot({
    pluginId,
    pluginVersion: '1.0.0',
    data: { seq, payload: `payload-${pluginId}-${seq}` },
    timestamp: 1_700_000_000_000 + seq,
    metadata: { seq },
  })
}

function seqs(list: readonly StateSnapshot[]): number[] {
  return list.map((s) => (s.data as { seq: number }).seq)
}

function isCode(code: StateStoreError['code']): (error: unknown) => boolean {
  return (error) => error instanceof StateStoreError && error.code === code
}
