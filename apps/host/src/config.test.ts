import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLE_PLUGINS_DIR, resolveConfig } from './config.js'
import { HostError } from './errors.js'
import { makeDirs } from './test-support/host.js'

let dirs: Awaited<ReturnType<typeof makeDirs>>
let cwd: string

beforeAll(async () => {
  dirs = await makeDirs('hotswap-config-')
  cwd = join(dirs.root, 'work')
  await mkdir(join(cwd, 'from-file'), { recursive: true })
  await mkdir(join(cwd, 'from-env'))
  await mkdir(join(cwd, 'from-flag'))
})
afterAll(() => dirs.cleanup())

const writeConfig = (data: unknown, name = 'hotswap.config.json'): Promise<void> => writeFile(join(cwd, name), typeof data === 'string' ? data : JSON.stringify(data))

function invalid(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(HostError)
    expect((error as HostError).code).toBe('INVALID_CONFIG')
    return (error as HostError).message
  }
  throw new Error('expected INVALID_CONFIG')
}

describe('resolveConfig', () => {
  it('uses the defaults when nothing is given: the bundled examples, 127.0.0.1:4477, .hotswap-state in cwd', () => {
    const config = resolveConfig({ flags: {}, env: {}, cwd: dirs.root })
    expect(config).toMatchObject({ dirs: [EXAMPLE_PLUGINS_DIR], host: '127.0.0.1', port: 4477, stateDir: join(dirs.root, '.hotswap-state'), enabled: true, policy: 'on-change', debounceMs: 'adaptive', logFormat: 'pretty', configFile: undefined })
  })

  it('flags win over HOTSWAP_* variables, which win over hotswap.config.json, which wins over the defaults', async () => {
    await writeConfig({ port: 1001, enabled: false, policy: 'scheduled', intervalMs: 700, debounceMs: 11, logFormat: 'json', dirs: ['from-file'], stateDir: 'state-from-file' })
    const env = { HOTSWAP_PORT: '1002', HOTSWAP_ENABLED: 'true', HOTSWAP_DEBOUNCE_MS: '22', HOTSWAP_DIRS: 'from-env' }
    const flags = { port: '1003', dirs: ['from-flag'] }

    const fileOnly = resolveConfig({ flags: {}, env: {}, cwd })
    expect(fileOnly).toMatchObject({ port: 1001, enabled: false, policy: 'scheduled', intervalMs: 700, debounceMs: 11, logFormat: 'json', dirs: [join(cwd, 'from-file')], stateDir: join(cwd, 'state-from-file'), configFile: join(cwd, 'hotswap.config.json') })

    const withEnv = resolveConfig({ flags: {}, env, cwd })
    expect(withEnv).toMatchObject({ port: 1002, enabled: true, debounceMs: 22, policy: 'scheduled', dirs: [join(cwd, 'from-env')] })

    const withFlags = resolveConfig({ flags, env, cwd })
    expect(withFlags).toMatchObject({ port: 1003, enabled: true, debounceMs: 22, policy: 'scheduled', logFormat: 'json', dirs: [join(cwd, 'from-flag')] })
  })

  it('a flag overrides a bad environment value, and a variable a bad file value', async () => {
    await writeConfig({ port: 'not a port' })
    expect(resolveConfig({ flags: { port: '9' }, env: { HOTSWAP_PORT: 'abc' }, cwd }).port).toBe(9)
    expect(resolveConfig({ flags: {}, env: { HOTSWAP_PORT: '10' }, cwd }).port).toBe(10)
    expect(invalid(() => resolveConfig({ flags: {}, env: {}, cwd }))).toBe(`${join(cwd, 'hotswap.config.json')}: key "port": "not a port" is not an integer between 0 and 65535`)
  })

  it('--config and HOTSWAP_CONFIG name another file; paths in a file are relative to it', async () => {
    await writeConfig({})
    await mkdir(join(cwd, 'conf', 'plugins'), { recursive: true })
    await writeFile(join(cwd, 'conf', 'a.json'), JSON.stringify({ port: 2001, dirs: ['plugins'], stateDir: '../state-a' }))
    await writeFile(join(cwd, 'conf', 'b.json'), JSON.stringify({ port: 2002 }))
    const a = resolveConfig({ flags: {}, env: { HOTSWAP_CONFIG: 'conf/a.json' }, cwd })
    expect(a).toMatchObject({ port: 2001, dirs: [join(cwd, 'conf', 'plugins')], stateDir: join(cwd, 'state-a') })
    expect(resolveConfig({ flags: { config: 'conf/b.json' }, env: { HOTSWAP_CONFIG: 'conf/a.json' }, cwd }).port).toBe(2002)
    expect(invalid(() => resolveConfig({ flags: { config: 'conf/missing.json' }, env: {}, cwd }))).toMatch(/^cannot read config file .*missing\.json/)
  })

  it('reads per-plugin config from the file\'s plugins key, and refuses one that is not an object', async () => {
    await writeConfig({ plugins: { links: { maxLinks: 5 } } })
    expect(resolveConfig({ flags: {}, env: {}, cwd }).plugins).toEqual({ links: { maxLinks: 5 } })
    await writeConfig({ plugins: ['links'] })
    expect(invalid(() => resolveConfig({ flags: {}, env: {}, cwd }))).toMatch(/key "plugins" must be an object of per-plugin config by plugin id/)
    await writeConfig({})
    expect(resolveConfig({ flags: {}, env: {}, cwd }).plugins).toBeUndefined()
  })

  it('accepts the spellings people use: OnSignal, on_signal, TRUE, yes, 0', () => {
    const base = { flags: {}, cwd: dirs.root }
    expect(resolveConfig({ ...base, env: { HOTSWAP_POLICY: 'OnSignal' } }).policy).toBe('on-signal')
    expect(resolveConfig({ ...base, env: { HOTSWAP_POLICY: 'on_signal' } }).policy).toBe('on-signal')
    expect(resolveConfig({ ...base, env: { HOTSWAP_ENABLED: 'TRUE' } }).enabled).toBe(true)
    expect(resolveConfig({ ...base, env: { HOTSWAP_ENABLED: 'no' } }).enabled).toBe(false)
    expect(resolveConfig({ ...base, env: { HOTSWAP_DEBOUNCE_MS: '0' } }).debounceMs).toBe(0)
    expect(resolveConfig({ ...base, env: { HOTSWAP_HOST: '[::1]' } }).host).toBe('::1')
  })

  it('names the source and the bad value in every refusal', async () => {
    const base = { cwd: dirs.root }
    expect(invalid(() => resolveConfig({ ...base, flags: { port: '70000' }, env: {} }))).toBe('flag --port: "70000" is not an integer between 0 and 65535')
    expect(invalid(() => resolveConfig({ ...base, flags: {}, env: { HOTSWAP_ENABLED: 'maybe' } }))).toBe('environment variable HOTSWAP_ENABLED: "maybe" is not a boolean (use true or false)')
    expect(invalid(() => resolveConfig({ ...base, flags: { policy: 'sometimes' }, env: {} }))).toBe('flag --policy: "sometimes" is not one of on-change, on-signal, scheduled, disabled')
    expect(invalid(() => resolveConfig({ ...base, flags: {}, env: { HOTSWAP_DEBOUNCE_MS: 'fast' } }))).toMatch(/^environment variable HOTSWAP_DEBOUNCE_MS: "fast" is neither "adaptive" nor an integer/)
    expect(invalid(() => resolveConfig({ ...base, flags: { logFormat: 'xml' }, env: {} }))).toMatch(/^flag --log-format: "xml" is not one of pretty, json$/)
    expect(invalid(() => resolveConfig({ ...base, flags: { dirs: ['nope'] }, env: {} }))).toBe(`plugin directory ${join(dirs.root, 'nope')} does not exist or is not a directory`)
    await writeConfig({ prot: 1 })
    expect(invalid(() => resolveConfig({ flags: {}, env: {}, cwd }))).toMatch(/unknown key "prot"; known keys: dirs, host, port/)
    await writeConfig('{ "port": ')
    expect(invalid(() => resolveConfig({ flags: {}, env: {}, cwd }))).toMatch(/hotswap\.config\.json is not valid JSON/)
    await writeConfig('[1]')
    expect(invalid(() => resolveConfig({ flags: {}, env: {}, cwd }))).toMatch(/must hold a JSON object/)
    await writeConfig({})
  })
})
