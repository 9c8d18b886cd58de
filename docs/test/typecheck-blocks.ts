// Type-checks the TypeScript blocks of the guides against the published type declarations
// of the built packages (what a user's editor would say about the code).
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import ts from 'typescript'
import { makeGuideDir, where } from './guide-blocks.js'
import type { Block } from './guide-blocks.js'

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  types: ['node'],
  noEmit: true,
}

/** True for the blocks this check covers: TypeScript that is run or written as a `.ts` file. */
export function isTypeScriptBlock(block: Block): boolean {
  if (block.fragment || !(block.lang === 'ts' || block.lang === 'typescript')) return false
  return block.file === undefined ? block.test : /\.[mc]?ts$/.test(block.file)
}

/**
 * Type-checks the blocks; resolves to one message per diagnostic (empty when all is well).
 * With `nodeModules` (a user's project), the packages and `@types/node` come from there.
 */
export async function typecheckBlocks(blocks: readonly Block[], nodeModules?: string): Promise<string[]> {
  const dir = await makeGuideDir('typecheck', nodeModules)
  try {
    const byFile = new Map<string, { block: Block; offset: number }>()
    for (const block of blocks.filter(isTypeScriptBlock)) {
      const name = block.file ?? `block-${block.line}.ts`
      const path = join(dir, block.guide.replace(/\.md$/, ''), name)
      await mkdir(dirname(path), { recursive: true })
      // `export {}` keeps every block a module of its own, as a file in a project would be.
      await writeFile(path, `${block.code}export {}\n`)
      byFile.set(path, { block, offset: block.line + 1 })
    }
    const options = nodeModules === undefined ? OPTIONS : { ...OPTIONS, typeRoots: [join(nodeModules, '@types')] }
    const program = ts.createProgram([...byFile.keys()], options)
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
      const origin = d.file ? byFile.get(d.file.fileName) : undefined
      if (d.file && origin && d.start !== undefined) {
        const { line } = d.file.getLineAndCharacterOfPosition(d.start)
        return `${where(origin.block).replace(/:\d+$/, '')}:${origin.offset + line}: TS${d.code} ${text}`
      }
      return `${d.file?.fileName ?? '(global)'}: TS${d.code} ${text}`
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
