import { defineConfig } from 'tsup'

// An app, not a library: ESM only; the CLI plus the programmatic API (no declarations: the app is private).
export default defineConfig({
  entry: { cli: 'src/cli.ts', index: 'src/index.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
})
