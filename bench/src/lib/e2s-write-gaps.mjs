// What the settle window protects against, measured: how long an ordinary in-place writer leaves
// a file truncated or partial (from open with O_TRUNC to its last write returning), for one
// writer and for 100 writing at once, with async (fs/promises: each call a trip through libuv's
// thread pool) and sync writes of 40 KB. A watcher event of the truncation that is read inside
// this window loads an empty or half file unless the pipeline waits for the file to stay put.
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { quantile } from './stats.mjs'

async function asyncWrite(file, data) {
  const handle = await open(file, 'w')
  const t = performance.now()
  await handle.write(data)
  const gap = performance.now() - t
  await handle.close()
  return gap
}

function syncWrite(file, data) {
  const fd = openSync(file, 'w')
  const t = performance.now()
  writeSync(fd, data)
  const gap = performance.now() - t
  closeSync(fd)
  return gap
}

/** Rows of { writers, kind, writes, p50Ms, p99Ms, maxMs } of the truncated-to-written window. */
export async function writeGaps() {
  const dir = mkdtempSync(join(tmpdir(), 'hotswap-e2s-gaps-'))
  const data = Buffer.alloc(40_000, 97)
  const rows = []
  try {
    for (const writers of [1, 100]) {
      for (const kind of ['async', 'sync']) {
        const gaps = []
        await Promise.all(
          Array.from({ length: writers }, async (_, i) => {
            for (let w = 0; w < (writers === 1 ? 200 : 20); w++) {
              const file = join(dir, `p${i}.mjs`)
              gaps.push(kind === 'async' ? await asyncWrite(file, data) : syncWrite(file, data))
              if (kind === 'sync') await new Promise((r) => setImmediate(r))
            }
          }),
        )
        const r2 = (x) => +x.toFixed(2)
        rows.push({ writers, kind, writes: gaps.length, p50Ms: r2(quantile(gaps, 0.5)), p99Ms: r2(quantile(gaps, 0.99)), maxMs: r2(Math.max(...gaps)) })
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
