// softraidd assembled from its parts: remembered volumes scanned back in,
// the NBD server over the controller's volumes, the control socket, events
// and their PROGRAM, reload and an orderly shutdown. Platform pieces (the
// controller, the NBD server) are injected so tests can run it in-process.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Controller, InquiryView } from '@openbsd38/bio/controller.js';
import type { ExportRegistry } from '../nbd/export-registry.js';
import { levelTable } from '@openbsd38/bio/levels.js';
import { ControlServer } from '@openbsd38/bio/server/control-server.js';
import { RequestHandler } from '@openbsd38/bio/server/handler.js';
import { EventDispatcher } from './events.js';
import { StateFile, chunkNamesToScan, rememberedFromInquiry, type RememberedVolumes } from './state-file.js';
import { prepareSocketPath } from '@openbsd38/bio/server/socket-guard.js';
import { lockStateDirectory } from './state-lock.js';
import { expandChunkNames } from '../chunk/glob.js';
import { loadReloadable, type DaemonConfig, type ReloadableSettings } from './config.js';
import { createMetricsRegistry } from './http/metrics.js';
import { VolumeIoMetrics } from './http/io-metrics.js';
import { IoHistory } from './http/io-history.js';
import { EventLog } from './http/event-log.js';
import { statusDocument } from './http/status-document.js';
import { StatusStream } from './http/status-stream.js';
import { loadPageAssets } from './http/page-assets.js';
import { listenHttp } from './http/listener.js';
import { machineSensors } from '@openbsd38/sensors/hwmon.js';
import { startMdBridge, type WatchedController } from './md-bridge.js';

export interface NbdServerHandle {
  /** Clients in transmission on an export. */
  clientsOf(exportName: string): number;
  listenUnix(path: string): Promise<void>;
  listenTcp(options: { host?: string; port: number }): Promise<number>;
  close(): Promise<void>;
}

export interface DaemonDependencies {
  controller: Controller;
  /** Linux md, when the machine has it: its events and softraid0's pool serve md arrays too (md-bridge.ts). */
  md?: WatchedController;
  createNbdServer(exports: ExportRegistry): NbdServerHandle;
  log(line: string): void;
}

export interface RunningDaemon {
  /** Where NBD clients connect: a socket path, or host:port with the port chosen. */
  readonly nbdAddress: string;
  /** Where the status page and /metrics are served (host:port, the port chosen), or null. */
  readonly httpAddress: string | null;
  /** SIGHUP: re-read the configuration file; flags still win. */
  reload(): void;
  /** SIGTERM/SIGINT: stop accepting, flush and mark metadata clean, close. */
  close(): Promise<void>;
}

