// The dashboard's fleet view in a real headless Chromium, against a host in a real fleet: two
// hosts (through main, with --fleet/--host-id) on a real redis-server, a version published
// with `hotswap-host publish`, then rolled back through the API.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { redisMissing, startRedis, type TestRedis } from '@hotswap/state-store/testing'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Host } from './host.js'
import { main, type CliIo } from './main.js'
import { until } from './test-support/host.js'

const CHROMIUM = '/usr/bin/chromium'
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url))
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const problem = !existsSync(CHROMIUM) ? `${CHROMIUM} is absent (sh scripts/ensure-debian-package.sh chromium /usr/bin/chromium browser-test)` : redisMissing()
if (problem !== undefined) console.warn(`[fleet-dashboard.test] skipped: ${problem}`)

interface Running {
  readonly id: string
  readonly exit: Promise<number>
  host: Host | undefined
  stop: (() => void) | undefined
  err: string
}

describe.skipIf(problem !== undefined)('the dashboard shows the fleet (headless Chromium)', () => {
  let root = ''
  let redis: TestRedis
  let running: Running[] = []
  let profile = ''
  let context: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  function cli(entry: Partial<Running>): CliIo {
    return {
      stdout: () => undefined,
      stderr: (s) => void (entry.err = (entry.err ?? '') + s),
      env: {},
      cwd: root,
      color: false,
      onSignal: (signal, handler) => {
        if (signal === 'SIGTERM') entry.stop = handler
        return () => undefined
      },
      onStarted: (h) => (entry.host = h),
    }
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'hotswap-fleet-dashboard-'))
    redis = await startRedis()
    await mkdir(join(root, 'own'))
    running = ['a', 'b'].map((id) => {
      const entry: Partial<Running> = { id, err: '' }
      const exit = main(['--fleet', redis.url, '--host-id', id, '--port', '0', '--state-dir', join(root, `state-${id}`), '--log-format', 'json', '--log-level', 'silent', '--loader', 'in-process', join(root, 'own')], cli(entry))
      return Object.assign(entry, { exit }) as Running
    })
    await until(() => running.every((r) => r.host !== undefined), 30_000, 'both hosts to start')
    profile = await mkdtemp(join(tmpdir(), 'hotswap-chromium-fleet-'))
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 1000 } })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(error.message))
  }, 90_000)

  afterAll(async () => {
    await context?.close()
    for (const r of running) r.stop?.()
    await Promise.all(running.map((r) => r.exit))
    await redis?.stop()
    if (profile !== '') await rm(profile, { recursive: true, force: true })
    await rm(root, { recursive: true, force: true })
  })

  it('lists the hosts, the version each serves, the rollout progress and its history; a rollback shows up', async () => {
    const plugin = join(root, 'greeter')
    await mkdir(plugin)
    await writeFile(join(plugin, 'package.json'), JSON.stringify({ name: 'greeter', version: '2.0.0', type: 'module', main: 'index.mjs' }))
    await writeFile(join(plugin, 'index.mjs'), `export default { name: 'greeter', version: '2.0.0', setup() { return { hi: () => 'hi' } } }\n`)
    let published = ''
    expect(await main(['publish', 'greeter', '--fleet', redis.url, '--canary', '1', '--window-ms', '500'], { stdout: (s) => void (published += s), stderr: (s) => void (published += s), env: {}, cwd: root, color: false })).toBe(0)

    const host = running[0]!.host!
    await page.goto(host.dashboardUrl)
    const fleet = page.locator('[data-testid=fleet]')
    await fleet.waitFor({ state: 'visible', timeout: 15_000 })
    expect(await page.locator('[data-testid=fleet-host-id]').textContent()).toBe('a')
    await page.locator('[data-testid=fleet-rollout][data-plugin=greeter][data-phase=done]').waitFor({ timeout: 30_000 })
    expect(await page.locator('[data-testid=fleet-rollout][data-plugin=greeter] [data-testid=fleet-progress]').textContent()).toBe('2 of 2 live hosts serve it')
    const rows = page.locator('[data-testid=fleet-host-row]')
    expect(await rows.count()).toBe(2)
    for (const id of ['a', 'b']) {
      await page.locator(`[data-testid=fleet-host-row][data-host=${id}] [data-testid=fleet-serving][data-plugin=greeter][data-version="2.0.0"][data-in-sync=true]`).waitFor({ timeout: 10_000 })
    }
    const types = async (): Promise<string[]> => page.locator('[data-testid=fleet-event][data-plugin=greeter]').evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.type ?? ''))
    await until(async () => (await types()).includes('completed'), 10_000, 'the completed event on the page')
    // Newest first on the page; a host's applied event may land just after the coordinator saw its heartbeat.
    const history = (await types()).reverse()
    expect(history[0]).toBe('published')
    expect(history.at(-1)).toBe('completed')
    expect([...history].sort()).toEqual(['applied', 'applied', 'canaryServing', 'completed', 'promoted', 'published'])

    const auth = { authorization: `Bearer ${host.token}` }
    expect((await fetch(`${host.url}/api/fleet/greeter/rollback`, { method: 'POST', headers: auth })).status).toBe(200)
    await page.locator('[data-testid=fleet-rollout][data-plugin=greeter][data-phase=rolledBack]').waitFor({ timeout: 10_000 })
    expect(await page.locator('[data-testid=fleet-rollout][data-plugin=greeter]').textContent()).toMatch(/back to nothing \(first version\)/)
    await until(async () => (await types()).filter((t) => t === 'removed').length === 2, 20_000, 'both hosts to say they removed it')
    await page.locator('[data-testid=fleet]').screenshot({ path: join(RESULTS, 'dashboard-fleet.png') })
    expect(pageErrors).toEqual([])
  }, 120_000)
})
