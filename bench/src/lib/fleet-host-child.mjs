// A fleet host for the fleet bench: hotswap-host itself (its main(), --fleet/--host-id, the
// loader FLEET_LOADER, default the host's own default, worker), so each version goes through the host's pipeline and every call counts
// for the health gate through registry.onCall, as in production. Steady calls into plugin
// "svc"; tells the parent (IPC) when the version its calls return changes, with the time.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { main } from 'hotswap-host'

const { FLEET_REDIS, FLEET_HOST, FLEET_DIR, FLEET_LOADER = 'worker' } = process.env
const own = join(FLEET_DIR, 'own')
mkdirSync(own, { recursive: true })
let stop
let host
const exit = main(['--fleet', FLEET_REDIS, '--host-id', FLEET_HOST, '--port', '0', '--state-dir', join(FLEET_DIR, 'state'), '--loader', FLEET_LOADER, '--log-format', 'json', '--log-level', 'silent', own], {
  stdout: () => {},
  stderr: (text) => process.stderr.write(text),
  env: {},
  cwd: FLEET_DIR,
  color: false,
  onSignal: (signal, handler) => {
    if (signal === 'SIGTERM') stop = handler
    return () => {}
  },
  onStarted: (started) => (host = started),
})
process.on('SIGTERM', () => stop?.())
void exit.then((code) => process.exit(code))
while (host === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
const registry = host.pipeline.registry
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
      } catch (error) {
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
