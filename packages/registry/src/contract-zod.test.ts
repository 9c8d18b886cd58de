// Config schemas from a real Standard Schema library (zod 4) on the worker and in-process
// loaders: the plugin imports zod itself, so the schema lives (and validates) where the plugin runs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigInvalidError } from './config.js'
import { inProcessLoader } from './in-process-loader.js'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import type { PluginRegistry } from './registry-types.js'
import { quiet } from './test-support.js'
import { workerLoader } from './worker-loader.js'

// Inside the package, so that the plugin's `import 'zod'` resolves to the dev dependency.
const packageDir = fileURLToPath(new URL('..', import.meta.url))

const plugin = (version: string): string => `import { z } from 'zod'
export default {
  name: 'links',
  version: '${version}',
  config: z.object({ base: z.url(), maxLength: z.number().int().min(4).default(8), tags: z.array(z.string()).default([]) }),
  setup(ctx) {
    return { shorten: (url) => ctx.config.base + '/' + url.slice(0, ctx.config.maxLength), config: () => ctx.config, inWorker: () => typeof globalThis.postMessage }
  },
}
`

describe.each<[string, () => Loader]>([
  ['worker', () => workerLoader()],
  ['in-process', () => inProcessLoader()],
])('zod 4 config schemas (%s)', (_label, loader) => {
  let dir: string
  let registry: PluginRegistry
  beforeEach(async () => {
    dir = await mkdtemp(join(packageDir, '.contract-zod-'))
    registry = createPluginRegistry({ loader: loader(), logger: quiet, config: { links: { base: 'https://s.example' } } })
  })
  afterEach(async () => {
    await registry.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('applies the schema (defaults included), refuses a bad config with every issue and its path, keeps the old config serving', async () => {
    const path = join(dir, 'links.mjs')
    await writeFile(path, plugin('1.0.0'))
    await registry.load(path)
    const links = registry.get<{ shorten(url: string): string; config(): unknown }>('links')
    expect(await links.call('config')).toEqual({ base: 'https://s.example', maxLength: 8, tags: [] })
    expect(await links.call('shorten', 'abcdefghijkl')).toBe('https://s.example/abcdefgh')
    const error = await registry.configure('links', { base: 'not a url', maxLength: 2, tags: ['ok', 5] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigInvalidError)
    expect((error as ConfigInvalidError).code).toBe('CONFIG_INVALID')
    expect((error as ConfigInvalidError).issues.map((i) => i.path)).toEqual([['base'], ['maxLength'], ['tags', 1]])
    expect((error as ConfigInvalidError).message).toMatch(/tags\[1\]/)
    expect(await links.call('shorten', 'abcdefghijkl')).toBe('https://s.example/abcdefgh')
    await registry.configure('links', { base: 'https://t.example', maxLength: 4 })
    expect(await links.call('shorten', 'abcdefghijkl')).toBe('https://t.example/abcd')
    expect(registry.status('links')).toMatchObject({ version: '1.0.0', reloadCount: 1 })
  })
})
