import { describe, expect, it } from 'vitest'
import { FNV_WASM_BASE64 } from './wasm-bytes.js'

describe('the committed WebAssembly kernel', () => {
  it('is exactly what wasm/fnv1a.wat compiles to (run `node wasm/build.mjs` after editing the WAT)', async () => {
    const specifier = new URL('../wasm/build.mjs', import.meta.url).href
    const build = (await import(specifier)) as { compileKernel: () => Promise<string> }
    expect(await build.compileKernel()).toBe(FNV_WASM_BASE64)
  })
})
