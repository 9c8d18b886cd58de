// The few WebAssembly JS API types the wasm loader needs: TypeScript declares them only in
// the DOM lib, which a Node package does not load.

/** A compiled module (opaque). @internal */
export interface WasmModule {
  readonly __wasmModule?: never
}

/** An import or export descriptor. @internal */
export interface WasmDescriptor {
  readonly module?: string
  readonly name: string
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag'
}

/** An instance's exports. @internal */
export type WasmExports = Record<string, unknown>

/** @internal */
export interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>
  instantiate(module: WasmModule, imports: Record<string, Record<string, unknown>>): Promise<{ readonly exports: WasmExports }>
  readonly Module: {
    imports(module: WasmModule): Array<WasmDescriptor & { readonly module: string }>
    exports(module: WasmModule): WasmDescriptor[]
  }
}

/** The runtime's `WebAssembly`. @internal */
export const wasm: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
