import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve } from 'node:path'
import type { CliIo } from './main.js'

/**
 * `hotswap-host init [dir]`: writes a plugin folder (default `./my-plugins`): `src/hello.mts`,
 * a TypeScript plugin with a `fetch` handler and state that survives reloads, typed against
 * `@hotswap/registry`; a `tsconfig.json` that compiles `src/` into `plugins/` (the folder the
 * host watches); and a `package.json` with `build`, `watch` and `start` scripts. Nothing is
 * overwritten: an existing file stops it with exit code 1.
 *
 * @param argv - the arguments after `init`
 * @param io - streams and working directory
 * @returns 0 when written, 1 when a file exists, 2 for bad usage
 * @internal
 */
export async function runInit(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length > 1 || argv[0]?.startsWith('-') === true) {
    io.stderr('hotswap-host: usage: hotswap-host init [dir]\n')
    return 2
  }
  const dir = resolve(io.cwd, argv[0] ?? 'my-plugins')
  const files = initFiles(dir)
  const taken = Object.keys(files).filter((name) => existsSync(join(dir, name)))
  if (taken.length > 0) {
    io.stderr(`hotswap-host: init would overwrite ${taken.map((t) => join(dir, t)).join(', ')}; choose another directory\n`)
    return 1
  }
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), text)
  }
  await mkdir(join(dir, 'plugins'), { recursive: true })
  const shown = isAbsolute(argv[0] ?? '') ? dir : relative(io.cwd, dir) || '.'
  io.stdout(
    [
      `wrote ${shown}/: src/hello.mts, tsconfig.json, package.json, README.md`,
      '',
      'next:',
      `  cd ${shown}`,
      '  npm install          # typescript and @hotswap/registry (types only)',
      '  npm run build        # src/*.mts -> plugins/*.mjs (npm run watch: on every save)',
      '  npx hotswap-host plugins',
      '  curl http://127.0.0.1:4477/p/hello/',
      '',
    ].join('\n'),
  )
  return 0
}

/**
 * The files `init` writes, by path relative to the folder.
 *
 * @param dir - the folder (its name becomes the package name)
 * @returns file name to contents
 * @internal
 */
export function initFiles(dir: string): Record<string, string> {
  const name = (dir.split(/[\\/]/).pop() ?? 'my-plugins').toLowerCase().replace(/[^a-z0-9._-]/g, '-') || 'my-plugins'
  const version = ownVersion()
  const range = version === '0.0.0' ? '*' : `^${version}`
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        private: true,
        type: 'module',
        scripts: { build: 'tsc -p tsconfig.json', watch: 'tsc -p tsconfig.json --watch', start: 'hotswap-host plugins', typecheck: 'tsc -p tsconfig.json --noEmit' },
        devDependencies: { '@hotswap/registry': range, typescript: '~6.0.3' },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: [],
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          rootDir: 'src',
          outDir: 'plugins',
        },
        include: ['src'],
      },
      null,
      2,
    )}\n`,
    'src/hello.mts': HELLO,
    'README.md': `# ${name}\n\nhotswap plugins. \`npm run watch\` compiles \`src/*.mts\` into \`plugins/\`; \`npx hotswap-host plugins\` serves them and reloads each one when its file changes, keeping its state.\n\n- \`http://127.0.0.1:4477/p/hello/\`: the hello plugin's \`fetch\` handler\n- \`npx hotswap-host call hello greet '"you"'\`: a method call\n- the dashboard: the URL the host prints\n\nState lives in \`.hotswap-state/\` next to where the host runs (keep it to keep plugin state across restarts).\n`,
  }
}

const HELLO = `// A hotswap plugin: edit it while the host runs; the next version takes over the state.
import type { PluginDefinition } from '@hotswap/registry'

interface State {
  readonly greeted: number
}

let greeted = 0

const plugin = {
  name: 'hello',
  version: '1.0.0',
  setup(ctx) {
    greeted = ctx.state?.greeted ?? 0
    return {
      greet(who: string): string {
        greeted++
        return \`hello, \${who} (greeting #\${greeted})\`
      },
      fetch(request: Request): Response {
        const who = new URL(request.url).searchParams.get('who') ?? 'world'
        greeted++
        return Response.json({ message: \`hello, \${who}\`, greeted, version: '1.0.0' })
      },
    }
  },
  saveState(): State {
    return { greeted }
  },
} satisfies PluginDefinition<object, State>

export default plugin
`

function ownVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}
