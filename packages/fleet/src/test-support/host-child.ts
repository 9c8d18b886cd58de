// A fleet host as its own process: a real registry (worker loader), joinFleet with the
// registry target, and steady traffic into plugin "svc"; registry.onCall feeds the health gate.
import { createPluginRegistry } from '@hotswap/registry'
import { joinFleet } from '../fleet-host.js'
import { registryTarget } from '../registry-target.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
const registry = createPluginRegistry({ logger: quiet })
const host = await joinFleet({
  url: env('FLEET_REDIS'),
  namespace: env('FLEET_NS'),
  hostId: env('FLEET_HOST'),
  target: registryTarget(registry, { dir: env('FLEET_DIR') }),
  heartbeatMs: 150,
  reconcileMs: 500,
})
// Every call through the registry counts for the health gate, of the version that served it.
registry.onCall((call) => host.record(call.id, call.ok))

const seen: string[] = []
let calls = 0
let intended = 0
let gone = 0
const unexpected: string[] = []

void (async () => {
  for (;;) {
    if (registry.has('svc')) {
      calls++
      try {
        const version = (await registry.get('svc').call('work')) as string
        if (seen.at(-1) !== version) seen.push(version)
      } catch (error) {
        const message = (error as Error).message
        if (message.includes('intended failure')) {
          intended++
          const version = /intended failure of (\S+)/.exec(message)?.[1]
          if (version !== undefined && seen.at(-1) !== version) seen.push(version)
        } else if ((error as { code?: string }).code === 'NOT_FOUND') {
          gone++ // it was unloaded between has() and the call (a removed first version)
        } else if (unexpected.length < 20) unexpected.push(message)
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 4))
  }
})()

process.on('message', (message) => {
  if (message === 'stats') process.send?.({ type: 'stats', seen, calls, intended, gone, unexpected, loaded: registry.has('svc'), status: host.status() })
})
process.send?.({ type: 'ready' })
