import { defineConfig } from 'tsup'
import { base } from '../../tsup.base.js'

// `stripInternal`: what is marked @internal (fnv1a64JsOnly, kept for the fnv bench's "JS loop
// only" row) is left out of the published declarations, so it is not part of the typed API.
export default defineConfig({ ...base, dts: { compilerOptions: { ignoreDeprecations: '6.0', stripInternal: true } } })
