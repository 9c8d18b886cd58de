#!/usr/bin/env node
import { abandonedThreads } from '@hotswap/registry'
import { main } from './main.js'

// The bin: run, then exit with main's code (workers and sockets are closed by then).
main(process.argv.slice(2)).then(exit, (error: unknown) => {
  process.stderr.write(`hotswap-host: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  exit(1)
})

function exit(code: number): void {
  const left = abandonedThreads()
  if (left === 0) process.exit(code)
  // process.exit() waits for every thread to end, and these never will: a plugin's thread that
  // was terminated but stayed blocked (a system call, or inside V8). Everything else is saved.
  process.stderr.write(`hotswap-host: ${left} plugin thread${left === 1 ? '' : 's'} could not be ended (blocked in a system call or inside V8; see the log), so Node cannot exit on its own; the state of every other plugin is saved; ending the process with SIGKILL\n`)
  process.kill(process.pid, 'SIGKILL')
}
