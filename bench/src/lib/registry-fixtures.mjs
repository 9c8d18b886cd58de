// Plugin fixtures for the registry bench: a ~100 KB JS counter plugin and a ~100 KB wasm one.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const FUNCTIONS = 2400 // ~100 KB of source

/** Source of a ~100 KB counter plugin, ESM or CJS, at `version`. */
export function bigPluginSource(format, version) {
  let body = ''
  for (let k = 0; k < FUNCTIONS; k++) body += `function f${k}(a, b) { return a * ${k} + b - ${k % 7} }\n`
  const object = `{
  name: 'big',
  version: '${version}',
  setup(ctx) {
    count = ctx.state?.count ?? 0
    return { add: (a, b) => a + b, increment: () => ++count, get: () => count, work: (n) => f${FUNCTIONS - 1}(n, 1) }
  },
  saveState() { return { count } },
}`
  return `let count = 0\n${body}\n${format === 'esm' ? 'export default ' : 'module.exports = '}${object}\n`
}

/** Writes the JS plugin (`big.mjs` or `big.cjs`) into `dir`; returns its path. */
export async function writeBigPlugin(dir, format, version) {
  const path = join(dir, format === 'esm' ? 'big.mjs' : 'big.cjs')
  await writeFile(path, bigPluginSource(format, version))
  return path
}

let wasmBytes
/** Bytes of a ~100 KB wasm counter plugin (code + a 96 KB data segment), compiled from WAT with wabt. */
export async function bigWasmBytes() {
  if (wasmBytes) return wasmBytes
  const require = createRequire(import.meta.url)
  const initWabt = require(require.resolve('wabt', { paths: [new URL('../../../packages/registry/', import.meta.url).pathname] }))
  const wabt = await initWabt()
  let funcs = ''
  for (let k = 0; k < 200; k++) funcs += `(func (export "f${k}") (param i32) (result i32) local.get 0 i32.const ${k} i32.add)\n`
  const data = 'x'.repeat(96 * 1024)
  const wat = `(module
  (memory 2)
  (data (i32.const 0) "${data}")
  (global $count (mut i32) (i32.const 0))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "increment") (result i32) global.get $count i32.const 1 i32.add global.set $count global.get $count)
  (func (export "get") (result i32) global.get $count)
  (func (export "hotswap_save_state") (result i32) global.get $count)
  (func (export "hotswap_load_state") (param i32) local.get 0 global.set $count)
  ${funcs})`
  const module = wabt.parseWat('big.wat', wat)
  wasmBytes = Uint8Array.from(module.toBinary({}).buffer)
  module.destroy()
  return wasmBytes
}

/** Writes `big.wasm` and its sidecar `big.plugin.json` at `version`; returns the wasm path. */
export async function writeBigWasm(dir, version) {
  await writeFile(join(dir, 'big.plugin.json'), JSON.stringify({ name: 'big', version }))
  const path = join(dir, 'big.wasm')
  await writeFile(path, await bigWasmBytes())
  return path
}
