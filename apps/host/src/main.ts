import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { resolveConfig, unknownVariables } from './config.js'
import { runCall } from './call-command.js'
import { runInit } from './init-command.js'
import { HostError } from './errors.js'
import { runPublish, takeFleetArgs, type FleetCli } from './fleet.js'
import { startHost, type Host } from './host.js'
import { OPTION_SPECS, type HostConfig, type OptionKey } from './options.js'

/** What {@link main} reads and writes; the process's own by default. */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** Whether stdout takes colours. */
  readonly color?: boolean
  /**
   * Subscribes to a process signal; returns the unsubscribe. Default `process.on`.
   * @param signal - the signal name
   * @param handler - called on each delivery
   */
  readonly onSignal?: (signal: NodeJS.Signals, handler: () => void) => () => void
  /** Called once the host serves (tests use it to reach the running host). */
  readonly onStarted?: (host: Host) => void
}

/** Exit code for a bad flag, variable or config value. */
export const EXIT_USAGE = 2

/**
 * The `hotswap-host` command: parses flags, resolves the configuration (flags > `HOTSWAP_*`
 * environment > `hotswap.config.json` > defaults), starts the host and runs until SIGINT or
 * SIGTERM, which close the pipeline gracefully. SIGUSR2 applies pending changes.
 *
 * @param argv - the arguments after the program name
 * @param io - streams, environment and working directory
 * @returns the exit code: 0 after `--help`, `--version` or a graceful stop; 2 for invalid
 *   options (a one-line message, no stack trace); 1 when the host cannot start
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2))
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (argv[0] === 'call') return await runCall(argv.slice(1), io)
  if (argv[0] === 'init') return await runInit(argv.slice(1), io)
  let fleet: FleetCli
  try {
    fleet = takeFleetArgs(argv, io.env)
  } catch (error) {
    io.stderr(`hotswap-host: ${(error as Error).message}\n`)
    return EXIT_USAGE
  }
  if (fleet.publish) return runPublish(fleet.rest, fleet.url, io)
  const program = buildProgram(io)
  try {
    program.parse(fleet.rest, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0
      io.stderr(`Run hotswap-host --help for the options.\n`)
      return EXIT_USAGE
    }
    throw error
  }
  const opts = program.opts<Record<string, unknown>>()
  const flags: Partial<Record<OptionKey | 'config', unknown>> = { ...opts, ...(program.args.length > 0 ? { dirs: program.args } : {}) }
  let config: HostConfig
  try {
    config = fleet.configure(resolveConfig({ flags, env: io.env, cwd: io.cwd }))
  } catch (error) {
    if (error instanceof HostError && error.code === 'INVALID_CONFIG') {
      io.stderr(`hotswap-host: ${error.message}\nRun hotswap-host --help for the options.\n`)
      return EXIT_USAGE
    }
    throw error
  }
  for (const name of unknownVariables(io.env)) io.stderr(`hotswap-host: warning: unknown environment variable ${name} is ignored\n`)

  // Signals are handled from the first moment: a stop while plugins are still loading closes
  // what loaded (saving its state) and exits 0, as a stop of a running host does.
  const pretty = config.logFormat === 'pretty'
  const onSignal = io.onSignal ?? processSignal
  const starting = new AbortController()
  let host: Host | undefined
  let member: Awaited<ReturnType<FleetCli['join']>> | undefined = undefined
  let stopping: { readonly signal: string; readonly at: number } | undefined
  let resolveExit: (code: number) => void = () => undefined
  const exit = new Promise<number>((resolve) => (resolveExit = resolve))
  const offs: (() => void)[] = []
  const finish = (code: number): void => {
    offs.forEach((off) => off())
    resolveExit(code)
  }
  const stop = (signal: string): void => {
    if (stopping !== undefined) {
      // One Ctrl-C reaches the host twice under a package manager (from the terminal and
      // forwarded by pnpm/npm): a repeat within a second is the same request.
      if (Date.now() - stopping.at < REPEAT_SIGNAL_MS) return
      io.stderr(`hotswap-host: ${signal} again, exiting without waiting\n`)
      finish(130)
      return
    }
    stopping = { signal, at: Date.now() }
    if (pretty) io.stdout(`\n${signal}: stopping (saving plugin state)...\n`)
    if (host === undefined) starting.abort()
    else closeHost(host)
  }
  const closeHost = (running: Host): void => {
    Promise.resolve(member?.close()).then(() => running.close()).then(
      () => {
        if (pretty) io.stdout('stopped\n')
        finish(0)
      },
      (error: unknown) => {
        io.stderr(`hotswap-host: error while stopping: ${error instanceof Error ? error.message : String(error)}\n`)
        finish(1)
      },
    )
  }
  offs.push(onSignal('SIGINT', () => stop('SIGINT')))
  offs.push(onSignal('SIGTERM', () => stop('SIGTERM')))
  offs.push(
    onSignal('SIGUSR2', () => {
      if (host === undefined) return
      const pending = host.pipeline.status().plugins.filter((p) => (p.pending?.length ?? 0) > 0).length
      if (pretty) io.stdout(`SIGUSR2: applying pending changes of ${pending} plugin${pending === 1 ? '' : 's'}\n`)
      host.pipeline.trigger().catch((error: unknown) => io.stderr(`hotswap-host: SIGUSR2 trigger failed: ${error instanceof Error ? error.message : String(error)}\n`))
    }),
  )
  try {
    host = await startHost(config, { stdout: io.stdout, signal: starting.signal, routes: fleet.routes, ...(io.color !== undefined ? { color: io.color } : {}) })
  } catch (error) {
    if (error instanceof HostError && error.code === 'ABORTED') {
      if (pretty) io.stdout('stopped\n')
      finish(0)
      return await exit
    }
    offs.forEach((off) => off())
    const message = error instanceof Error ? error.message : String(error)
    io.stderr(`hotswap-host: cannot start: ${message}\n`)
    return 1
  }
  member = await fleet.join(host).catch((error: unknown) => {
    io.stderr(`hotswap-host: cannot join the fleet: ${(error as Error).message}\n`)
    return undefined
  })
  io.onStarted?.(host)
  if (stopping !== undefined) closeHost(host) // the stop came as the start finished
  return await exit
}

/** A second SIGINT/SIGTERM sooner than this after the first is the same stop request. */
const REPEAT_SIGNAL_MS = 1000

