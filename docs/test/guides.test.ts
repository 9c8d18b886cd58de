// The guides cannot rot: every code block in docs/*.md and in the READMEs of the packages and
// the host is run (or written as a file the next blocks use) against the built @hotswap
// packages, the TypeScript blocks are type-checked, every relative link resolves, and the
// performance tables match bench/results.
import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CODE_LANGS, DOCS_DIR, REPO_DIR, listReadmes, readGuide, readReadme, runGuide, where } from './guide-blocks.js'
import type { Block } from './guide-blocks.js'
import { typecheckBlocks } from './typecheck-blocks.js'
import { readResults, updateRegions } from '../scripts/bench-tables.mjs'

// Type errors in the guides that are bugs of a package, not of the guide, reported to its
// owner. Each entry must still occur (the test fails once it is fixed, so it is removed here).
const KNOWN_TYPE_PROBLEMS: readonly RegExp[] = []

const guides = (await readdir(DOCS_DIR)).filter((f) => f.endsWith('.md')).sort()
const blocksByGuide = new Map<string, Block[]>()
for (const guide of guides) blocksByGuide.set(guide, await readGuide(guide))
const readmes = await listReadmes()
const blocksByReadme = new Map<string, Block[]>()
for (const readme of readmes) blocksByReadme.set(readme, await readReadme(readme))
const allBlocks = [...blocksByGuide.values(), ...blocksByReadme.values()].flat()

describe('guide code blocks', () => {
  it('every JS/TS block says whether it runs, is a file, or is a fragment', () => {
    const unmarked = allBlocks.filter((b) => CODE_LANGS.has(b.lang) && !b.test && b.file === undefined && !b.fragment)
    expect(unmarked.map(where)).toEqual([])
  })

  it('the guides hold runnable code', () => {
    // A guard against a parser that silently finds nothing.
    expect(allBlocks.filter((b) => b.test).length).toBeGreaterThanOrEqual(15)
  })

  for (const guide of guides) {
    const blocks = blocksByGuide.get(guide) ?? []
    if (!blocks.some((b) => b.test)) continue
    it.concurrent(`${guide} runs`, async () => {
      const { ran } = await runGuide(guide, blocks)
      expect(ran).toBe(blocks.filter((b) => b.test && b.file === undefined).length)
    })
  }

  it('every package README is read, and each one with JS/TS code runs some of it', () => {
    expect(readmes).toEqual(expect.arrayContaining(['packages/watcher/README.md', 'apps/host/README.md']))
    const withCode = readmes.filter((r) => (blocksByReadme.get(r) ?? []).some((b) => CODE_LANGS.has(b.lang) && !b.fragment && b.file === undefined))
    expect(withCode.filter((r) => !(blocksByReadme.get(r) ?? []).some((b) => b.test))).toEqual([])
  })

  for (const readme of readmes) {
    const blocks = blocksByReadme.get(readme) ?? []
    if (!blocks.some((b) => b.test)) continue
    it.concurrent(`${readme} runs`, async () => {
      const { ran } = await runGuide(readme, blocks)
      expect(ran).toBe(blocks.filter((b) => b.test && b.file === undefined).length)
    })
  }

  it.concurrent('the TypeScript blocks type-check against the packages’ declarations', async () => {
    const problems = await typecheckBlocks(allBlocks)
    const known = problems.filter((p) => KNOWN_TYPE_PROBLEMS.some((k) => k.test(p)))
    expect(problems.filter((p) => !known.includes(p))).toEqual([])
    // A known problem that no longer occurs must leave the list, so that it cannot come back unseen.
    expect(KNOWN_TYPE_PROBLEMS.filter((k) => !known.some((p) => k.test(p))).map(String)).toEqual([])
  })
})

describe('links', () => {
  const files = [...guides.map((g) => join('docs', g)), 'README.md', ...readmes].filter((f) => existsSync(join(REPO_DIR, f)))
  for (const file of files) {
    it(`relative links in ${file} resolve`, async () => {
      const text = await readFile(join(REPO_DIR, file), 'utf8')
      const withoutCode = text.replace(/^\s*(`{3,}|~{3,})[\s\S]*?^\s*\1\s*$/gm, '').replace(/`[^`\n]*`/g, '')
      const broken: string[] = []
      for (const match of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] ?? ''
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue
        const path = resolve(dirname(join(REPO_DIR, file)), decodeURIComponent(target.replace(/#.*$/, '')))
        if (path.startsWith(join(REPO_DIR, 'docs', 'api'))) broken.push(`${target} (docs/api is generated; link the guides instead)`)
        else if (!existsSync(path)) broken.push(target)
      }
      expect(broken).toEqual([])
    })
  }
})

describe('API reference', () => {
  it('typedoc.json links every guide into the reference, and the docs index as its front page', async () => {
    const config = JSON.parse(await readFile(join(REPO_DIR, 'typedoc.json'), 'utf8')) as { readme?: string; projectDocuments?: string[] }
    expect(config.readme).toBe('docs/README.md')
    expect([...(config.projectDocuments ?? [])].sort()).toEqual(guides.filter((g) => g !== 'README.md').map((g) => `docs/${g}`))
  })
})

describe('performance guide', () => {
  it('its tables match bench/results (regenerate: pnpm --filter @hotswap/docs run bench-tables)', async () => {
    const guide = await readFile(join(DOCS_DIR, 'performance.md'), 'utf8')
    const results = await readResults()
    expect(guide).toMatch(/<!-- bench:[\w-]+:start -->/)
    expect(updateRegions(guide, results)).toBe(guide)
    // Every suite that has results is shown.
    for (const suite of results.keys()) expect(guide).toContain(`<!-- bench:${suite}:start -->`)
  })
})
