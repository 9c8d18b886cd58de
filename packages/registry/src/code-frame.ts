// Short code frames for errors in plugin code: at a build error's location, and at the first
// stack frame of a run-time error that points into one of the artifact's inputs.
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PluginArtifact } from './artifact.js'

/**
 * Two lines before, the line itself with a caret under `column`, and the line after.
 *
 * @internal
 */
export function codeFrame(text: string, line: number, column: number): string {
  const lines = text.split(/\r?\n/)
  const first = Math.max(1, line - 2)
  const last = Math.min(lines.length, line + 1)
  const width = String(last).length
  const out: string[] = []
  for (let n = first; n <= last; n++) {
    const content = (lines[n - 1] ?? '').slice(0, 160)
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${content}`)
    if (n === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`)
  }
  return out.join('\n')
}

const FRAME = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):(\d+)\)?$/

/**
 * Where in the plugin's own files a run-time error (a throw at the top level of the module)
 * happened: `file:line:col` and a code frame, read from the artifact (never from the disk),
 * or `undefined` when no stack frame points into an input. Expects a stack already mapped to
 * the original files (the loaders enable source maps).
 *
 * @internal
 */
export function locateInArtifact(stack: string | undefined, artifact: PluginArtifact): string | undefined {
  if (stack === undefined) return undefined
  for (const raw of stack.split('\n').slice(1)) {
    const m = FRAME.exec(raw.trim())
    if (m === null) continue
    const file = m[1]?.startsWith('file://') === true ? fileURLToPath(m[1]) : (m[1] ?? '')
    if (!artifact.inputs.has(file)) continue
    const line = Number(m[2])
    const column = Number(m[3])
    const text = sourceText(artifact, file)
    return text === undefined ? `${file}:${line}:${column}` : `${file}:${line}:${column}\n${codeFrame(text, line, column)}`
  }
  return undefined
}

function sourceText(artifact: PluginArtifact, file: string): string | undefined {
  if (file === artifact.entry) return Buffer.from(artifact.bytes).toString('utf8')
  if (artifact.sourceMap === undefined) return undefined
  try {
    const map = JSON.parse(artifact.sourceMap) as { sources?: string[]; sourcesContent?: (string | null)[] }
    const at = (map.sources ?? []).findIndex((s) => resolve(dirname(artifact.entry), s.startsWith('file://') ? fileURLToPath(s) : s) === file)
    return at < 0 ? undefined : (map.sourcesContent?.[at] ?? undefined)
  } catch {
    return undefined
  }
}
