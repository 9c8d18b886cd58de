import { readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StateStoreEvent } from './events.js'
import { fileAdapter } from './file-adapter.js'
import { createSnapshot } from './snapshot.js'
import { createStateStore } from './state-store.js'
import { bundleChild } from './test-support/bundle-child.js'
import { exited, nextMessage, startChild } from './test-support/child-process.js'
import { removeTempDirs, tempDir } from './test-support/temp-dir.js'

let script = ''
beforeAll(async () => {
  script = await bundleChild('lock-child')
}, 30_000)
afterAll(removeTempDirs)

describe('one store per directory', () => {
  it('a second process gets LOCKED naming the holder pid, and gets the dir once the holder closes', async () => {
    const dir = await tempDir()
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    const child = startChild(script, [dir])
    const refused = await nextMessage(child, 'error')
    expect(refused.code).toBe('LOCKED')
    expect(refused.details).toMatchObject({ pid: process.pid })
    expect(refused.message).toContain(`process ${process.pid}`)
    await exited(child)
    await store.close()
    const second = startChild(script, [dir])
    const ready = await nextMessage(second, 'ready')
    expect(ready.pid).toBe(second.pid)
    second.send({ type: 'close' })
    await exited(second)
  })

  it('this process gets LOCKED while a child holds the dir', async () => {
    const dir = await tempDir()
    const child = startChild(script, [dir])
    await nextMessage(child, 'ready')
    const error = await createStateStore({ adapter: fileAdapter({ dir }) }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LOCKED', details: { pid: child.pid } })
    expect(String((error as Error).message)).toContain(`process ${child.pid}`)
    child.send({ type: 'close' })
    await exited(child)
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    await store.close()
  })

  it('a stale lock of a killed process is taken over and reported', async () => {
    const dir = await tempDir()
    const child = startChild(script, [dir])
    await nextMessage(child, 'ready')
    child.kill('SIGKILL')
    await exited(child)
    expect(JSON.parse(await readFile(join(dir, '.lock'), 'utf8'))).toMatchObject({ pid: child.pid })
    const events: StateStoreEvent[] = []
    const store = await createStateStore({ adapter: fileAdapter({ dir }), onEvent: (e) => events.push(e) })
    expect(events).toEqual([{ type: 'lockTakenOver', location: join(dir, '.lock'), previousPid: child.pid }])
    expect(JSON.parse(await readFile(join(dir, '.lock'), 'utf8'))).toMatchObject({ pid: process.pid })
    await store.save(createSnapshot({ pluginId: 'p', pluginVersion: '1.0.0', data: 1 }))
    await store.close()
  })

  it('an unreadable lock file is stale; a lock from another host is respected', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, '.lock'), 'garbage')
    const store = await createStateStore({ adapter: fileAdapter({ dir }) })
    await store.close()
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid: 1, hostname: `not-${hostname()}`, since: 'x' }))
    await expect(createStateStore({ adapter: fileAdapter({ dir }) })).rejects.toMatchObject({ code: 'LOCKED', details: { pid: 1 } })
  })

  it('a second store on the same dir in this process is LOCKED too, and close releases', async () => {
    const dir = await tempDir()
    const first = await createStateStore({ adapter: fileAdapter({ dir }) })
    await expect(createStateStore({ adapter: fileAdapter({ dir: join(dir, '.', '') }) })).rejects.toMatchObject({ code: 'LOCKED' })
    await first.close()
    const again = await createStateStore({ adapter: fileAdapter({ dir }) })
    await again.close()
  })
})
