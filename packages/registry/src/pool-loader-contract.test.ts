// The loader contract (loader-contract.ts) run against the pool loader, with ESM and CJS plugins.
import { describe, it } from 'vitest'
import { loaderContract } from './loader-contract.js'
import { poolLoader } from './pool-loader.js'

describe.each([['esm'], ['cjs']] as const)('loader contract: pool, %s plugin', (plugin) => {
  for (const c of loaderContract({ loader: () => poolLoader({ size: 2 }), plugin })) it(c.name, c.run, 30_000)
})
