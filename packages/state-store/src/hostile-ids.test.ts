import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { fileAdapter } from './file-adapter.js'
import { isValidPluginId } from './plugin-id.js'
import type { StateSnapshot } from './snapshot.js'
import { createStateStore } from './state-store.js'
import { listTree, removeTempDirs, tempDir } from './test-support/temp-dir.js'

afterAll(removeTempDirs)

/** Ids an attacker or a careless plugin author might use to escape the state directory. */
function hostileIds(): string[] {
  const cores = [
    '', '.', '..', '...', './', '../', '..\\', '../x', '..\\x', '../../etc/passwd', '..%2fx', 'a/../../b',
    '/etc/passwd', '/tmp/x', '\\\\server\\share', 'C:\\Windows', 'c:', 'c:x', 'a:b', 'x:$DATA', 'file://x',
    '%2e%2e', '%2e%2e%2f', '%2E%2E', '%252e%252e', '..%00', 'a\u0000b', '\u0000', 'a\u0000/../b',
    'con', 'CON', 'nul', 'nul.txt', 'prn', 'aux.json', 'com1', 'com9.log', 'lpt1', 'lpt9', 'conin$', 'Con',
    'a'.repeat(65), 'b'.repeat(255), 'c'.repeat(4096), `${'a'.repeat(64)}/x`,
    '\uff0e\uff0e', '\uff0e\uff0e\u2215x', '\u2024\u2024', 'a\u2215b', 'a\u2044b', 'a\u29f8b', 'ａｂｃ', 'аbc' /* Cyrillic а */,
    'ı', 'ſ', 'K' /* Kelvin sign */, 'e\u0301', '\u202eexe.txt', '\u200b', 'x\u200d', '\ufeffa',
    ' ', 'a ', ' a', 'a.', 'a..', '-a', '_a', '.a', '~', '~/x', '$HOME', '`id`', 'a;b', 'a|b', 'a>b', 'a<b', 'a*b', 'a?b', 'a"b',
    'a\nb', 'a\rb', 'a\tb', '\n', 'UPPER', 'MiXeD', 'a@1.snap', 'a@b', '.lock', '.lock.1.tmp', 'x.snap.corrupt-1',
  ]
  const wraps: ((s: string) => string)[] = [
    (s) => s,
    (s) => `${s}/`,
    (s) => `../${s}`,
    (s) => `${s}/..`,
    (s) => `/${s}`,
    (s) => `..\\${s}`,
    (s) => `${s}\u0000`,
    (s) => `a/${s}`,
    (s) => `${s}.`,
    (s) => s.toUpperCase(),
  ]
  const ids = new Set<string>()
  for (const core of cores) for (const wrap of wraps) ids.add(wrap(core))
  // Only ids the rule refuses are hostile; the few wrapped forms that became valid are dropped.
  return [...ids].filter((id) => !isValidPluginId(id))
}

const snap = (pluginId: string): StateSnapshot =>
  ({ pluginId, pluginVersion: '1.0.0', schemaVersion: 1, timestamp: 1, data: { evil: true }, metadata: {} })

describe('hostile plugin ids', () => {
  it('are all refused with INVALID_ID and nothing is written outside the state directory', async () => {
    const root = await tempDir()
    const dir = join(root, 'state')
    await mkdir(join(root, 'neighbour'))
    await writeFile(join(root, 'neighbour', 'keep.txt'), 'x')
    const ids = hostileIds()
    expect(ids.length).toBeGreaterThanOrEqual(500)
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    const before = await listTree(root)
    const codes = new Map<string, number>()
    for (const id of ids) {
      for (const attempt of [
        () => store.save(snap(id)),
        () => store.latest(id),
        () => store.history(id),
        () => store.rollback(id),
        () => store.clear(id),
      ]) {
        const code = await attempt().then(
          () => 'resolved',
          (error: unknown) => (error as { code?: string }).code ?? String(error),
        )
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }
    }
    expect(Object.fromEntries(codes)).toEqual({ INVALID_ID: ids.length * 5 })
    await store.close()
    expect(await listTree(root)).toEqual(before.filter((p) => p !== join('state', '.lock')))
  })

  it('are refused by the file adapter itself when the store is bypassed', async () => {
    const root = await tempDir()
    const adapter = fileAdapter({ dir: join(root, 'state') })
    await adapter.open({ emit: () => undefined })
    const before = await listTree(root)
    for (const id of hostileIds().slice(0, 200)) {
      await expect(adapter.put(snap(id), 3)).rejects.toMatchObject({ code: 'INVALID_ID' })
      await expect(adapter.list(id, 3)).rejects.toMatchObject({ code: 'INVALID_ID' })
      await expect(adapter.remove(id)).rejects.toMatchObject({ code: 'INVALID_ID' })
    }
    expect(await listTree(root)).toEqual(before)
    await adapter.close()
  })

  it('any string: refused, or written as exactly one file directly inside the directory (property)', async () => {
    const root = await tempDir()
    const dir = join(root, 'state')
    const store = await createStateStore({ adapter: fileAdapter({ dir }), maxHistory: 0 })
    const alphabet = fc.constantFrom(...'abz09._-/\\:%\u0000 .AZ\uff0e\u2215'.split(''))
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 70 }), fc.string({ unit: alphabet, maxLength: 70 })), async (id) => {
        const outcome = await store.save(snap(id)).then(
          () => 'saved',
          (error: unknown) => (error as { code?: string }).code,
        )
        expect(outcome).toBe(isValidPluginId(id) ? 'saved' : 'INVALID_ID')
      }),
      { numRuns: 400 },
    )
    await store.close()
    const tree = await listTree(root)
    // Everything lives in state/, one level deep, as <id>@<n>.snap (plus nothing else).
    for (const path of tree) {
      if (path === 'state') continue
      expect(path).toMatch(/^state[/\\][a-z0-9][a-z0-9._-]*@\d+\.snap$/)
    }
  })
})
