import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HostError } from './errors.js'
import { DEFAULTS, OPTION_SPECS, type HostConfig, type OptionKey } from './options.js'

/** What {@link resolveConfig} reads: raw flag values, the environment and the working directory. */
export interface ConfigInput {
  /** Flag values as commander gives them (strings; `dirs` a list); undefined when not given. */
  readonly flags: Readonly<Partial<Record<OptionKey | 'config', unknown>>>
  /** The environment (`HOTSWAP_*` variables are read). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Where relative paths of flags and variables start. */
  readonly cwd: string
  /** Plugin directories when none is given. Default: the bundled `examples/plugins`. */
  readonly defaultDirs?: readonly string[]
}

/** The file name looked up in the working directory when no `--config` is given. */
export const CONFIG_FILE_NAME = 'hotswap.config.json'

/** The example plugins that ship with the host. */
export const EXAMPLE_PLUGINS_DIR: string = fileURLToPath(new URL('../examples/plugins', import.meta.url))

/**
 * Resolves the host's settings: flags win over `HOTSWAP_*` environment variables, which win
 * over `hotswap.config.json` (or the file named by `--config` / `HOTSWAP_CONFIG`), which wins
 * over the defaults. Relative paths in the file are relative to the file; relative paths in
 * flags and variables are relative to `cwd`. Plugin directories must exist.
 *
 * @param input - flags, environment and working directory
 * @returns the settings, with absolute paths
 * @throws {@link HostError} `INVALID_CONFIG` naming the flag, variable or key and the bad value
 * @example
 * ```ts
 * const config = resolveConfig({ flags: { port: '8080' }, env: process.env, cwd: process.cwd() })
 * ```
 */
export function resolveConfig(input: ConfigInput): HostConfig {
  const { flags, env, cwd } = input
  const file = readConfigFile(flags.config, env.HOTSWAP_CONFIG, cwd)
  const values: Partial<Record<OptionKey, unknown>> = {}
  let dirsBase = cwd
  let stateBase = cwd
  for (const spec of OPTION_SPECS) {
    const flag = flags[spec.key]
    const fromEnv = env[spec.env]
    const fromFile = file?.data[spec.key]
    if (flag !== undefined && !(Array.isArray(flag) && flag.length === 0)) {
      values[spec.key] = spec.parse(flag, spec.flag === undefined ? 'argument [dirs...]' : `flag ${spec.flag.split(' ')[0]!}`)
    } else if (fromEnv !== undefined && fromEnv !== '') {
      values[spec.key] = spec.parse(fromEnv, `environment variable ${spec.env}`)
    } else if (fromFile !== undefined) {
      values[spec.key] = spec.parse(fromFile, `${file!.path}: key "${spec.key}"`)
      if (spec.key === 'dirs') dirsBase = dirname(file!.path)
      if (spec.key === 'stateDir') stateBase = dirname(file!.path)
    }
  }
  const dirs = ((values.dirs as string[] | undefined) ?? input.defaultDirs ?? [EXAMPLE_PLUGINS_DIR]).map((d) => (isAbsolute(d) ? d : resolve(dirsBase, d)))
  for (const dir of dirs) {
    if (!isDirectory(dir)) throw new HostError('INVALID_CONFIG', `plugin directory ${dir} does not exist or is not a directory`)
  }
  const stateDir = (values.stateDir as string | undefined) ?? DEFAULTS.stateDir
  return {
    ...DEFAULTS,
    ...(values as Partial<HostConfig>),
    dirs,
    stateDir: isAbsolute(stateDir) ? stateDir : resolve(values.stateDir === undefined ? cwd : stateBase, stateDir),
    configFile: file?.path,
    ...(file?.plugins !== undefined ? { plugins: file.plugins } : {}),
  }
}

interface ConfigFile {
  readonly path: string
  readonly data: Readonly<Record<string, unknown>>
  readonly plugins: Readonly<Record<string, unknown>> | undefined
}

function readConfigFile(flag: unknown, fromEnv: string | undefined, cwd: string): ConfigFile | undefined {
  const named = typeof flag === 'string' ? flag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined
  const path = resolve(cwd, named ?? CONFIG_FILE_NAME)
  if (named === undefined && !existsSync(path)) return undefined
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new HostError('INVALID_CONFIG', `cannot read config file ${path}: ${(error as Error).message}`, { cause: error })
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new HostError('INVALID_CONFIG', `config file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new HostError('INVALID_CONFIG', `config file ${path} must hold a JSON object like { "port": 4477 }`)
  }
  const known = new Set<string>(OPTION_SPECS.map((s) => s.key))
  known.add('$schema')
  known.add('plugins')
  const unknown = Object.keys(data).filter((k) => !known.has(k))
  if (unknown.length > 0) {
    throw new HostError('INVALID_CONFIG', `config file ${path}: unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known keys: ${[...known].filter((k) => k !== '$schema').join(', ')}`)
  }
  const plugins = (data as Record<string, unknown>).plugins
  if (plugins !== undefined && (typeof plugins !== 'object' || plugins === null || Array.isArray(plugins))) {
    throw new HostError('INVALID_CONFIG', `config file ${path}: key "plugins" must be an object of per-plugin config by plugin id, like { "plugins": { "links": { "maxLinks": 100 } } }`)
  }
  return { path, data: data as Record<string, unknown>, plugins: plugins as Record<string, unknown> | undefined }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/**
 * The `HOTSWAP_*` variables of an environment that no setting reads (a typo such as
 * `HOTSWAP_PROT`), each with the closest known name, so the CLI can say it instead of
 * ignoring them.
 *
 * @param env - the environment
 * @returns one line per unknown variable, e.g. `HOTSWAP_PROT (did you mean HOTSWAP_PORT?)`
 * @example
 * ```ts
 * unknownVariables({ HOTSWAP_PROT: '80' }) // ['HOTSWAP_PROT (did you mean HOTSWAP_PORT?)']
 * ```
 */
export function unknownVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const known = [...OPTION_SPECS.map((s) => s.env), 'HOTSWAP_CONFIG', 'HOTSWAP_FLEET', 'HOTSWAP_HOST_ID']
  return Object.keys(env)
    .filter((name) => name.startsWith('HOTSWAP_') && !known.includes(name))
    .sort()
    .map((name) => {
      const best = known.map((k) => ({ k, d: distance(name, k) })).sort((a, b) => a.d - b.d)[0]!
      return best.d <= 3 ? `${name} (did you mean ${best.k}?)` : name
    })
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = keep
    }
  }
  return row[b.length]!
}
