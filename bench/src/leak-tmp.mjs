import { buildArtifact, createPluginRegistry, inProcessLoader } from '@hotswap/registry'
import { writeBigPlugin } from './lib/registry-fixtures.mjs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
const mode = process.argv[2]
const dir = await mkdtemp(join(tmpdir(), 'leak-'))
const mem = () => { gc(); gc(); return (process.memoryUsage().heapUsed / 1048576).toFixed(1) }
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const path = await writeBigPlugin(dir, 'esm', '1.0.0')
const registry = createPluginRegistry({ loader: inProcessLoader(), logger: quiet, keepPrevious: false })
await registry.load(path)
const base = await buildArtifact(path)
for (let i = 1; i <= 200; i++) {
  if (mode === 'prebuilt') {
    const a = { ...base, hash: String(i).padStart(16, '0'), code: base.code.replace("version: '1.0.0'", `version: '1.0.${i}'`) }
    await registry.reload('big', a)
  } else if (mode === 'nomap') {
    await writeBigPlugin(dir, 'esm', `1.0.${i}`); const a = await buildArtifact(path); await registry.reload('big', { ...a, sourceMap: undefined })
  } else if (mode === 'nocode') {
    await writeBigPlugin(dir, 'esm', `1.0.${i}`); const a = await buildArtifact(path); await registry.reload('big', { ...a, code: base.code.replace("version: '1.0.0'", `version: '1.0.${i}'`) })
  } else {
    await writeBigPlugin(dir, 'esm', `1.0.${i}`); await registry.reload('big')
  }
  if (i % 100 === 0) { await new Promise((r) => setTimeout(r, 100)); console.log(mode, i, mem()) }
}
await registry.close()
