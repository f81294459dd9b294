// The minimal slice of the WebAssembly JS API the parity kernels use. The
// project compiles against lib ES2023 without DOM, which leaves the global
// `WebAssembly` untyped; this declares only what src/engine/parity calls.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(deltaPages: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  type ExportValue = (...args: number[]) => number | undefined;
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, Memory>>);
    readonly exports: Record<string, ExportValue>;
  }
  function validate(bytes: Uint8Array): boolean;
}
