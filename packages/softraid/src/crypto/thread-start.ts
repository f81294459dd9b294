// Starting one of this folder's worker threads (bcrypt_pbkdf, the cipher
// pool) from dist/ or from source. From dist/ the thread is the compiled
// module beside this one. From source under tsx (the tests), tsx's --import
// hook does not reach worker threads on Node 20, so the thread starts from a
// short bootstrap that registers tsx's loader through its API, then imports
// the TypeScript module.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { allowFreeNow } from './free-now.js';

const fromSource = import.meta.url.endsWith('.ts');

/** `moduleName` without extension, e.g. 'bcrypt-pbkdf-thread'. */
export function startCryptoThread(moduleName: string, options: WorkerOptions): Worker {
  // The thread's context is made with ArrayBuffer.prototype.transfer, which XtsAes256 frees its outputs with.
  allowFreeNow();
  if (!fromSource) return new Worker(new URL(`./${moduleName}.js`, import.meta.url), { ...options, execArgv: [] });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const thread = new URL(`./${moduleName}.ts`, import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); `
    + `return import(${JSON.stringify(thread)}); });`;
  // The "source" export condition, so that packages resolve to their sources as in the calling process.
  return new Worker(bootstrap, { ...options, eval: true, execArgv: ['--conditions=source'] });
}
