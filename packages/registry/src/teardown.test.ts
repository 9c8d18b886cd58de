// The host process as a user runs it: a child process, so that its exit is observable.
import { beforeAll, describe, expect, it } from 'vitest'
import { counterSource, moduleSource, put, sandbox, bundleForScripts, runScript } from './test-support.js'

let bundle = ''
beforeAll(async () => {
  bundle = await bundleForScripts('registry-teardown')
}, 60_000)

const t = sandbox()

describe('the host process', () => {
  it('exits by itself when close() is forgotten: idle workers and the warm spare do not hold it', async () => {
    const path = await put(t.dir, 'counter.mjs', counterSource('esm', '1.0.0'))
    const { code, out } = await runScript(`
      import { createPluginRegistry } from ${JSON.stringify(bundle)}
      import { writeFile } from 'node:fs/promises'
      const registry = createPluginRegistry({ logger: { debug() {}, info() {}, warn() {}, error() {} } })
      await registry.load(${JSON.stringify(path)})
      await registry.get('counter').call('increment')
      await writeFile(${JSON.stringify(path)}, ${JSON.stringify(counterSource('esm', '1.0.1'))})
      await registry.reload('counter')
      await new Promise((r) => setTimeout(r, 300)) // the warm spare is up by now
      console.log('served', await registry.get('counter').call('get'))
    `)
    expect(code, out).toBe(0)
    expect(out).toContain('served 1')
  }, 30_000)

  it('survives plugins that post garbage on parentPort', async () => {
    const paths: string[] = []
    for (const [i, message] of ['null', "'ready'", "{ log: 'fatal' }", '{ id: 1, ok: false, error: null }'].entries()) {
      paths.push(await put(t.dir, `forger${i}.mjs`, moduleSource('esm', `import { parentPort } from 'node:worker_threads'\nparentPort.postMessage(${message})`, `name: 'forger${i}', version: '1.0.0', setup() { parentPort.postMessage(${message}); return { post() { for (let id = 1; id < 9; id++) parentPort.postMessage(${message}); return 1 } } },`)))
    }
    const { code, out } = await runScript(`
      import { createPluginRegistry } from ${JSON.stringify(bundle)}
      const registry = createPluginRegistry({ logger: { debug() {}, info() {}, warn() {}, error() {} } })
      let served = 0
      for (const path of ${JSON.stringify(paths)}) {
        const status = await registry.load(path)
        served += await registry.get(status.id).call('post')
      }
      await new Promise((r) => setTimeout(r, 200))
      await registry.close()
      console.log('served', served)
    `)
    expect(code, out).toBe(0)
    expect(out).toContain('served 4')
  }, 30_000)
})
