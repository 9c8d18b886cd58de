import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fnv1a64Hex } from '@hotswap/change-detector'
import { afterAll, describe, expect, it } from 'vitest'
import { buildFleetArtifact, decodeFleetArtifact, encodeFleetArtifact, hashFleetFiles, verifyFleetArtifact } from './artifact.js'
import { writeArtifact } from './registry-target.js'
import { removeTempDirs, tempDir } from './test-support/hosts.js'

afterAll(removeTempDirs)

async function pluginDir(): Promise<string> {
  const dir = await tempDir()
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'greeter', version: '1.2.3', main: './index.mjs' }))
  await writeFile(join(dir, 'index.mjs'), 'export default {}')
  await mkdir(join(dir, 'lib'))
  await writeFile(join(dir, 'lib', 'util.mjs'), 'export const x = 1')
  await mkdir(join(dir, 'node_modules', 'dep'), { recursive: true })
  await writeFile(join(dir, 'node_modules', 'dep', 'index.js'), 'ignored')
  return dir
}

describe('fleet artifacts', () => {
  it('reads every file but node_modules, with the manifest and one FNV-1a 64 over paths and bytes', async () => {
    const artifact = await buildFleetArtifact(await pluginDir())
    expect(artifact).toMatchObject({ id: 'greeter', version: '1.2.3', entry: 'index.mjs' })
    expect(Object.keys(artifact.files).sort()).toEqual(['index.mjs', 'lib/util.mjs', 'package.json'])
    const enc = new TextEncoder()
    const bytes = (path: string): Uint8Array => artifact.files[path]!
    const parts = ['index.mjs', 'lib/util.mjs', 'package.json'].flatMap((p) => [enc.encode(`${p}\0${bytes(p).length}\0`), bytes(p)])
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const part of parts) joined.set(part, (at += part.length) - part.length)
    expect(artifact.hash).toBe(fnv1a64Hex(joined))
    expect(artifact.hash).toMatch(/^[0-9a-f]{16}$/)
  })

  it('round-trips through its Redis encoding and verifies; a changed byte is HASH_MISMATCH', async () => {
    const artifact = await buildFleetArtifact(await pluginDir())
    const back = decodeFleetArtifact(encodeFleetArtifact(artifact), 'k')
    expect(back).toEqual(artifact)
    verifyFleetArtifact(back, artifact.hash)
    const damaged = { ...back, files: { ...back.files, 'index.mjs': new TextEncoder().encode('export default {!}') } }
    expect(() => verifyFleetArtifact(damaged)).toThrow(expect.objectContaining({ code: 'HASH_MISMATCH' }))
    expect(() => verifyFleetArtifact(back, '0000000000000000')).toThrow(/rollout wants 0000000000000000/)
    expect(hashFleetFiles({ a: new Uint8Array([1]) })).not.toBe(hashFleetFiles({ b: new Uint8Array([1]) }))
  })

  it('refuses folders without a usable package.json or entry, with INVALID_ARTIFACT', async () => {
    const dir = await tempDir()
    await expect(buildFleetArtifact(dir)).rejects.toMatchObject({ code: 'INVALID_ARTIFACT', message: expect.stringContaining('no package.json') })
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'Bad Name', version: '1.0.0' }))
    await expect(buildFleetArtifact(dir)).rejects.toThrow(/plugin id/)
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'ok', version: '1.0.0', main: 'missing.js' }))
    await expect(buildFleetArtifact(dir)).rejects.toThrow(/missing\.js/)
    await expect(buildFleetArtifact(join(dir, 'nope'))).rejects.toMatchObject({ code: 'INVALID_ARTIFACT' })
    expect(() => decodeFleetArtifact('{"format":2}', 'key')).toThrow(expect.objectContaining({ code: 'INVALID_ARTIFACT' }))
  })

  it('writeArtifact writes a whole version folder once, named by the hash', async () => {
    const artifact = await buildFleetArtifact(await pluginDir())
    const root = await tempDir()
    const folder = await writeArtifact(root, artifact)
    expect(folder).toBe(join(root, 'greeter', artifact.hash))
    expect(await readFile(join(folder, 'lib', 'util.mjs'), 'utf8')).toBe('export const x = 1')
    expect(await writeArtifact(root, artifact)).toBe(folder)
    // A folder torn by a crash (a file cut short) is replaced, not reused.
    await writeFile(join(folder, 'lib', 'util.mjs'), 'export const')
    expect(await writeArtifact(root, artifact)).toBe(folder)
    expect(await readFile(join(folder, 'lib', 'util.mjs'), 'utf8')).toBe('export const x = 1')
  })
})
