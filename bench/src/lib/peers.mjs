// Installs the peers the edit-to-serving suite compares against (bun, hot-hook, vite, tsx) into a
// cache folder OUTSIDE the repository, at bench time, with the ordinary npm client: they are
// not workspace dependencies, so `pnpm install --frozen-lockfile` never needs them.
// Folder: $HOTSWAP_BENCH_PEERS, else $XDG_CACHE_HOME/hotswap-bench-peers, else
// ~/.cache/hotswap-bench-peers. Run it alone with `node bench/src/lib/peers.mjs`.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** name -> exact version, as the issue names them. */
export const PEERS = Object.freeze({ bun: '1.4.4', 'hot-hook': '1.0.0', vite: '8.3.8', tsx: '4.23.15' })

/** The cache folder (created on demand). */
export function peersDir() {
  if (process.env.HOTSWAP_BENCH_PEERS) return process.env.HOTSWAP_BENCH_PEERS
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hotswap-bench-peers')
}

function installedVersion(dir, name) {
  try {
    return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

/**
 * Makes sure every peer is in the cache; installs the missing ones in one npm call.
 * @param {(line: string) => void} log
 * @param {Readonly<Record<string, string>>} peers - name -> exact version (default: {@link PEERS}; the http suite asks for pm2)
 * @returns {{ dir: string, missing: Record<string, string> }} `missing`: peer -> why it is not usable.
 */
export function ensurePeers(log = console.log, peers = PEERS) {
  const dir = peersDir()
  mkdirSync(dir, { recursive: true })
  const wanted = Object.entries(peers).filter(([name, version]) => installedVersion(dir, name) !== version)
  const missing = {}
  if (wanted.length > 0) {
    const specs = wanted.map(([name, version]) => `${name}@${version}`)
    log(`installing peers into ${dir}: ${specs.join(' ')}`)
    try {
      execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', ...specs], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 })
    } catch (error) {
      log(`npm install failed: ${String(error.stderr ?? error.message).trim().split('\n').slice(-3).join(' | ')}`)
    }
  }
  for (const [name, version] of Object.entries(peers)) {
    const got = installedVersion(dir, name)
    if (got !== version) missing[name] = got === undefined ? `${name}@${version} could not be installed into ${dir}` : `${name} ${got} installed, ${version} wanted`
  }
  if ('bun' in peers && missing.bun === undefined && !existsSync(join(dir, 'node_modules', '.bin', 'bun'))) missing.bun = 'the bun package installed but ships no binary for this platform'
  return { dir, missing }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { dir, missing } = ensurePeers()
  console.log(Object.keys(missing).length === 0 ? `peers ready in ${dir}` : `missing: ${JSON.stringify(missing)}`)
}
