import { HostError } from './errors.js'

/** When detected changes are applied (the pipeline's `ReloadPolicy`, spelled for a command line). */
export type PolicyName = 'on-change' | 'on-signal' | 'scheduled' | 'disabled'
/** How the host writes its output: a terminal view for people or pino JSON lines for machines. */
export type LogFormat = 'pretty' | 'json'
/** pino log levels the host accepts. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'
/** Where plugin versions run: a worker thread each (default) or in the host's own thread. */
export type LoaderName = 'worker' | 'pool' | 'in-process'

/** Every setting of the host, resolved (see {@link resolveConfig}). */
export interface HostConfig {
  /** Plugin directories, absolute. */
  readonly dirs: readonly string[]
  /** Address the HTTP server binds to. */
  readonly host: string
  /** Port of the HTTP server (0: any free port). */
  readonly port: number
  /** Where plugin state and the API token live, absolute. */
  readonly stateDir: string
  /** Whether changes are applied (false: noted as pending). */
  readonly enabled: boolean
  /** When changes are applied. */
  readonly policy: PolicyName
  /** The interval of the `scheduled` policy, in ms. */
  readonly intervalMs: number
  /** The debounce window in ms, or `adaptive` (25–500 ms). */
  readonly debounceMs: number | 'adaptive'
  /** Retries of a failed reload. */
  readonly maxRetries: number
  /** Plugins reloaded at the same time. */
  readonly concurrency: number
  /** Where plugin versions run. */
  readonly loader: LoaderName
  /** How long a reload waits for calls in flight, in ms. */
  readonly drainTimeoutMs: number
  /** A plugin call running longer fails and its worker is terminated, in ms. */
  readonly callTimeoutMs: number
  /** How long a reload may hold callers after the drain (state move and setup), in ms. */
  readonly gateTimeoutMs: number
  /** Every this many ms a plugin's changed state is stored (what a crash, a lost pool worker or a killed host goes back to); 0: only on reloads and stops. */
  readonly checkpointMs: number
  /** Terminal view or JSON logs. */
  readonly logFormat: LogFormat
  /** The lowest level logged. */
  readonly logLevel: LogLevel
  /** Reload, rollback, enable and disable requests allowed per minute (then 429). */
  readonly rateLimit: number
  /** The configuration file that was read, if any. */
  readonly configFile: string | undefined
  /**
   * Per-plugin config by plugin id (the config file's `plugins` key): each plugin's
   * `ctx.config`, validated by its `config` schema. Change one while the host runs with
   * `PUT /api/plugins/:id/config`.
   */
  readonly plugins?: Readonly<Record<string, unknown>> | undefined
}

/** The keys of {@link HostConfig} that can be set by flag, variable and file (all but `configFile` and `plugins`, which only the file sets). */
export type OptionKey = Exclude<keyof HostConfig, 'configFile' | 'plugins'>

/** One setting: its flag, environment variable, config key, default and parser. @internal */
export interface OptionSpec {
  readonly key: OptionKey
  /** The commander flag, e.g. `--port <number>`; undefined for the positional dirs. */
  readonly flag: string | undefined
  readonly env: string
  readonly description: string
  /** The default as shown in `--help` and the README. */
  readonly defaultText: string
  /** Parses a raw value (a string from a flag or the environment, any JSON value from the file). */
  readonly parse: (value: unknown, where: string) => unknown
}

