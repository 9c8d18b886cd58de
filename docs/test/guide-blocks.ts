// Reads the fenced code blocks of a guide (docs/*.md) or of a package README and runs them the
// way a reader would: files are written into a fresh directory, runnable blocks are executed
// there with Node, one process each, in the order the text shows them.
//
// Info-string flags (after the language, e.g. ```ts test):
//   test         run the block (ts is stripped of types with esbuild first; top-level await ok)
//   until=<text> with test: the block is a program that runs until stopped (a watcher, a
//                server): once its output holds <text> (URI-encoded, e.g. %20 for a space) it
//                gets SIGINT, as from Ctrl-C, and must then exit by itself with code 0
//   file=<path>  write the block to <path> in the guide's directory (a plugin, a package.json)
//   fragment     a partial snippet that is neither run nor type-checked (use sparingly)
// A block inside an HTML comment (<!-- ... -->) is not rendered but is handled the same way:
// use it for setup a reader does not need to see.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, normalize, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

export const DOCS_DIR: string = resolve(fileURLToPath(new URL('..', import.meta.url)))
export const REPO_DIR: string = resolve(DOCS_DIR, '..')

/** The languages whose blocks must say what the test does with them. */
export const CODE_LANGS: ReadonlySet<string> = new Set(['ts', 'js', 'mjs', 'cjs', 'typescript', 'javascript'])

export interface Block {
  /** The Markdown file: a guide's name in `docs/` (`watcher.md`) or a path from the repository root (`packages/watcher/README.md`). */
  readonly guide: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  readonly test: boolean
  readonly fragment: boolean
  readonly file: string | undefined
  /** With `until=`: the output that shows the program is up, after which it gets SIGINT. */
  readonly until: string | undefined
  readonly code: string
}

/** Parses the fenced blocks of a Markdown text (backtick or tilde fences). */
export function parseBlocks(guide: string, markdown: string): Block[] {
  const lines = markdown.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})\s*([^`\s]*)(.*)$/.exec(lines[i] ?? '')
    if (!open) continue
    const fence = open[1] ?? '```'
    const lang = (open[2] ?? '').toLowerCase()
    const flags = (open[3] ?? '').trim().split(/\s+/).filter(Boolean)
    const body: string[] = []
    let j = i + 1
    while (j < lines.length && !new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(lines[j] ?? '')) {
      body.push(lines[j] ?? '')
      j++
    }
    if (j >= lines.length) throw new Error(`${guide}:${i + 1}: code block is never closed`)
    const fileFlag = flags.find((f) => f.startsWith('file='))
    const untilFlag = flags.find((f) => f.startsWith('until='))
    blocks.push({
      guide,
      line: i + 1,
      lang,
      test: flags.includes('test'),
      fragment: flags.includes('fragment'),
      file: fileFlag?.slice('file='.length),
      until: untilFlag === undefined ? undefined : decodeURIComponent(untilFlag.slice('until='.length)),
      code: body.join('\n') + '\n',
    })
    i = j
  }
  return blocks
}

/** Reads and parses one guide in `docs/`. */
export async function readGuide(name: string): Promise<Block[]> {
  return parseBlocks(name, await readFile(join(DOCS_DIR, name), 'utf8'))
}

/** The READMEs whose examples are run like the guides': every package's and the host's (paths from the repository root). */
export async function listReadmes(): Promise<string[]> {
  const packages = (await readdir(join(REPO_DIR, 'packages'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => `packages/${d.name}/README.md`)
  return [...packages.sort(), 'apps/host/README.md'].filter((f) => existsSync(join(REPO_DIR, f)))
}

/** Reads and parses a README, named by its path from the repository root. */
export async function readReadme(path: string): Promise<Block[]> {
  return parseBlocks(path, await readFile(join(REPO_DIR, path), 'utf8'))
}

/**
 * A fresh directory in which `node_modules` resolves to the docs package's dependencies, or to
 * `nodeModules` (a user's project with the packed packages installed).
 */
export async function makeGuideDir(label: string, nodeModules: string = join(DOCS_DIR, 'node_modules')): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `hotswap-docs-${label.replace(/[^a-z0-9]+/gi, '-')}-`))
  await symlink(nodeModules, join(dir, 'node_modules'), 'dir')
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'guide-example', private: true, type: 'module' }) + '\n')
  return dir
}

