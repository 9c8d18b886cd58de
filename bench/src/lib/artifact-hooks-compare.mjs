// One-off comparison (Node >= 22.15 only; not a suite): per version of a 2-file TS plugin, the bundle
// (buildArtifact + compile, what the loaders do) vs module.registerHooks serving a read+hashed snapshot
// with Node's strip-only types. Usage: node bench/src/lib/artifact-hooks-compare.mjs <bytes>
import { buildArtifact } from '@hotswap/registry'
import { fnv1a64Hex } from '@hotswap/change-detector'
import module, { registerHooks, stripTypeScriptTypes } from 'node:module'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
const size = Number(process.argv[2] ?? 1024)
const dir = await mkdtemp(join(tmpdir(), 'hotswap-hooks-'))
let helper = ''; for (let k = 0; helper.length < size / 2; k++) helper += `export function f${k}(a: number, b: number): number { return a * ${k} + b }\n`
const entryText = (v) => { let e = `import { f0 } from './helper.ts'\n`; for (let k = 0; e.length < size / 2; k++) e += `const c${k}: number = f0(${k}, 1)\n`; return e + `export default { name: 'p', version: '${v}', setup() { return {} } }\n` }
await writeFile(`${dir}/helper.ts`, helper)
const entry = `${dir}/plugin.ts`
let snapshot = new Map()
registerHooks({
  resolve(spec, ctx, next) {
    const v = ctx.parentURL && new URL(ctx.parentURL).searchParams.get('v')
    const r = next(spec, ctx)
    if (v && r.url.startsWith('file:') && snapshot.has(fileURLToPath(r.url.split('?')[0]))) return { ...r, url: r.url.split('?')[0] + '?v=' + v, shortCircuit: true }
    return r
  },
  load(url, ctx, next) {
    if (url.startsWith('file:')) {
      const file = fileURLToPath(url.split('?')[0])
      const s = snapshot.get(file)
      if (s !== undefined) return { format: 'module', source: stripTypeScriptTypes(s, { mode: 'strip' }), shortCircuit: true }
    }
    return next(url, ctx)
  },
})
const bundle = [], hooks = []
for (let i = 0; i < 40; i++) {
  await writeFile(entry, entryText(`1.0.${i}`))
  let t = performance.now()
  const a = await buildArtifact(entry)
  const m = new module(a.entry + '.bundle.js'); m.filename = a.entry + '.bundle.js'; m.paths = []; m._compile(a.code, m.filename, 'commonjs')
  bundle.push(performance.now() - t)
  t = performance.now()
  snapshot = new Map()
  for (const f of [entry, `${dir}/helper.ts`]) { const b = await readFile(f); fnv1a64Hex(b); snapshot.set(f, b.toString('utf8')) }
  await import(pathToFileURL(entry).href + '?v=' + i)
  hooks.push(performance.now() - t)
}
const med = (xs) => xs.slice(5).sort((a, b) => a - b)[Math.floor((xs.length - 5) / 2)].toFixed(2)
console.log(JSON.stringify({ node: process.version, size, bundleP50Ms: +med(bundle), hooksP50Ms: +med(hooks), rssMB: +(process.memoryUsage().rss / 1048576).toFixed(1) }))
await rm(dir, { recursive: true, force: true })
