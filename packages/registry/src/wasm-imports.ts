// The import section of a wasm module, read from its bytes: the JS API's
// `WebAssembly.Module.imports()` names imported globals but not their value types, which the
// wasm loader needs to fill `config.<key>` globals from the plugin's config.

/** A wasm value type of an imported global. */
export type WasmValueType = 'i32' | 'i64' | 'f32' | 'f64'

/** One import of a module. */
export interface WasmImport {
  readonly module: string
  readonly name: string
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag'
  /** For a global: its value type (`undefined` for a reference type). */
  readonly type?: WasmValueType | undefined
  /** For a global: whether it is mutable. */
  readonly mutable?: boolean | undefined
}

const VALUE_TYPES: Readonly<Record<number, WasmValueType>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' }

/**
 * Reads the import section of a compiled-valid module's bytes.
 *
 * @internal
 * @throws `TypeError` when the bytes are not a wasm module this reader understands.
 */
export function readWasmImports(bytes: Uint8Array): WasmImport[] {
  let at = 8
  const u32 = (): number => {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = bytes[at++]
      if (byte === undefined) throw new TypeError('the wasm module ends inside a number')
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
  }
  const text = (): string => {
    const length = u32()
    const value = new TextDecoder().decode(bytes.subarray(at, at + length))
    at += length
    return value
  }
  const limits = (): void => {
    const flags = u32()
    u32()
    if ((flags & 1) !== 0) u32()
  }
  while (at < bytes.length) {
    const id = bytes[at++]
    const size = u32()
    const end = at + size
    if (id !== 2) {
      at = end
      continue
    }
    const imports: WasmImport[] = []
    for (let count = u32(); count > 0; count--) {
      const module = text()
      const name = text()
      const kind = bytes[at++]
      if (kind === 0x00) {
        u32()
        imports.push({ module, name, kind: 'function' })
      } else if (kind === 0x01) {
        at++
        limits()
        imports.push({ module, name, kind: 'table' })
      } else if (kind === 0x02) {
        limits()
        imports.push({ module, name, kind: 'memory' })
      } else if (kind === 0x03) {
        const type = VALUE_TYPES[bytes[at++] as number]
        const mutable = bytes[at++] === 1
        imports.push({ module, name, kind: 'global', type, mutable })
      } else if (kind === 0x04) {
        at++
        u32()
        imports.push({ module, name, kind: 'tag' })
      } else {
        throw new TypeError(`import ${module}.${name} has an unknown kind ${String(kind)}`)
      }
    }
    return imports
  }
  return []
}