/** Writes a `file=` block into `dir`, refusing paths that leave it. */
export async function writeBlockFile(dir: string, block: Block): Promise<string> {
  const target = block.file ?? ''
  if (isAbsolute(target) || normalize(target).startsWith('..')) throw new Error(`${where(block)}: file=${target} must stay inside the guide's directory`)
  const path = join(dir, target)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, block.code)
  return path
}

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
  /** Whether the `until=` text was printed (always false without one). */
  readonly sawUntil: boolean
}

/** Strips a `test` block's types and runs it with Node in `dir`; rejects with its output unless it exits 0. */
export async function runBlock(dir: string, block: Block, timeoutMs = 25_000): Promise<RunResult> {
  const { code } = await transform(block.code, { loader: block.lang.startsWith('t') ? 'ts' : 'js', format: 'esm', target: 'node20', sourcefile: where(block) })
  const file = join(dir, `.block-${block.line}.mjs`)
  await writeFile(file, code)
  const result = await runNode(dir, file, timeoutMs, block.until)
  if (block.until !== undefined && !result.sawUntil) {
    throw new Error(`${where(block)}: the block never printed ${JSON.stringify(block.until)} (until=)\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`)
  }
  if (result.code !== 0) {
    const stopped = block.until === undefined ? '' : ' after SIGINT'
    const why = result.signal ? `was killed${stopped} (${result.signal}${result.signal === 'SIGKILL' ? `, over ${timeoutMs} ms` : ''})` : `exited${stopped} with ${String(result.code)}`
    throw new Error(`${where(block)}: the block ${why}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`)
  }
  return result
}

/** Runs the blocks of one guide in order in a fresh directory (see {@link makeGuideDir}), which is removed afterwards. */
export async function runGuide(name: string, blocks: readonly Block[], nodeModules?: string): Promise<{ ran: number; wrote: number }> {
  const dir = await makeGuideDir(name.replace(/\.md$/, ''), nodeModules)
  let ran = 0
  let wrote = 0
  try {
    for (const block of blocks) {
      if (block.file !== undefined) {
        await writeBlockFile(dir, block)
        wrote++
      } else if (block.test) {
        const result = await runBlock(dir, block)
        // DOCS_SHOW_OUTPUT=1 prints what each block printed, to check the comments in a guide.
        if (process.env.DOCS_SHOW_OUTPUT) console.log(`${where(block)} (${Math.round(result.ms)} ms)\n${result.stdout}${result.stderr}`)
        ran++
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  }
  return { ran, wrote }
}

/** `docs/guide.md:line` or `packages/x/README.md:line`, for messages. */
export function where(block: Block): string {
  return `${block.guide.includes('/') ? '' : 'docs/'}${block.guide}:${block.line}`
}

/** The path of `file` relative to the repository, for messages. */
export function fromRepo(file: string): string {
  return relative(REPO_DIR, file)
}

function runNode(cwd: string, file: string, timeoutMs: number, until: string | undefined): Promise<RunResult> {
  const started = performance.now()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let sawUntil = false
    let timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const watchFor = (): void => {
      if (until === undefined || sawUntil || !(stdout + stderr).includes(until)) return
      sawUntil = true
      stderr += `[guide-blocks: SIGINT after ${Math.round(performance.now() - started)} ms]\n`
      child.kill('SIGINT')
      // From here on it has a whole timeout of its own to shut down.
      clearTimeout(timer)
      timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    }
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      watchFor()
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      watchFor()
    })
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr, ms: performance.now() - started, sawUntil })
    })
  })
}
