// The status page's files, all served by softraidd itself (no CDN, nothing
// fetched from elsewhere): static/index.html and static/status.css from the
// package, and the page's scripts as compiled from src/status-page into
// dist. Read once at start into memory; only these paths exist.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PageAsset {
  contentType: string;
  body: Buffer;
}

const packageRoot = dirname(fileURLToPath(import.meta.resolve('@openbsd38/softraid/package.json')));

/** URL path → file. The scripts are ES modules that import each other by relative path under /status-page/. */
export function loadPageAssets(root = packageRoot): Map<string, PageAsset> {
  const assets = new Map<string, PageAsset>();
  const scripts = join(root, 'dist', 'src', 'status-page');
  try {
    assets.set('/', { contentType: 'text/html; charset=utf-8', body: readFileSync(join(root, 'static', 'index.html')) });
    assets.set('/status.css', { contentType: 'text/css; charset=utf-8', body: readFileSync(join(root, 'static', 'status.css')) });
    for (const name of readdirSync(scripts)) {
      if (name.endsWith('.js')) assets.set(`/status-page/${name}`, { contentType: 'text/javascript; charset=utf-8', body: readFileSync(join(scripts, name)) });
    }
  } catch (error) {
    throw new Error(`the status page's files are missing (${(error as Error).message}): npm run build makes them`);
  }
  if (!assets.has('/status-page/main.js')) throw new Error(`the status page's files are missing (no main.js in ${scripts}): npm run build makes them`);
  return assets;
}
