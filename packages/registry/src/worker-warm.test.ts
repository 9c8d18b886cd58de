import { describe, expect, it } from 'vitest'
import { createPluginRegistry } from './registry.js'
import { put, quiet, sandbox } from './test-support.js'
import { workerLoader } from './worker-loader.js'

const t = sandbox()

// The plugin reads, while its module is evaluated (before any call), which of Node's lazily
// built parts the worker has already loaded: fetch's Request/Response/Headers live in undici,
// which every call's result check (instanceof Response) would otherwise load after the switch.
const probe = (version: string): string => `const loaded = process.moduleLoadList
const undiciAtImport = Array.isArray(loaded) && loaded.some((m) => /internal\\/deps\\/undici\\/undici$/.test(m))
export default { name: 'probe', version: '${version}', setup() { return { undiciAtImport: () => undiciAtImport } } }
`

describe('worker loader: what a worker has built before a version arrives', () => {
  it('loads the web globals (undici) before the plugin is imported, in a cold worker and in the warm spare', async () => {
    t.registry = createPluginRegistry({ loader: workerLoader(), logger: quiet })
    const file = await put(t.dir, 'probe.mjs', probe('1.0.0'))
    await t.registry.load(file)
    const handle = t.registry.get('probe')
    // The first version had no spare to go to: its worker was started for it.
    expect(await handle.call('undiciAtImport')).toBe(true)
    // The spare is booted 20 ms after a load; give it time to be the one the reload takes.
    await new Promise((r) => setTimeout(r, 500))
    await put(t.dir, 'probe.mjs', probe('1.0.1'))
    const status = await t.registry.reload('probe')
    expect(status.version).toBe('1.0.1')
    expect(await handle.call('undiciAtImport')).toBe(true)
  })
})
