/** Where the example sources live. */
export declare const EXAMPLES_SRC: string
/** Where the example plugins live (and are built into). */
export declare const EXAMPLES_PLUGINS: string
/** Compiles WebAssembly text to a binary module. */
export declare function watToWasm(text: string, name?: string): Promise<Uint8Array>
/** Bundles a TypeScript plugin into one ESM file; resolves with the written path. */
export declare function buildTsPlugin(entry: string, outfile: string, name?: string): Promise<string>
/** Builds every example into `outDir` (default examples/plugins). */
export declare function buildExamples(outDir?: string): Promise<{ clock: string; links: string; wasm: string }>
