import { buildArtifact, createPluginRegistry, inProcessLoader } from '@hotswap/registry'
import { writeBigPlugin } from './lib/registry-fixtures.mjs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'
const dir = await mkdtemp(join(tmpdir(), 'leak-'))
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const path = await writeBigPlugin(dir, 'esm', '1.0.0')
const registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, keepPrevious: false })
await registry.load(path)
for (let i = 1; i <= 60; i++) { await writeBigPlugin(dir, 'esm', `1.0.${i}`); await registry.reload('big') }
await new Promise((r) => setTimeout(r, 200)); gc(); gc()
v8.writeHeapSnapshot('/tmp/h14x/heap.heapsnapshot')
await registry.close()
