// The engine compiles without Node's types (src/engine/tsconfig.json), so
// the compiler itself keeps it platform-free: no fs, no net, no Buffer, no
// process. What it may use is declared here: the few web-platform globals
// every JavaScript runtime has (Node, Deno, browsers), typed as narrowly as
// the engine calls them. parity/webassembly.d.ts does the same for WebAssembly.

declare function structuredClone<T>(value: T): T;
declare function queueMicrotask(callback: () => void): void;

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: 'utf-8', options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
