// What the loader contract's case files share: a case, the two JS formats, a quiet logger, a
// bounded wait, a plugin's source in either format, and the runner that gives each case a
// fresh registry and a temp folder.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Loader } from './loader.js'
import { createPluginRegistry } from './registry.js'
import type { PluginRegistry, RegistryLogger, RegistryOptions } from './registry-types.js'

/** One case, as in `LoaderContractCase`. */
export interface Case {
  readonly name: string
  readonly run: () => Promise<void>
}

/** The module format a case writes its plugins in. */
export type Format = 'esm' | 'cjs'

/** A logger that drops every line. */
export const QUIET: RegistryLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }

/** Waits until `check()` is true, polling, up to `timeoutMs`; throws otherwise. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A plugin module exporting the object literal `body` in `format`, after `prelude`. */
export function source(format: Format, body: string, prelude = ''): string {
  return format === 'esm' ? `${prelude}\nexport default {${body}}\n` : `${prelude}\nmodule.exports = {${body}}\n`
}

/**
 * Collects cases that each run on a fresh registry with `loader` and a temp folder, where
 * `write(file, text)` saves a plugin in `format` and returns its path.
 *
 * @internal
 */
export function caseCollector(
  loader: () => Loader,
  format: Format,
  prefix: string,
  defaults: Omit<RegistryOptions, 'loader'>,
): { readonly cases: Case[]; readonly test: (name: string, options: Omit<RegistryOptions, 'loader'>, body: (registry: PluginRegistry, write: (file: string, text: string) => Promise<string>) => Promise<void>) => void } {
  const ext = format === 'esm' ? 'mjs' : 'cjs'
  const cases: Case[] = []
  const test = (name: string, options: Omit<RegistryOptions, 'loader'>, body: (registry: PluginRegistry, write: (file: string, text: string) => Promise<string>) => Promise<void>): void => {
    cases.push({
      name,
      run: async () => {
        const dir = await mkdtemp(join(tmpdir(), prefix))
        const registry = createPluginRegistry({ loader: loader(), logger: QUIET, setupTimeoutMs: 5000, loadTimeoutMs: 5000, ...defaults, ...options })
        const write = async (file: string, text: string): Promise<string> => {
          const path = join(dir, `${file}.${ext}`)
          await writeFile(path, text)
          return path
        }
        try {
          await body(registry, write)
        } finally {
          await registry.close()
          await rm(dir, { recursive: true, force: true })
        }
      },
    })
  }
  return { cases, test }
}
