// A fleet host for the fleet bench: a real registry, joinFleet, steady calls into plugin "svc";
// tells the parent (IPC) when the version its calls return changes, with the wall-clock time.
import { createPluginRegistry } from '@hotswap/registry'
import { joinFleet, registryTarget } from '@hotswap/fleet'

const { FLEET_REDIS, FLEET_HOST, FLEET_DIR } = process.env
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
const registry = createPluginRegistry({ logger: quiet })
const host = await joinFleet({ url: FLEET_REDIS, hostId: FLEET_HOST, target: registryTarget(registry, { dir: FLEET_DIR }), heartbeatMs: 150, reconcileMs: 500 })
let last
let unexpected = 0
const seen = (version) => {
  if (version === last) return
  last = version
  process.send?.({ type: 'seen', host: FLEET_HOST, version, at: Date.now() })
}
;(async () => {
  for (;;) {
    if (registry.has('svc')) {
      try {
        seen(await registry.get('svc').call('work'))
        host.record('svc', true)
      } catch (error) {
        host.record('svc', false)
        const failing = /intended failure of (\S+)/.exec(error.message)?.[1]
        if (failing !== undefined) seen(failing)
        else unexpected++
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 4))
  }
})()
process.on('message', (m) => {
  if (m === 'stats') process.send?.({ type: 'stats', unexpected })
})
process.send?.({ type: 'ready' })
