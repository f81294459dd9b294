// Importing this module turns on WebAssembly's relaxed SIMD where this Node
// has it only behind a V8 flag (Node 20: V8 11.3; V8 11.4 and later ship it
// on). softraid's RAID 6 syndrome kernels use i8x16.relaxed_laneselect when
// it validates and passes their self-test, and plain SIMD otherwise, so a
// runtime without it is slower, never wrong (engine/parity/wasm-kernels.ts).
//
// A side effect on import, not a function to call: kernels are compiled when
// the parity module is first imported, and ES module imports run before the
// importing module's own code. An entry point imports this module FIRST.
// V8 reads its WebAssembly feature flags when it validates or compiles a
// module, so setting one at run time, before any module that needs it, works.
import { setFlagsFromString } from 'node:v8';

// libutil compiles without the DOM library, which types the WebAssembly global.
declare const WebAssembly: { validate(bytes: Uint8Array): boolean };

/** (func (param v128 v128 v128) (result v128) i8x16.relaxed_laneselect) */
const relaxedLaneselectProbe = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x89, 0x02, 0x0b,
]);

// Only when it is missing: a V8 that no longer knows the flag prints an error for it.
if (!WebAssembly.validate(relaxedLaneselectProbe)) setFlagsFromString('--experimental-wasm-relaxed-simd');
