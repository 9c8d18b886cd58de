#!/usr/bin/env node
import { main } from './main.js'

// The bin: run, then exit with main's code (workers and sockets are closed by then).
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hotswap-host: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
