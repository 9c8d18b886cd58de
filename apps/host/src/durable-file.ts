import { open, rename, rm } from 'node:fs/promises'

/**
 * Writes `text` to `file` whole or not at all, readable by the owner only: a temp file in the
 * same folder (mode 0600), synced, then renamed over `file`, so a reader never sees it empty or
 * half written and a crash leaves the previous content.
 *
 * @param file - the file to replace
 * @param text - its new content
 * @returns once renamed into place
 * @throws the file system's error (the temp file is removed)
 * @internal
 */
export async function writeFileDurably(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  const handle = await open(temp, 'w', 0o600)
  try {
    await handle.chmod(0o600) // the mode of open() applies only to a new file
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}
