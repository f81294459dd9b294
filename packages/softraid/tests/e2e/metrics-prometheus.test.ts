// softraidd's /metrics: node_exporter's md names on a softraid volume, the
// progress of a rebuild, members and sensors; checked by promtool and
// scraped by a real Prometheus server (Debian's prometheus package) on
// loopback, whose query API then answers with the volume's state.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bioctl, run, startSoftraidd, workspace } from '../../src/daemon/testing/softraidd-process.js';

const space = workspace('metrics');
after(() => space.remove());

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The value of one sample in a Prometheus text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/metrics: md names, members, sensors, promtool-clean, scraped by Prometheus through a rebuild', async () => {
  for (const name of ['a', 'b', 'c']) run('truncate', ['-s', '64M', join(space.directory, name)]);
  // A slow rebuild, so that Prometheus sees it in progress.
  const daemon = await startSoftraidd(space, ['--rebuild-rate-min', '4M', '--rebuild-rate-max', '4M']);
  let prometheus: ReturnType<typeof spawn> | undefined;
  try {
    const address = /HTTP (127\.0\.0\.1:\d+)/.exec(daemon.log())?.[1];
    assert.ok(address !== undefined, `the ready line names the HTTP address:\n${daemon.log()}`);
    const metricsUrl = `http://${address}/metrics`;
    assert.equal(bioctl(space, ['-c', '1', '-l', 'a,b', 'softraid0']).status, 0);

    const response = await fetch(metricsUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.equal(sample(text, 'node_md_state{device="sd0",state="active"}'), 1);
    // softraidd turns relaxed SIMD on before its kernels are built (bin/softraidd → cmd/softraidd.ts).
    const kernel = process.arch === 'x64' ? 'wasm-relaxed-simd' : /softraid_parity_kernel_info\{kernel="([^"]+)"\} 1/.exec(text)?.[1];
    assert.equal(sample(text, `softraid_parity_kernel_info{kernel="${kernel}"}`), 1);
    assert.equal(sample(text, 'node_md_state{device="sd0",state="recovering"}'), 0);
    assert.equal(sample(text, 'node_md_disks{device="sd0",state="active"}'), 2);
    assert.equal(sample(text, 'node_md_disks{device="sd0",state="failed"}'), 0);
    assert.equal(sample(text, 'node_md_disks_required{device="sd0"}'), 2);
    assert.equal(sample(text, 'node_md_degraded{device="sd0"}'), 0);
    assert.ok((sample(text, 'node_md_blocks{device="sd0"}') ?? 0) > 60_000);
    assert.equal(sample(text, `softraid_member_state{device="sd0",slot="1",member="${join(space.directory, 'b')}",state="Online"}`), 1);
    assert.equal(sample(text, 'sensor_status{sensor="softraid0.drive0",status="OK"}'), 1);
    assert.equal(sample(text, `softraid_member_io_errors{device="sd0",slot="0",member="${join(space.directory, 'a')}"}`), 0);
    assert.equal(sample(text, 'sensor_value{sensor="softraid0.drive0",device="softraid0",type="drive",unit="state",description="sd0"}'), 4);

    // I/O through NBD is counted and timed per volume.
    const io = spawnSync('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 0 1M', '-c', 'read -P 0xab 0 1M', '-c', 'flush', space.nbdUri('sd0')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(io.status, 0, `qemu-io: ${io.stdout}${io.stderr}`);
    const counted = await (await fetch(metricsUrl)).text();
    assert.ok((sample(counted, 'softraid_volume_io_bytes_total{device="sd0",operation="write"}') ?? 0) >= 1024 * 1024, 'write bytes');
    assert.ok((sample(counted, 'softraid_volume_io_bytes_total{device="sd0",operation="read"}') ?? 0) >= 1024 * 1024, 'read bytes');
    assert.ok((sample(counted, 'softraid_volume_io_operations_total{device="sd0",operation="flush"}') ?? 0) >= 1, 'flushes');
    assert.ok((sample(counted, 'softraid_volume_io_duration_seconds_count{device="sd0",operation="write"}') ?? 0) >= 1, 'write latency observed');
    assert.equal(sample(counted, 'softraid_volume_io_errors_total{device="sd0",operation="write"}') ?? 0, 0);

    // promtool's lint of the exposition.
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: counted, encoding: 'utf8' });
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
    // contrib's alert rules and dashboard: valid, and every metric they use exists.
    const contrib = join(import.meta.dirname, '..', '..', 'contrib');
    const rulesFile = join(contrib, 'prometheus', 'softraid-alerts.yml');
    const rules = spawnSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
    assert.equal(rules.status, 0, `promtool check rules:\n${rules.stdout}${rules.stderr}`);
    const dashboard = JSON.parse(readFileSync(join(contrib, 'grafana', 'softraid-dashboard.json'), 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>; templating: { list: Array<{ query?: string }> };
    };
    const expressions = [
      readFileSync(rulesFile, 'utf8'),
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...dashboard.templating.list.map((variable) => variable.query ?? ''),
    ];
    const exposed = new Set([...counted.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));
    const used = new Set(expressions.flatMap((expression) => [...expression.matchAll(/\b(node_md_[a-z_]+|softraid_[a-z_]+|sensor_[a-z_]+)\b/g)].map((match) => match[1]!)));
    assert.ok(used.size >= 10, `metrics used: ${[...used].join(', ')}`);
    for (const metric of used) assert.ok(exposed.has(metric), `contrib uses ${metric}, which /metrics does not serve`);
    assert.equal((await fetch(`http://${address}/nothing-here`)).status, 404);
    assert.equal((await fetch(metricsUrl, { method: 'POST' })).status, 405);

    // A real Prometheus scraping it every second.
    const promDirectory = join(space.directory, 'prometheus');
    mkdirSync(promDirectory);
    const promPort = await freePort();
    writeFileSync(join(promDirectory, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'scrape_configs:', '  - job_name: softraidd', '    static_configs:', `      - targets: ['${address}']`, '',
    ].join('\n'));
    prometheus = spawn('prometheus', [`--config.file=${join(promDirectory, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDirectory, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prometheus.stderr!.on('data', (bytes: Buffer) => { promLog += bytes.toString(); });
    const query = async (expression: string): Promise<number | undefined> => {
      const reply = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expression)}`);
      const body = await reply.json() as { status: string; data: { result: Array<{ value: [number, string] }> } };
      const first = body.data.result[0];
      return body.status === 'success' && first !== undefined ? Number(first.value[1]) : undefined;
    };
    await until(`Prometheus to scrape the volume\n${promLog}`, () => query('node_md_state{device="sd0",state="active"} == 1'));

    // Fail b, rebuild onto c at 4 MiB/s: Prometheus sees it recovering, part done, then active again.
    assert.equal(bioctl(space, ['-O', 'b', 'sd0']).status, 0);
    assert.equal(bioctl(space, ['-R', 'c', 'sd0']).status, 0);
    const ratio = await until('a rebuild in progress in Prometheus', async () => {
      const value = await query('softraid_volume_progress_ratio{device="sd0",operation="rebuild"}');
      const recovering = await query('node_md_state{device="sd0",state="recovering"} == 1');
      return value !== undefined && value > 0 && value < 1 && recovering === 1 ? value : undefined;
    });
    assert.ok(ratio > 0 && ratio < 1);
    assert.ok((await until('a rate', () => query('softraid_volume_progress_rate_bytes_per_second{device="sd0"} > 0'))) > 0);
    await until('the volume active again', () => query('node_md_state{device="sd0",state="active"} == 1 and on(device) node_md_disks{state="active"} == 2'), 60_000);
    assert.equal(await query('sensor_status{sensor="softraid0.drive0",status="OK"}'), 1);
  } finally {
    prometheus?.kill('SIGTERM');
    if (prometheus !== undefined) await new Promise((resolve) => prometheus!.once('exit', resolve));
    await daemon.stop();
  }
});
