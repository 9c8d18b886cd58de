// Builds the example plugins that need a build step into examples/plugins:
//   examples/src/clock.ts  -> clock.mjs   (esbuild: one self-contained ESM file)
//   examples/src/links.ts  -> links.mjs   (the link shortener app, same way)
//   examples/src/stats.ts  -> stats.mjs   (its stats page, which depends on links)
//   examples/src/adder.wat -> adder.wasm  (wabt: WebAssembly text to binary)
// Run by `pnpm run build`; `node scripts/build-examples.mjs [outDir]` builds into another dir.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import initWabt from 'wabt'

const here = fileURLToPath(new URL('.', import.meta.url))
export const EXAMPLES_SRC = join(here, '..', 'examples', 'src')
export const EXAMPLES_PLUGINS = join(here, '..', 'examples', 'plugins')

/** Compiles WebAssembly text to a binary module. */
export async function watToWasm(text, name = 'module.wat') {
  const wabt = await initWabt()
  const module = wabt.parseWat(name, text)
  try {
    module.validate()
    return Uint8Array.from(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

/** Bundles a TypeScript plugin into one ESM file (no runtime imports left). */
export async function buildTsPlugin(entry, outfile, name = 'clock') {
  const result = await build({
    entryPoints: [entry],
    outfile: `${outfile}.tmp`,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    legalComments: 'none',
    banner: { js: `// Built from examples/src/${name}.ts by scripts/build-examples.mjs: edit the source, not this file.` },
    logLevel: 'silent',
  })
  return writeAtomically(outfile, result.outputFiles[0].contents)
}

/** Builds every example into `outDir` (default examples/plugins); returns the written paths. */
export async function buildExamples(outDir = EXAMPLES_PLUGINS) {
  await mkdir(outDir, { recursive: true })
  const clock = join(outDir, 'clock.mjs')
  await buildTsPlugin(join(EXAMPLES_SRC, 'clock.ts'), clock)
  const links = join(outDir, 'links.mjs')
  await buildTsPlugin(join(EXAMPLES_SRC, 'links.ts'), links, 'links')
  const stats = join(outDir, 'stats.mjs')
  await buildTsPlugin(join(EXAMPLES_SRC, 'stats.ts'), stats, 'stats')
  const wasm = join(outDir, 'adder.wasm')
  await writeAtomically(wasm, await watToWasm(await readFile(join(EXAMPLES_SRC, 'adder.wat'), 'utf8'), 'adder.wat'))
  return { clock, links, stats, wasm }
}

// Written through a temp file and a rename, so a running host never loads half a file.
async function writeAtomically(path, bytes) {
  const tmp = join(path, '..', `.${process.pid}.${Date.now()}.tmp`)
  await writeFile(tmp, bytes)
  await rename(tmp, path)
  return path
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildExamples(process.argv[2])
  console.log(`built ${out.clock}, ${out.links}, ${out.stats} and ${out.wasm}`)
}
