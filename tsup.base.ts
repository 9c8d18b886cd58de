import type { Options } from 'tsup'

/**
 * The one tsup configuration every published package builds with:
 * ESM + CJS + declarations from `src/index.ts`, for Node 20.19.
 */
export const base: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'node',
  dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
  sourcemap: true,
  clean: true,
  splitting: false,
  treeshake: true,
}
