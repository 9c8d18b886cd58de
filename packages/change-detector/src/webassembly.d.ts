// The few WebAssembly globals this package uses. Node.js has them, but @types/node 20 does
// not declare them and the DOM lib would bring in browser globals that do not exist in Node.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: BufferSource)
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>)
    readonly exports: Record<string, unknown>
  }
  class Memory {
    readonly buffer: ArrayBuffer
  }
  class Global {
    value: unknown
  }
}
type BufferSource = ArrayBufferView | ArrayBuffer
