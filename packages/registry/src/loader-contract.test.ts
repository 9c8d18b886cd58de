// The loader contract (loader-contract.ts, exported for third-party loaders) run against the
// worker loader (ESM and CJS plugins), the in-process loader (CJS and ESM) and the wasm loader.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'vitest'
import { inProcessLoader } from './in-process-loader.js'
import { loaderContract } from './loader-contract.js'
import type { LoaderContractOptions } from './loader-contract.js'
import { watToWasm } from './test-support.js'
import { wasmLoader } from './wasm-loader.js'
import { workerLoader } from './worker-loader.js'

const wasmBytes = watToWasm(await readFile(new URL('./fixtures/wasm/counter.wat', import.meta.url), 'utf8'), 'counter.wat')

const suites: Array<[string, LoaderContractOptions]> = [
  ['worker, ESM plugin', { loader: () => workerLoader(), plugin: 'esm' }],
  ['worker, CJS plugin', { loader: () => workerLoader(), plugin: 'cjs' }],
  ['in-process, CJS plugin', { loader: () => inProcessLoader(), plugin: 'cjs' }],
  ['in-process, ESM plugin', { loader: () => inProcessLoader(), plugin: 'esm' }],
  [
    'wasm',
    {
      loader: () => wasmLoader(),
      plugin: {
        file: 'counter.wasm',
        async write(dir, version, broken) {
          await writeFile(join(dir, 'counter.plugin.json'), JSON.stringify({ name: 'counter', version }))
          const path = join(dir, 'counter.wasm')
          await writeFile(path, broken ? new Uint8Array([0, 97, 115, 109, 9, 9]) : await wasmBytes)
          return path
        },
      },
    },
  ],
]

describe.each(suites)('loader contract: %s', (_label, options) => {
  for (const c of loaderContract(options)) it(c.name, c.run, 60_000)
})
