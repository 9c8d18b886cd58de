#!/usr/bin/env node
// Packs every published workspace package (packages/*, private ones skipped) with `pnpm pack`
// into a temporary directory and fails when a tarball holds anything but `package.json`,
// `README.md`, a LICENSE file and `dist/**`, or lacks `package.json`, `README.md`, `LICENSE` or
// `dist/`.
// The tarballs are read here (gzip + tar headers), not taken from pnpm's report.
//
// Usage: node scripts/check-packs.mjs        (build the packages first: pnpm run build)
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'

const root = fileURLToPath(new URL('..', import.meta.url))
const ALLOWED = [/^package\.json$/, /^README\.md$/i, /^LICEN[CS]E(\.md|\.txt)?$/i, /^dist\/.+/]
const REQUIRED = [/^package\.json$/, /^README\.md$/i, /^LICEN[CS]E(\.md|\.txt)?$/i, /^dist\/.+/]

const out = await mkdtemp(join(tmpdir(), 'hotswap-packs-'))
let failures = 0
try {
  const dirs = (await readdir(join(root, 'packages'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => join(root, 'packages', d.name))
  for (const dir of dirs.sort()) {
    let manifest
    try {
      manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'))
    } catch {
      continue // not a package
    }
    if (manifest.private === true) {
      console.log(`skip  ${manifest.name} (private)`)
      continue
    }
    const dest = join(out, manifest.name.replace(/[@/]/g, '_'))
    try {
      execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' })
    } catch (error) {
      failures++
      console.error(`FAIL  ${manifest.name}: pnpm pack failed\n${String(error.stderr ?? error.message)}`)
      continue
    }
    const tarball = (await readdir(dest)).find((f) => f.endsWith('.tgz'))
    if (tarball === undefined) {
      failures++
      console.error(`FAIL  ${manifest.name}: no tarball written`)
      continue
    }
    const files = listTar(gunzipSync(await readFile(join(dest, tarball))))
      .map((p) => p.replace(/^[^/]+\//, '')) // npm tarballs put everything under package/
      .sort()
    const extra = files.filter((f) => !ALLOWED.some((re) => re.test(f)))
    const missing = REQUIRED.filter((re) => !files.some((f) => re.test(f))).map((re) => re.source)
    if (extra.length > 0 || missing.length > 0) {
      failures++
      console.error(`FAIL  ${manifest.name}@${manifest.version} (${tarball})`)
      for (const f of extra) console.error(`        not allowed: ${f}`)
      for (const m of missing) console.error(`        missing:     ${m}`)
      console.error('        fix the "files" field of its package.json (only "dist" is published; npm adds README.md')
      console.error('        and LICENSE from the package folder: copy the repository\'s LICENSE there)')
    } else {
      console.log(`ok    ${manifest.name}@${manifest.version}: ${files.length} files (${files.filter((f) => !f.startsWith('dist/')).join(', ')}, ${files.filter((f) => f.startsWith('dist/')).length} in dist/)`)
    }
  }
} finally {
  await rm(out, { recursive: true, force: true })
}
if (failures > 0) {
  console.error(`${failures} package(s) would publish the wrong files`)
  process.exit(1)
}

/** The paths of the regular files in an (uncompressed) tar archive, pax long names included. */
function listTar(buf) {
  const paths = []
  let pending // path from a pax extended header, for the next entry
  for (let off = 0; off + 512 <= buf.length; ) {
    const header = buf.subarray(off, off + 512)
    if (header.every((b) => b === 0)) break
    const field = (start, length) => header.subarray(start, start + length).toString('utf8').replace(/\0[\s\S]*$/, '')
    const size = Number.parseInt(field(124, 12).trim() || '0', 8)
    const type = field(156, 1) || '0'
    const prefix = field(0x159, 155)
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)
    const body = buf.subarray(off + 512, off + 512 + size)
    if (type === 'x') {
      const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))
      pending = match?.[1]
    } else if (type === 'g') {
      // global header: nothing we need
    } else {
      if (type === '0' || type === '7') paths.push(pending ?? name)
      pending = undefined
    }
    off += 512 + Math.ceil(size / 512) * 512
  }
  return paths
}