/** The settings, in the order `--help` shows them. @internal */
export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'dirs', flag: undefined, env: 'HOTSWAP_DIRS', description: 'plugin directories (env: comma-separated)', defaultText: 'the bundled examples/plugins', parse: parseDirs },
  { key: 'host', flag: '--host <address>', env: 'HOTSWAP_HOST', description: 'address the HTTP server binds to', defaultText: '127.0.0.1', parse: parseHost },
  { key: 'port', flag: '--port <number>', env: 'HOTSWAP_PORT', description: 'HTTP port (0: any free port)', defaultText: '4477', parse: (v, w) => parseInteger(v, w, 0, 65_535) },
  { key: 'stateDir', flag: '--state-dir <dir>', env: 'HOTSWAP_STATE_DIR', description: 'plugin state history and the API token', defaultText: '.hotswap-state', parse: parsePath },
  { key: 'enabled', flag: '--enabled <boolean>', env: 'HOTSWAP_ENABLED', description: 'apply changes (false: note them as pending)', defaultText: 'true', parse: parseBoolean },
  { key: 'policy', flag: '--policy <policy>', env: 'HOTSWAP_POLICY', description: 'on-change | on-signal (SIGUSR2 applies) | scheduled | disabled', defaultText: 'on-change', parse: (v, w) => parseChoice(v, w, ['on-change', 'on-signal', 'scheduled', 'disabled']) },
  { key: 'intervalMs', flag: '--interval-ms <ms>', env: 'HOTSWAP_INTERVAL_MS', description: 'interval of the scheduled policy', defaultText: '5000', parse: (v, w) => parseInteger(v, w, 10, 86_400_000) },
  { key: 'debounceMs', flag: '--debounce-ms <ms|adaptive>', env: 'HOTSWAP_DEBOUNCE_MS', description: 'group changes for this long (adaptive: 25-500 ms)', defaultText: 'adaptive', parse: parseDebounce },
  { key: 'maxRetries', flag: '--max-retries <n>', env: 'HOTSWAP_MAX_RETRIES', description: 'retries of a failed reload', defaultText: '3', parse: (v, w) => parseInteger(v, w, 0, 100) },
  { key: 'concurrency', flag: '--concurrency <n>', env: 'HOTSWAP_CONCURRENCY', description: 'plugins reloaded at the same time', defaultText: '4', parse: (v, w) => parseInteger(v, w, 1, 64) },
  { key: 'loader', flag: '--loader <loader>', env: 'HOTSWAP_LOADER', description: 'worker (a thread per plugin) | pool (a realm per plugin in shared threads; many plugins) | in-process; a plugin\'s package.json "hotswap": { "isolation" } overrides worker/pool', defaultText: 'worker', parse: (v, w) => parseChoice(v, w, ['worker', 'pool', 'in-process']) },
  { key: 'drainTimeoutMs', flag: '--drain-timeout-ms <ms>', env: 'HOTSWAP_DRAIN_TIMEOUT_MS', description: 'wait this long for calls in flight on a reload', defaultText: '5000', parse: (v, w) => parseInteger(v, w, 0, 600_000) },
  { key: 'callTimeoutMs', flag: '--call-timeout-ms <ms>', env: 'HOTSWAP_CALL_TIMEOUT_MS', description: 'fail a plugin call running longer and terminate its worker', defaultText: '30000', parse: (v, w) => parseInteger(v, w, 1, 86_400_000) },
  { key: 'gateTimeoutMs', flag: '--gate-timeout-ms <ms>', env: 'HOTSWAP_GATE_TIMEOUT_MS', description: 'hold callers at most this long for a reload\'s state move and setup', defaultText: '1000', parse: (v, w) => parseInteger(v, w, 1, 600_000) },
  { key: 'checkpointMs', flag: '--checkpoint-ms <ms>', env: 'HOTSWAP_CHECKPOINT_MS', description: 'store each plugin\'s changed state this often (0: only on reloads and stops)', defaultText: '5000', parse: (v, w) => parseInteger(v, w, 0, 86_400_000) },
  { key: 'logFormat', flag: '--log-format <format>', env: 'HOTSWAP_LOG_FORMAT', description: 'pretty (terminal view) | json (pino lines)', defaultText: 'pretty', parse: (v, w) => parseChoice(v, w, ['pretty', 'json']) },
  { key: 'logLevel', flag: '--log-level <level>', env: 'HOTSWAP_LOG_LEVEL', description: 'trace | debug | info | warn | error | silent', defaultText: 'info', parse: (v, w) => parseChoice(v, w, ['trace', 'debug', 'info', 'warn', 'error', 'silent']) },
  { key: 'rateLimit', flag: '--rate-limit <n>', env: 'HOTSWAP_RATE_LIMIT', description: 'reload/rollback/enable/disable requests per minute', defaultText: '30', parse: (v, w) => parseInteger(v, w, 1, 100_000) },
]

/** The default values (dirs and paths still relative). @internal */
export const DEFAULTS: Omit<HostConfig, 'dirs' | 'stateDir' | 'configFile' | 'plugins'> & { readonly stateDir: string } = {
  host: '127.0.0.1',
  port: 4477,
  stateDir: '.hotswap-state',
  enabled: true,
  policy: 'on-change',
  intervalMs: 5000,
  debounceMs: 'adaptive',
  maxRetries: 3,
  concurrency: 4,
  loader: 'worker',
  drainTimeoutMs: 5000,
  callTimeoutMs: 30_000,
  gateTimeoutMs: 1000,
  checkpointMs: 5000,
  logFormat: 'pretty',
  logLevel: 'info',
  rateLimit: 30,
}

// ---------------------------------------------------------------- parsers

function invalid(where: string, problem: string): HostError {
  return new HostError('INVALID_CONFIG', `${where}: ${problem}`)
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value)
}

function parseInteger(value: unknown, where: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(where, `${show(value)} is not an integer between ${min} and ${max}`)
  return n
}

function parseBoolean(value: unknown, where: string): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase()
    if (['true', '1', 'yes', 'on'].includes(v)) return true
    if (['false', '0', 'no', 'off'].includes(v)) return false
  }
  throw invalid(where, `${show(value)} is not a boolean (use true or false)`)
}

function parseChoice(value: unknown, where: string, choices: readonly string[]): string {
  if (typeof value === 'string') {
    // Accept OnChange / on_change / ON-CHANGE as well as on-change.
    const v = value.trim().replace(/([a-z])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase()
    if (choices.includes(v)) return v
  }
  throw invalid(where, `${show(value)} is not one of ${choices.join(', ')}`)
}

function parseDebounce(value: unknown, where: string): number | 'adaptive' {
  if (typeof value === 'string' && value.trim().toLowerCase() === 'adaptive') return 'adaptive'
  try {
    return parseInteger(value, where, 0, 60_000)
  } catch {
    throw invalid(where, `${show(value)} is neither "adaptive" nor an integer number of ms between 0 and 60000`)
  }
}

function parseHost(value: unknown, where: string): string {
  if (typeof value === 'string' && /^[A-Za-z0-9.:[\]-]{1,253}$/.test(value.trim())) return value.trim().replace(/^\[(.*)\]$/, '$1')
  throw invalid(where, `${show(value)} is not a host name or IP address`)
}

function parsePath(value: unknown, where: string): string {
  if (typeof value === 'string' && value.trim() !== '' && !value.includes('\0')) return value
  throw invalid(where, `${show(value)} is not a path`)
}

function parseDirs(value: unknown, where: string): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : value
  if (!Array.isArray(list) || list.length === 0) throw invalid(where, `${show(value)} is not a non-empty list of directories`)
  return list.map((d: unknown) => parsePath(d, where))
}