function exportRegistry(controller: Controller, ioMetrics: VolumeIoMetrics | null): ExportRegistry {
  return {
    list: () => controller.inquire().volumes.map((volume) => ({
      name: volume.deviceName,
      description: `${controller.controllerName} ${levelTable[volume.level].displayName} volume ${volume.uuid}`,
    })),
    get: (name) => {
      const device = controller.blockDevice(name);
      return device === undefined || ioMetrics === null ? device : ioMetrics.instrument(name, device);
    },
  };
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDependencies): Promise<RunningDaemon> {
  const { controller, log } = deps;
  await prepareSocketPath(config.controlSocketPath);

  // Events are logged from the start (scan's NewArray too); the state file is written once loaded.
  const events = new EventDispatcher(log, config.program);
  const eventLog = new EventLog();
  const startedAtMs = Date.now();
  let ready = false;
  /** The status page's live stream, once it exists: told of every change. */
  let statusStream: StatusStream | null = null;
  const unsubscribeEvents = controller.onEvent((event) => {
    events.dispatch(event);
    eventLog.record(controller.controllerName, event);
    statusStream?.poke();
    if (ready) saveState();
  });
  const unsubscribeVolumes = controller.onVolumesChanged(() => {
    statusStream?.poke();
    if (ready) saveState();
  });

  // 1. Assemble what was running last time (the metadata decides what is what),
  //    in a state directory no other softraidd holds.
  const stateFile = new StateFile(config.stateDirectory);
  const releaseStateDirectory = lockStateDirectory(config.stateDirectory);
  let remembered: RememberedVolumes | undefined;
  try {
    remembered = stateFile.read();
  } catch (error) {
    releaseStateDirectory();
    throw error;
  }
  let unassembled: RememberedVolumes['volumes'] = [];
  // ... and whatever the --scan patterns find now (members moved, a new shelf of disks).
  const scanned = await expandChunkNames(config.scanPatterns);
  // Names kept for volumes that are not assembled at start: no volume assembled or created meanwhile takes them.
  if (remembered !== undefined) {
    controller.keepDeviceNames([...(remembered.kept_device_names ?? []), ...remembered.volumes.map(({ device, uuid }) => ({ device, uuid }))]);
  }
  const names = [...new Set([...(remembered === undefined ? [] : chunkNamesToScan(remembered)), ...scanned])];
  if (names.length > 0) {
    const reply = await controller.scan(names);
    for (const message of reply.messages) log(`${controller.controllerName}: ${message.text}`);
  }
  if (remembered !== undefined) {
    const assembled = new Set(controller.inquire().volumes.map((volume) => volume.uuid));
    // Volumes that did not come back (a member missing) stay remembered for the next start.
    unassembled = remembered.volumes.filter((volume) => !assembled.has(volume.uuid));
    for (const volume of unassembled) log(`volume ${volume.device} (${volume.uuid}) not assembled; still remembered`);
  }
  // Remembered spares that did not come back (missing, or unreadable now) stay remembered too.
  const sparesNow = new Set(controller.inquire().hotSpares.map((spare) => spare.name));
  let sparesMissing = (remembered?.hot_spares ?? []).filter((name) => !sparesNow.has(name));
  for (const name of sparesMissing) log(`hot spare ${name} not found; still remembered`);
  const saveState = (): void => {
    const current = rememberedFromInquiry(controller.inquire() satisfies InquiryView);
    const inUse = new Set([...current.hot_spares, ...current.volumes.flatMap((volume) => volume.chunks)]);
    sparesMissing = sparesMissing.filter((name) => !inUse.has(name));
    current.hot_spares = [...current.hot_spares, ...sparesMissing];
    const present = new Set(current.volumes.map((volume) => volume.uuid));
    unassembled = unassembled.filter((volume) => !present.has(volume.uuid));
    const volumes = [...current.volumes, ...unassembled];
    const listed = new Set(volumes.map((volume) => volume.uuid));
    const kept = controller.keptDeviceNames().filter((name) => !listed.has(name.uuid));
    stateFile.write({ ...current, volumes, kept_device_names: kept });
  };

  // 2. Settings that SIGHUP reloads.
  let settings: ReloadableSettings = config;
  const applySettings = (next: ReloadableSettings): void => {
    settings = next;
    controller.setRebuildRateLimits({ rateBytesPerSecondMin: next.rebuildRateBytesPerSecondMin, rateBytesPerSecondMax: next.rebuildRateBytesPerSecondMax });
    events.setProgram(next.program);
  };
  applySettings(config);
  ready = true;
  const mdBridge = deps.md === undefined ? undefined
    : startMdBridge({
      softraid: controller, md: deps.md, log, afterChange: saveState,
      dispatch: (event) => {
        events.dispatch(event);
        eventLog.record(deps.md!.controllerName, event);
        statusStream?.poke();
      },
    });

  // 3. Serve the volumes over NBD, then open the control socket.
  // The metrics, when an HTTP address is set: what NBD clients do to each volume is counted too.
  const metrics = config.http === null ? null : createMetricsRegistry({ controller, sysfsRoot: config.sysfsRoot });
  const ioMetrics = metrics === null ? null : new VolumeIoMetrics();
  const nbd = deps.createNbdServer(exportRegistry(controller, ioMetrics));
  let nbdAddress: string;
  if (config.nbd.kind === 'unix') {
    mkdirSync(dirname(config.nbd.path), { recursive: true, mode: 0o700 });
    await nbd.listenUnix(config.nbd.path);
    nbdAddress = config.nbd.path;
  } else {
    const port = await nbd.listenTcp({ host: config.nbd.host, port: config.nbd.port });
    nbdAddress = `${config.nbd.host}:${port}`;
  }
  // 4. The status page and /metrics, when an HTTP address is set.
  let http: Server | null = null;
  let httpAddress: string | null = null;
  const ioHistory = ioMetrics === null ? null : new IoHistory(() => ioMetrics.totals());
  if (config.http !== null && metrics !== null) {
    try {
      const status = async (): Promise<string> => JSON.stringify(await statusDocument({
        controllers: () => (deps.md === undefined ? [controller] : [controller, deps.md]), ioHistory, eventLog, hostname: hostname(), startedAtMs,
        machineSensors: () => machineSensors(config.sysfsRoot),
      }));
      statusStream = new StatusStream(status, log);
      ({ server: http, address: httpAddress } = await listenHttp(config.http.host, config.http.port, {
        metrics, extraMetrics: () => ioMetrics?.exposition() ?? '', statusJson: status, stream: statusStream,
        assets: loadPageAssets(), credentials: config.httpCredentials,
      }));
      ioHistory?.start();
    } catch (error) {
      statusStream = null;
      await nbd.close();
      releaseStateDirectory();
      throw error;
    }
  }
  const handler = new RequestHandler(controller, { afterChange: saveState, clientsOf: (device) => nbd.clientsOf(device), log });
  const control = new ControlServer(handler, controller.controllerName, log, { requestTimeoutMs: config.controlRequestTimeoutMs, nbdAddress });
  await control.listen(config.controlSocketPath);
  saveState();
  log(`ready: control ${config.controlSocketPath}, NBD ${nbdAddress}, ${httpAddress === null ? 'no HTTP' : `HTTP ${httpAddress}`}, state ${stateFile.path}`);

  let closing: Promise<void> | undefined;
  return {
    nbdAddress,
    httpAddress,
    reload(): void {
      try {
        applySettings(loadReloadable(config.configFile, false, config.flagOverrides));
        log(`configuration reloaded: program ${settings.program ?? '(none)'}, rebuild rate ${settings.rebuildRateBytesPerSecondMin}..${settings.rebuildRateBytesPerSecondMax} bytes/s`);
      } catch (error) {
        log(`configuration not reloaded: ${(error as Error).message}`);
      }
    },
    close(): Promise<void> {
      closing ??= (async () => {
        await control.close();
        mdBridge?.stop();
        ioHistory?.stop();
        statusStream?.close();
        if (http !== null) await new Promise<void>((resolve) => { http!.closeAllConnections(); http!.close(() => resolve()); });
        await nbd.close();
        unsubscribeEvents();
        unsubscribeVolumes();
        saveState();
        await controller.shutdown();
        await events.idle();
        releaseStateDirectory();
        log('stopped');
      })();
      return closing;
    },
  };
}
