// Runs the benchmark suites in bench/src/suites and writes one JSON result file per suite
// into bench/results. Usage: `pnpm bench` (all) or `pnpm bench -- fnv watcher` (some);
// flags such as `--long` are passed to the suites.
import { readdir, mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import os from 'node:os'

const here = fileURLToPath(new URL('.', import.meta.url))
const suitesDir = join(here, 'suites')
const resultsDir = join(here, '..', 'results')
const args = process.argv.slice(2).filter((a) => a !== '--')
// `--flag` arguments go to every chosen suite (e.g. `--long`); the rest name suites.
const flags = args.filter((a) => a.startsWith('--'))
const wanted = args.filter((a) => !a.startsWith('--'))

const files = (await readdir(suitesDir)).filter((f) => f.endsWith('.mjs')).sort()
const chosen = wanted.length === 0 ? files : files.filter((f) => wanted.includes(f.replace(/\.mjs$/, '')))
if (chosen.length === 0) {
  console.error(`no suite named ${wanted.join(', ')}; suites: ${files.map((f) => f.replace(/\.mjs$/, '')).join(', ')}`)
  process.exit(2)
}
await mkdir(resultsDir, { recursive: true })
const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, platform: process.platform }
let failed = 0
for (const file of chosen) {
  const name = file.replace(/\.mjs$/, '')
  console.log(`\n== ${name} ==`)
  const suite = await import(pathToFileURL(join(suitesDir, file)).href)
  const result = await suite.run({ log: console.log, flags })
  const out = { suite: name, date: new Date().toISOString(), machine, ...result }
  await writeFile(join(resultsDir, `${name}.json`), JSON.stringify(out, null, 2) + '\n')
  if (result.pass === false) failed++
  console.log(`${name}: ${result.pass === false ? 'MISSED a target' : 'all targets met'} -> bench/results/${name}.json`)
}
process.exit(failed === 0 ? 0 : 1)
