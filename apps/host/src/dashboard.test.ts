import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHost, type Host } from './host.js'
import { atomicWrite, counterSource, makeDirs, nextEntry, testConfig } from './test-support/host.js'

// The dashboard in a real headless Chromium (Debian's package, launched by playwright-core).
const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url))
const available = existsSync(CHROMIUM)
if (!available) console.log(`[dashboard.test] skipped: ${CHROMIUM} is absent (install it with: sh scripts/ensure-debian-package.sh chromium /usr/bin/chromium browser-test)`)

describe.skipIf(!available)('dashboard in headless Chromium', () => {
  let host: Host
  let dirs: Awaited<ReturnType<typeof makeDirs>>
  let profile: string
  let context: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    dirs = await makeDirs('hotswap-dashboard-')
    await writeFile(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.0'))
    await writeFile(join(dirs.plugins, 'echo.mjs'), `export default { name: 'echo', version: '1.0.0', setup() { return { echo: (x) => x } } }`)
    // Default settings (adaptive debounce): what a person gets.
    host = await startHost(testConfig(dirs), { stdout: () => undefined, color: false })
    profile = await mkdtemp(join(tmpdir(), 'hotswap-chromium-'))
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 860 } })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(error.message))
  }, 60_000)

  afterAll(async () => {
    await context?.close()
    await host?.close()
    await dirs?.cleanup()
    if (profile !== undefined) await rm(profile, { recursive: true, force: true })
  })

  it('loads with the token from the URL fragment, then removes it from the address bar', async () => {
    await page.goto(host.dashboardUrl)
    await page.locator('[data-testid=plugin-row][data-plugin=counter]').waitFor({ timeout: 10_000 })
    await page.locator('[data-testid=live].on').waitFor({ timeout: 10_000 })
    expect(new URL(page.url()).hash).toBe('')
    expect(await page.locator('[data-testid=plugin-row]').count()).toBe(2)
    expect(await page.locator('[data-testid=plugin-row][data-plugin=counter] td').nth(2).textContent()).toBe('Running')
    expect(await page.locator('[data-testid=reload-row]').count()).toBe(2) // the two loads at start
  })

  it('an edit to a plugin file appears on the timeline within 2 s', async () => {
    const row = page.locator('[data-testid=reload-row][data-plugin=counter][data-cause=change]')
    expect(await row.count()).toBe(0)
    const started = Date.now()
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.1'))
    await row.first().waitFor({ timeout: 2000 })
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(2000)
    expect(await row.first().getAttribute('data-outcome')).toBe('success')
    expect(await row.first().locator('.label').textContent()).toContain('1.0.0 → 1.0.1')
    expect(await row.first().locator('.bar .seg').count()).toBeGreaterThan(0)
    await page.locator('[data-testid=plugin-row][data-plugin=counter] td').nth(1).filter({ hasText: '1.0.1' }).waitFor({ timeout: 2000 })
  })

  it('the reload button triggers exactly one reload', async () => {
    const before = host.journal.reloads('counter').length
    const applied = nextEntry(host.journal, (e) => e.event.type === 'reload' && e.event.id === 'counter', 5000, 'the reload')
    await page.locator('[data-testid=reload-btn][data-plugin=counter]').click()
    expect((await applied).data).toMatchObject({ cause: 'trigger', outcome: 'success' })
    await page.locator('[data-testid=reload-row][data-plugin=counter][data-cause=trigger]').first().waitFor({ timeout: 5000 })
    await page.locator('[data-testid=message]', { hasText: 'reloaded counter' }).waitFor({ timeout: 5000 })
    expect(host.journal.reloads('counter').length).toBe(before + 1)
    expect(await page.locator('[data-testid=reload-row][data-plugin=counter][data-cause=trigger]').count()).toBe(1)
  })

  it('shows a failure with its error, and disable/enable through the buttons', async () => {
    await atomicWrite(join(dirs.plugins, 'echo.mjs'), 'export default { broken')
    await page.locator('[data-testid=failures] li', { hasText: 'echo' }).first().waitFor({ timeout: 15_000 })
    await page.locator('[data-testid=disable-btn]').click()
    await page.locator('[data-testid=enabled]', { hasText: 'disabled' }).waitFor({ timeout: 5000 })
    expect(host.pipeline.status().enabled).toBe(false)
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.2'))
    await page.locator('[data-testid=pending] li', { hasText: 'counter' }).waitFor({ timeout: 5000 })
    await mkdir(RESULTS, { recursive: true })
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true })
    await page.locator('[data-testid=enable-btn]').click()
    await page.locator('[data-testid=reload-row][data-plugin=counter][data-cause=enable]').first().waitFor({ timeout: 5000 })
    expect(host.pipeline.status().enabled).toBe(true)
    expect(pageErrors).toEqual([])
  })

  it('the call panel calls a method with JSON args and shows the result, or says what is wrong', async () => {
    await page.locator('[data-testid=call-plugin]').selectOption('counter')
    await page.locator('[data-testid=call-method]').fill('inc')
    await page.locator('[data-testid=call-args]').fill('[]')
    await page.locator('[data-testid=call-btn]').click()
    await page.locator('[data-testid=call-result][data-done=value]').waitFor({ timeout: 5000 })
    expect(await page.locator('[data-testid=call-result]').textContent()).toMatch(/^\d+$/)
    await page.locator('[data-testid=call-method]').fill('nope')
    await page.locator('[data-testid=call-btn]').click()
    await page.locator('[data-testid=call-result][data-done=error]', { hasText: 'UNKNOWN_METHOD' }).waitFor({ timeout: 5000 })
    await page.locator('[data-testid=call-args]').fill('{')
    await page.locator('[data-testid=call-btn]').click()
    await page.locator('[data-testid=call-result]', { hasText: 'bad arguments' }).waitFor({ timeout: 5000 })
  })

  it('shows the current state snapshot, a rollback on the timeline and that serving differs from disk', async () => {
    await page.locator('[data-testid=state-plugin]').selectOption('counter')
    await page.locator('[data-testid=state-view]', { hasText: '"count"' }).waitFor({ timeout: 5000 })
    await page.locator('[data-testid=rollback-btn][data-plugin=counter]').click()
    await page.locator('[data-testid=reload-row][data-plugin=counter][data-outcome=rollback]').first().waitFor({ timeout: 5000 })
    const drift = page.locator('[data-testid=drift][data-plugin=counter]')
    await drift.waitFor({ timeout: 5000 })
    expect(await drift.getAttribute('title')).toMatch(/rolled back to .*the file on disk is newer/)
    // A new version from disk clears the mark.
    await atomicWrite(join(dirs.plugins, 'counter.mjs'), counterSource('1.0.3'))
    await page.locator('[data-testid=plugin-row][data-plugin=counter] td').nth(1).filter({ hasText: '1.0.3' }).waitFor({ timeout: 10_000 })
    await drift.waitFor({ state: 'detached', timeout: 5000 })
    expect(pageErrors).toEqual([])
  })

  it('says in words that a token was refused', async () => {
    await page.goto('about:blank')
    await page.goto(`${host.url}/#token=not-the-token`)
    const reason = page.locator('[data-testid=login-reason]')
    await reason.waitFor({ state: 'visible', timeout: 5000 })
    expect(await reason.textContent()).toContain('The host refused this token')
  })
})
