import { describe, it } from 'vitest'
import { adapterContract } from './adapter-contract.js'
import { memoryAdapter } from './memory-adapter.js'

describe('memoryAdapter passes the adapter contract', () => {
  for (const c of adapterContract({ create: () => memoryAdapter() })) it(c.name, c.run)
})
