// A real browser for the status page's tests: Debian's Chromium
// (/usr/bin/chromium, or CHROMIUM), headless, driven over the DevTools
// protocol by playwright-core (which downloads nothing). Everything the
// page says to its console, every uncaught error and every failed request
// is collected, so a test can insist there were none. Screenshots go to an
// artifacts folder the test prints.
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** As root, without a sandbox; and without the background traffic a closed network refuses. */
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export interface BrowserSession {
  page: Page;
  /** Console errors and warnings, uncaught exceptions, failed requests and HTTP errors, as lines. */
  problems: string[];
  /** Saves a full-page screenshot as NAME.png in the artifacts folder; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export function artifactsDirectory(testName: string): string {
  const directory = join(process.env.SOFTRAID_TEST_ARTIFACTS ?? join(tmpdir(), 'softraid-test-artifacts'), testName);
  mkdirSync(directory, { recursive: true });
  return directory;
}

export async function openBrowser(artifacts: string, viewport = { width: 1280, height: 900 }): Promise<BrowserSession> {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM)`);
  const browser: Browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    // The event stream is cut when the page closes: that is no failure.
    if (!request.url().endsWith('/status/stream')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return {
    page,
    problems,
    screenshot: async (name) => {
      const path = join(artifacts, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}
