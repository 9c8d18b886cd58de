import { isAbsolute, join, resolve } from 'node:path'
import { DEFAULTS } from './options.js'
import { readRunningHost } from './security.js'
import type { CliIo } from './main.js'

/**
 * `hotswap-host call <id> <method> [args...] [--state-dir <dir>]`: calls a method of a plugin
 * in the host that runs with that state directory (it reads `host.json` and `api-token`
 * there) through `POST /api/plugins/:id/call`. Each argument is parsed as JSON, or taken as a
 * string when it is not JSON (`call greeter greet bob` passes `"bob"`). A plain result is
 * printed as JSON; a stream is printed as it arrives, one JSON value per line.
 *
 * @param argv - the arguments after `call`
 * @param io - streams, environment and working directory
 * @returns 0 on success, 1 when the call failed or no host runs there, 2 for bad usage
 * @internal
 */
export async function runCall(argv: readonly string[], io: CliIo): Promise<number> {
  const rest = [...argv]
  let stateDir = io.env.HOTSWAP_STATE_DIR !== undefined && io.env.HOTSWAP_STATE_DIR !== '' ? io.env.HOTSWAP_STATE_DIR : DEFAULTS.stateDir
  const flag = rest.findIndex((a) => a === '--state-dir' || a.startsWith('--state-dir='))
  if (flag >= 0) {
    const value = rest[flag]!.includes('=') ? rest[flag]!.slice('--state-dir='.length) : rest[flag + 1]
    rest.splice(flag, rest[flag]!.includes('=') ? 1 : 2)
    if (value === undefined || value === '') return usage(io, '--state-dir needs a directory')
    stateDir = value
  }
  const [id, method, ...rawArgs] = rest
  if (id === undefined || method === undefined) return usage(io, 'call needs a plugin id and a method')
  const args = rawArgs.map(parseArg)
  const dir = isAbsolute(stateDir) ? stateDir : resolve(io.cwd, stateDir)
  let target: { url: string; token: string }
  try {
    target = await readRunningHost(dir)
  } catch {
    io.stderr(`hotswap-host: no running host found for state directory ${dir} (no ${join(dir, 'host.json')}); start one with hotswap-host --state-dir ${stateDir}, or pass the --state-dir it uses\n`)
    return 1
  }
  let response: Response
  try {
    response = await fetch(`${target.url}/api/plugins/${encodeURIComponent(id)}/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ method, args }),
    })
  } catch (error) {
    io.stderr(`hotswap-host: the host of ${dir} does not answer at ${target.url} (${(error as Error).message}); is it still running?\n`)
    return 1
  }
  const type = response.headers.get('content-type') ?? ''
  if (response.ok && type.startsWith('application/x-ndjson') && response.body !== null) {
    let failed = false
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk, { stream: true })
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (line.startsWith('{"error":')) {
          failed = true
          io.stderr(`hotswap-host: the stream of ${id}.${method}() failed: ${(JSON.parse(line) as { error: { message: string } }).error.message}\n`)
        } else io.stdout(`${line}\n`)
      }
    }
    return failed ? 1 : 0
  }
  const body = (await response.json().catch(() => ({}))) as { result?: unknown; error?: { code?: string; message?: string } }
  if (!response.ok) {
    io.stderr(`hotswap-host: ${body.error?.message ?? `HTTP ${response.status}`} (${body.error?.code ?? response.status})\n`)
    return 1
  }
  io.stdout(`${JSON.stringify(body.result ?? null, null, 2)}\n`)
  return 0
}

function parseArg(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function usage(io: CliIo, problem: string): number {
  io.stderr(`hotswap-host: ${problem}\nUsage: hotswap-host call <id> <method> [args...] [--state-dir <dir>]  (each arg is JSON, or a string)\n`)
  return 2
}
