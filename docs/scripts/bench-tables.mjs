// Renders bench/results/<suite>.json as Markdown tables into docs/performance.md, between
// `<!-- bench:<suite>:start -->` and `<!-- bench:<suite>:end -->`. The docs test fails when
// the guide and the JSON disagree, so after `pnpm bench -- <suite>` run
//   pnpm --filter @hotswap/docs run bench-tables
// Usage: node scripts/bench-tables.mjs [--write | --check]
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
export const RESULTS_DIR = join(here, '..', '..', 'bench', 'results')
export const GUIDE = join(here, '..', 'performance.md')

const SKIP = new Set(['suite', 'date', 'machine', 'pass', 'targets', 'notes'])
const MAX_ROWS = 30

/** Reads every `bench/results/*.json`, keyed by suite name. */
export async function readResults(dir = RESULTS_DIR) {
  const results = new Map()
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    results.set(file.replace(/\.json$/, ''), JSON.parse(await readFile(join(dir, file), 'utf8')))
  }
  return results
}

/** The Markdown for one suite's result: when and where, the targets, then its figures. */
export function renderSuite(result) {
  const out = []
  const m = result.machine ?? {}
  const verdict = result.pass === false ? '**at least one target missed**' : 'every target met'
  out.push(`Measured ${String(result.date ?? '?').slice(0, 10)} on Node ${m.node ?? '?'}, ${m.cpus ?? '?'} × ${m.cpu ?? '?'} (${m.platform ?? '?'}): ${verdict}.`, '')
  const targets = targetRows(result.targets ?? {})
  if (targets.length > 0) out.push(...table(['target', 'measured', 'met'], targets), '')
  for (const [key, value] of Object.entries(result)) {
    if (SKIP.has(key)) continue
    out.push(...section(key, value, 0))
  }
  if (Array.isArray(result.notes) && result.notes.length > 0) out.push('Notes from the suite:', '', ...result.notes.map((n) => `- ${String(n)}`), '')
  while (out.at(-1) === '') out.pop()
  return out.join('\n')
}

/** Replaces every suite region of `markdown` with the rendering of its result. */
export function updateRegions(markdown, results) {
  return markdown.replace(/<!-- bench:([\w-]+):start -->\n[\s\S]*?<!-- bench:\1:end -->/g, (whole, suite) => {
    const result = results.get(suite)
    if (!result) throw new Error(`docs/performance.md has a region for "${suite}" but bench/results/${suite}.json does not exist`)
    return `<!-- bench:${suite}:start -->\n${renderSuite(result)}\n<!-- bench:${suite}:end -->`
  })
}

function targetRows(targets) {
  return Object.entries(targets).map(([name, t]) => {
    if (typeof t === 'boolean') return [name, '', t ? 'yes' : '**no**']
    if (typeof t === 'number') {
      const bound = /\((>=|<=|<|>)\s*([\d.]+)x?\)/.exec(name)
      const met = bound ? compare(t, bound[1], Number(bound[2])) : undefined
      return [name, fmt(t), met === undefined ? '' : met ? 'yes' : '**no**']
    }
    if (t && typeof t === 'object') {
      const measured = t.measured ?? t.actual ?? t.value
      const goal = t.target ?? (t.limit !== undefined ? `limit ${fmt(t.limit)}` : undefined)
      const met = t.pass ?? t.met
      return [goal === undefined ? name : `${name} (${String(goal)})`, cell(measured), met === undefined ? '' : met ? 'yes' : '**no**']
    }
    return [name, cell(t), '']
  })
}

function section(name, value, depth) {
  if (value === null || typeof value !== 'object') return [`${label(name)}: ${cell(value)}`, '']
  if (Array.isArray(value)) {
    if (value.length === 0 || value.length > MAX_ROWS) return []
    if (value.every(isRecord)) {
      const cols = columns(value)
      return [`**${label(name)}**`, '', ...table(cols, value.map((row) => cols.map((c) => cell(row[c])))), '']
    }
    return value.every(isPrimitive) && value.length <= 10 ? [`${label(name)}: ${value.map(cell).join(', ')}`, ''] : []
  }
  const entries = Object.entries(value)
  const prims = entries.filter(([, v]) => isPrimitive(v))
  const records = entries.filter(([, v]) => isRecord(v))
  const rest = entries.filter(([, v]) => !isPrimitive(v) && !isRecord(v))
  const out = []
  if (prims.length > 0) out.push(`**${label(name)}**`, '', ...table(['', 'value'], prims.map(([k, v]) => [k, cell(v)])), '')
  if (records.length > 0) {
    const rows = records.map(([, v]) => v)
    let cols = columns(rows)
    if (cols.length > records.length && records.length > 1 && rows.every((r) => Object.values(r).every((v) => typeof v === 'number'))) {
      // Wide and numeric (e.g. contenders × sizes): one row per column key reads better.
      const heads = records.map(([k]) => k)
      if (prims.length === 0) out.push(`**${label(name)}**`, '')
      out.push(...table(['', ...heads], cols.map((c) => [c, ...rows.map((r) => cell(r[c]))])), '')
    } else {
      cols = cols.filter((c) => !records.every(([k, r]) => r[c] === k))
      if (prims.length === 0) out.push(`**${label(name)}**`, '')
      out.push(...table(['', ...cols], records.map(([k, r]) => [k, ...cols.map((c) => cell(r[c]))])), '')
    }
  }
  if (depth < 2) for (const [k, v] of rest) out.push(...section(`${name}.${k}`, v, depth + 1))
  return out
}

function isPrimitive(v) {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v)
}

function isRecord(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isPrimitive)
}

function columns(rows) {
  const cols = []
  for (const row of rows) for (const [k, v] of Object.entries(row)) if (isPrimitive(v) && !cols.includes(k)) cols.push(k)
  return cols
}

function table(head, rows) {
  const esc = (s) => String(s).replace(/\|/g, '\\|')
  return [`| ${head.map(esc).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)]
}

function label(name) {
  return name
}

function cell(v) {
  if (v === undefined) return ''
  if (typeof v === 'number') return fmt(v)
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (v !== null && typeof v === 'object') {
    return Object.entries(v)
      .map(([k, x]) => `${k} ${isPrimitive(x) ? cell(x) : '…'}`)
      .join(', ')
  }
  return String(v)
}

function fmt(n) {
  if (!Number.isFinite(n)) return String(n)
  if (Number.isInteger(n)) return Math.abs(n) >= 10_000 ? n.toLocaleString('en-US') : String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 100) return n.toFixed(0)
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return String(Number(n.toPrecision(3)))
}

function compare(value, op, bound) {
  return op === '>=' ? value >= bound : op === '<=' ? value <= bound : op === '<' ? value < bound : value > bound
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mode = process.argv[2] ?? '--check'
  const before = await readFile(GUIDE, 'utf8')
  const after = updateRegions(before, await readResults())
  if (mode === '--write') {
    if (after !== before) await writeFile(GUIDE, after)
    console.log(after === before ? 'docs/performance.md is up to date' : 'docs/performance.md updated from bench/results')
  } else if (after !== before) {
    console.error('docs/performance.md is out of date with bench/results: run `pnpm --filter @hotswap/docs run bench-tables`')
    process.exit(1)
  }
}
