// softraidd's status page in a real browser (headless Chromium over the
// DevTools protocol) against a live softraidd: the volume and its members
// listed; fio's writes through NBD drawn in the I/O graph; a member failed
// with bioctl -O shown as failed within seconds without a reload; a hot
// spare added and its rebuild bar moving to done; a phone's width still
// showing every member; and not one console error, uncaught exception or
// failed request on the way. Screenshots of each step are saved (the test
// prints where).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, workspace, type Daemon } from '../../src/daemon/testing/softraidd-process.js';
import { artifactsDirectory, openBrowser, type BrowserSession } from './headless-chromium.js';
import { SysfsFixture, cleanRaid1 } from '@openbsd38/md/testing/sysfs-fixture.test-helper.js';

/** What the loop below reads of an element in the page (this package compiles without the DOM's types). */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  readonly innerText: string;
}

const space = workspace('status-page');
after(() => space.remove());

const seenWithinMs = 5000;

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, explain: () => Promise<string> = async () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${await explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function fioWrites(uri: string, runtimeSeconds: number): Promise<{ code: number | null; output: string }> {
  const child = spawn('fio', ['--name=writes', '--ioengine=nbd', `--uri=${uri}`, '--rw=randwrite', '--bs=64k', '--size=48M',
    '--iodepth=4', '--time_based', `--runtime=${runtimeSeconds}`, '--rate=16m'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  child.stderr.on('data', (bytes: Buffer) => { output += bytes.toString(); });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

test('status page: members, live failure, rebuild to done, I/O graph, phone width, no console errors', async () => {
  const artifacts = artifactsDirectory(`status-page-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  console.log(`status page screenshots: ${artifacts}`);
  for (const name of ['a', 'b', 'spare']) run('truncate', ['-s', '64M', join(space.directory, name)]);
  // A rebuild slow enough to watch (64 MiB at 8 MiB/s: about 8 s), fast enough to finish.
  const daemon: Daemon = await startSoftraidd(space, ['--rebuild-rate-min', '8M', '--rebuild-rate-max', '8M']);
  let browser: BrowserSession | undefined;
  try {
    const address = /HTTP (127\.0\.0\.1:\d+)/.exec(daemon.log())?.[1];
    assert.ok(address !== undefined, `the ready line names the HTTP address:\n${daemon.log()}`);
    assert.equal(bioctl(space, ['-c', '1', '-l', 'a,b', 'softraid0']).status, 0);

    browser = await openBrowser(artifacts);
    const { page } = browser;
    await page.goto(`http://${address}/`);
    const volume = page.locator('article[data-volume="sd0"]');
    const slot = (index: number) => volume.locator(`[data-member-slot="${index}"]`);
    await volume.waitFor({ timeout: 10_000 });
    assert.equal(await volume.getAttribute('data-state'), 'Online');
    assert.equal(await volume.locator('[data-member-slot]').count(), 2);
    assert.match(await slot(0).innerText(), new RegExp(`${join(space.directory, 'a')}[\\s\\S]*63\\.0 MiB`));
    assert.equal(await slot(1).getAttribute('data-state'), 'Online');
    assert.match(await page.locator('#connection').innerText(), /^live/);
    await browser.screenshot('1-volume-online');

    // fio writes through NBD: the throughput graph shows them, without a reload.
    const fio = fioWrites(space.nbdUri('sd0'), 8);
    const writeLegend = volume.locator('[data-graph="throughput"] span[data-series="write"]');
    const writeLine = volume.locator('[data-graph="throughput"] path[data-series="write"]');
    /** The line's points above the idle baseline (y 79 is zero). */
    const busyPoints = async (): Promise<number> => [...((await writeLine.getAttribute('d')) ?? '').matchAll(/[ML][\d.]+,([\d.]+)/g)].filter((point) => Number(point[1]) < 70).length;
    await until('the writes on the graph', async () => Number(await writeLegend.getAttribute('data-latest') || 0) > 1024 * 1024 && await busyPoints() >= 2, 15_000,
      async () => `fio: ${JSON.stringify(await Promise.race([fio, Promise.resolve('running')]))}`);
    const latestWriteBytesPerSecond = Number(await writeLegend.getAttribute('data-latest'));
    assert.ok(latestWriteBytesPerSecond > 1024 * 1024 && latestWriteBytesPerSecond < 64 * 1024 * 1024, `write rate ${latestWriteBytesPerSecond} (fio writes at 16 MiB/s)`);
    await browser.screenshot('2-io-graph');
    const fioDone = await fio;
    assert.equal(fioDone.code, 0, fioDone.output);

    // bioctl -O: the member shows as failed within seconds, the volume degraded.
    const failedAt = Date.now();
    assert.equal(bioctl(space, ['-O', 'b', 'sd0']).status, 0);
    await page.waitForSelector('article[data-volume="sd0"] [data-member-slot="1"][data-state="Offline"]', { timeout: seenWithinMs });
    const seenAfterMs = Date.now() - failedAt;
    assert.equal(await volume.getAttribute('data-state'), 'Degraded');
    assert.match(await slot(1).innerText(), /FAILED/);
    assert.equal(await page.locator('.summary').getAttribute('data-summary'), 'bad');
    assert.match(await volume.locator('.commands').textContent() ?? '', /bioctl -R NEWDISK sd0/);
    assert.equal(await page.locator('tr[data-event="Fail"]').count(), 1, 'the Fail event is in the log');
    await browser.screenshot('3-member-failed');

    // A hot spare for the pool: the volume takes it, the rebuild bar moves, then it is done.
    assert.equal(bioctl(space, ['-H', 'spare', 'softraid0']).status, 0);
    const percents: number[] = [];
    const deadline = Date.now() + 60_000;
    let rebuildShot = false;
    for (;;) {
      assert.ok(Date.now() < deadline, `the rebuild did not finish on the page; bars seen: ${percents.join(', ')}`);
      // One read of the page for the volume's state, its bar and member 1: read one by one, the bar could
      // go (the rebuild done) between seeing it and reading its percentage, and that read would wait for it.
      const seen = await volume.evaluate((article: PageElement) => {
        const bar = article.querySelector('.progress[data-operation="rebuild"]');
        return {
          state: article.getAttribute('data-state'),
          percent: bar?.getAttribute('data-percent') ?? null,
          barText: bar?.innerText ?? null,
          memberState: article.querySelector('[data-member-slot="1"]')?.getAttribute('data-state') ?? null,
        };
      });
      if (seen.percent !== null) {
        const percent = Number(seen.percent);
        if (percents.at(-1) !== percent) percents.push(percent);
        if (!rebuildShot && percent > 10 && percent < 90) {
          assert.equal(seen.memberState, 'Rebuild');
          assert.match(seen.barText ?? '', /Rebuild \d+% done · [\d.]+ MiB\/s · \d+s left/);
          await browser.screenshot('4-rebuilding');
          rebuildShot = true;
        }
      } else if (seen.state === 'Online' && percents.length > 0) {
        break;
      }
      await page.waitForTimeout(250);
    }
    assert.ok(percents.length >= 3, `the bar moved: ${percents.join(', ')}`);
    assert.ok(percents.some((percent) => percent > 0 && percent < 100), `seen part done: ${percents.join(', ')}`);
    for (let index = 1; index < percents.length; index++) assert.ok(percents[index]! >= percents[index - 1]!, `the bar only moves forward: ${percents.join(', ')}`);
    assert.equal(await slot(1).getAttribute('data-state'), 'Online');
    assert.match(await slot(1).innerText(), /spare/);
    assert.equal(await page.locator('.spares [data-spare]').count(), 0, 'the pool is empty now');
    assert.equal(await page.locator('tr[data-event="RebuildFinished"]').count(), 1);
    assert.equal(await page.locator('.summary').getAttribute('data-summary'), 'good');
    await browser.screenshot('5-rebuilt');

    // A phone's width: every member still shown whole, nothing wider than the screen.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth') as number;
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    // The page replaces its content at every refresh, so a box read at that moment is null: look
    // until both members are seen whole within the screen, for a few refreshes at most.
    const boxes = async (): Promise<({ x: number; width: number } | null)[]> => Promise.all([0, 1].map((index) => slot(index).boundingBox()));
    await until('both members whole on the phone', async () => (await boxes()).every((box) => box !== null && box.x >= 0 && box.x + box.width <= 360 && box.width > 100),
      seenWithinMs, async () => JSON.stringify(await boxes()));
    for (const index of [0, 1]) assert.ok(await slot(index).isVisible());
    await browser.screenshot('6-phone');

    console.log(`status page: failure seen ${seenAfterMs} ms after bioctl -O; rebuild bars ${percents.map((percent) => percent.toFixed(0)).join(' ')}; write rate shown ${(latestWriteBytesPerSecond / 1048576).toFixed(1)} MiB/s`);
    assert.deepEqual(browser.problems, [], 'nothing on the console, no uncaught error, no failed request');
  } finally {
    await browser?.close();
    await daemon.stop();
  }
});

test('status page: Linux md arrays beside softraid volumes, a faulty md member failed, a resync waiting', async () => {
  const artifacts = artifactsDirectory(`status-page-md-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  console.log(`status page (md) screenshots: ${artifacts}`);
  // The md arrays as a 6.1 kernel shows them in sysfs, hand-built (this machine's kernel has no md).
  const sysfs = new SysfsFixture()
    .array('md0', cleanRaid1({ degraded: '1' }, {
      ubdb: { state: 'in_sync,writemostly', slot: '0', size: '63488' },
      ubdc: { state: 'faulty', slot: '1', size: '63488' },
    }))
    .array('md1', cleanRaid1({ array_state: 'active', sync_action: 'resync', sync_completed: 'delayed' }));
  const mdSpace = workspace('status-page-md');
  mdSpace.env.SOFTRAID_SYSFS_ROOT = sysfs.root;
  const daemon = await startSoftraidd(mdSpace);
  let browser: BrowserSession | undefined;
  try {
    const address = /HTTP (127\.0\.0\.1:\d+)/.exec(daemon.log())?.[1];
    browser = await openBrowser(artifacts, { width: 1280, height: 900 });
    const { page } = browser;
    await page.goto(`http://${address}/`);
    const md = page.locator('section[data-controller="md"]');
    await md.locator('article[data-volume="md0"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('section[data-controller="softraid0"]').count(), 1, 'softraid0 is listed too');
    const md0 = md.locator('article[data-volume="md0"]');
    assert.equal(await md0.getAttribute('data-state'), 'Degraded');
    assert.equal(await md0.locator('[data-member-slot="1"]').getAttribute('data-state'), 'Failed');
    assert.match(await md0.locator('[data-member-slot="1"]').innerText(), /FAILED/);
    assert.match(await md0.locator('[data-member-slot="0"]').innerText(), /writemostly/);
    assert.match(await md0.locator('.commands').textContent() ?? '', /bioctl -R NEWDISK md0/);
    const md1 = md.locator('article[data-volume="md1"]');
    assert.match(await md1.locator('.progress').innerText(), /Resync waiting \(another array syncs first\)/);
    assert.equal(await md.locator('.commands').last().textContent().then((text) => /bioctl -H DISK md\b/.test(text ?? '')), false, 'md has no pool of its own');
    assert.match(await md.locator('.spares').innerText(), /Spares are kept with each array/);
    await browser.screenshot('1-md-arrays');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser?.close();
    await daemon.stop();
    mdSpace.remove();
    sysfs.remove();
  }
});
