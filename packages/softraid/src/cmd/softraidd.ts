// softraidd(8): thin entry point; the daemon is in src/daemon/.
// First: the parity kernels are compiled on import (enable-wasm-relaxed-simd.ts).
import '@openbsd38/libutil/enable-wasm-relaxed-simd.js';
import { runSoftraidd } from '../daemon/main.js';
import { createRealController } from '../daemon/real-controller.js';

process.exitCode = await runSoftraidd(process.argv.slice(2), process.env, createRealController);
// Signal handlers keep the loop alive no longer than needed; exit once shut down.
process.exit();
