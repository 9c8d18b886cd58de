// Test support: real temporary directories, removed after the test file.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const made: string[] = []

/** Creates a fresh empty directory under the OS temp dir. */
export async function tempDir(prefix = 'state-store-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Removes every directory made by {@link tempDir}. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}

/** Every path below `root` (files and directories), relative to it, sorted. */
export async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true })
  return entries.map((entry) => relative(root, join(root, entry))).sort()
}
