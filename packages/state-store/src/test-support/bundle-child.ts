// Test support: child processes run real package code, bundled from the TypeScript sources
// with esbuild (Node 20 cannot run .ts itself, and tests must not depend on a prior build).
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { tempDir } from './temp-dir.js'

const bundles = new Map<string, Promise<string>>()

/**
 * Bundles `src/test-support/<name>.ts` (with the package code) into one .mjs file in a temp
 * dir that `removeTempDirs()` deletes; cached per test file.
 */
export function bundleChild(name: 'crash-child' | 'lock-child'): Promise<string> {
  let bundle = bundles.get(name)
  if (bundle === undefined) {
    bundle = (async () => {
      const outDir = await tempDir('state-store-child-')
      const outfile = join(outDir, `${name}.mjs`)
      await build({
        entryPoints: [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'error',
        // semver is CommonJS: give the ESM bundle a require() for its internal requires.
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      })
      return outfile
    })()
    bundles.set(name, bundle)
  }
  return bundle
}