function buildProgram(io: CliIo): Command {
  const program = new Command('hotswap-host')
    .description('Runs the hotswap reload pipeline on plugin directories, with an HTTP control API and a live dashboard.')
    .argument('[dirs...]', 'plugin directories (env HOTSWAP_DIRS, comma-separated; default: the bundled examples/plugins)')
    .option('-c, --config <file>', 'JSON config file (env HOTSWAP_CONFIG; default: ./hotswap.config.json when it exists)')
  for (const spec of OPTION_SPECS) {
    if (spec.flag === undefined) continue
    program.option(spec.flag, `${spec.description} (env ${spec.env}, config "${spec.key}"; default ${spec.defaultText})`)
  }
  return program
    .version(readVersion(), '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Precedence: flags > HOTSWAP_* environment variables > hotswap.config.json > defaults.
Invalid values exit with code 2.

Signals: SIGINT/SIGTERM stop gracefully (plugin state is saved); SIGUSR2 applies pending
changes (policy on-signal, or while disabled).

The HTTP API and the dashboard need the bearer token written to <state-dir>/api-token (0600).

Commands:
  hotswap-host call <id> <method> [json args]   call a method of a plugin in the running host
                                                (reads <state-dir>/host.json and api-token)
  hotswap-host init [dir]                       write a plugin folder with a TypeScript plugin

Plugin routes: a plugin's fetch(request) handler answers at /p/<id>/* (public, no token).

Examples:
  hotswap-host                                  # the bundled example plugins
  hotswap-host ./plugins --port 8080 --policy on-signal
  HOTSWAP_LOG_FORMAT=json hotswap-host ./plugins
`,
    )
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  }
}

function processSignal(signal: NodeJS.Signals, handler: () => void): () => void {
  process.on(signal, handler)
  return () => process.off(signal, handler)
}
