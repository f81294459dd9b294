// softraidd and Linux md: the md arrays' events go to softraidd's log and
// PROGRAM with mdadm's names (so `mdadm --monitor --program` scripts keep
// working), and softraid0's global hot-spare pool serves md arrays too: a
// degraded md array with no spare of its own (none waiting, none being
// rebuilt onto) takes the first pool spare that is a block device at least
// as large as its members. One pool across controllers — mdadm's spare-group
// only moves spares between md arrays. A spare whose move fails goes back to
// the pool.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller, ControllerEvent } from '@openbsd38/bio/controller.js';
import { MdController } from '@openbsd38/md/controller.js';
import { scrubScheduleFileName } from '@openbsd38/md/scrub-schedule.js';

/** The md controller as softraidd uses it: bio's Controller that can also watch. */
export type WatchedController = Controller & {
  startWatching(intervalMs?: number): () => void; pollNow(): void; runDueScrubs(): string[]; onWatchNotice(listener: (line: string) => void): () => void;
};

/** The md controller when this machine (or the sysfs tree given) has the md driver; undefined otherwise. */
export function mdControllerIfPresent(sysfsRoot: string, env: Readonly<Record<string, string | undefined>>, stateDirectory: string): WatchedController | undefined {
  if (!existsSync(join(sysfsRoot, 'module', 'md_mod')) && !existsSync(join(sysfsRoot, 'block', 'md0'))) return undefined;
  // bioctl -t auto on md writes the schedule here; softraidd carries it out (runDueScrubs).
  return new MdController({ sysfsRoot, mdadm: env.SOFTRAID_MDADM, scheduleFile: join(stateDirectory, scrubScheduleFileName) });
}

export interface MdBridgeOptions {
  softraid: Controller;
  md: WatchedController;
  /** softraidd's event dispatcher: a log line, and PROGRAM. */
  dispatch(event: ControllerEvent): void;
  log(line: string): void;
  /** After the pool changed (softraidd's state file). */
  afterChange(): void;
  watchIntervalMs?: number;
}

function isBlockDevice(name: string): boolean {
  try {
    return statSync(name).isBlockDevice();
  } catch {
    return false;
  }
}

export function startMdBridge(options: MdBridgeOptions): { stop(): void } {
  const { softraid, md, log } = options;
  let feeding: Promise<void> = Promise.resolve();
  let stopped = false;

  async function feed(device: string): Promise<void> {
    const volume = md.inquire().volumes.find((candidate) => candidate.deviceName === device);
    if (stopped || volume === undefined || volume.state !== 'Degraded') return;
    if (volume.chunks.some((chunk) => chunk.state === 'Hot spare' || chunk.state === 'Rebuild')) return; // md's own spare serves it
    const neededBytes = Number(volume.extras?.component_size_bytes ?? 0);
    const spare = softraid.inquire().hotSpares.find((candidate) => candidate.sizeBytes >= neededBytes && isBlockDevice(candidate.name));
    if (spare === undefined) {
      log(`${device} is degraded and has no spare; ${softraid.controllerName}'s pool has none that fits (a block device of ${neededBytes} bytes or more)`);
      return;
    }
    const taken = await softraid.removeHotSpare(spare.name);
    if (!taken.ok) {
      log(`hot spare ${spare.name} not moved to ${device}: ${taken.messages.map((message) => message.text).join('; ')}`);
      return;
    }
    const added = await md.rebuild(device, spare.name);
    if (!added.ok) {
      log(`hot spare ${spare.name} not moved to ${device}: ${added.messages.map((message) => message.text).join('; ')}`);
      const back = await softraid.addHotSpare(spare.name);
      log(back.ok ? `hot spare ${spare.name} returned to ${softraid.controllerName}'s pool` : `hot spare ${spare.name} lost from the pool: ${back.messages.map((message) => message.text).join('; ')}`);
      options.afterChange();
      return;
    }
    log(`hot spare ${spare.name} moved from ${softraid.controllerName}'s pool to ${device}, which rebuilds onto it`);
    options.dispatch({ name: 'MoveSpare', device, member: spare.name });
    options.afterChange();
    md.pollNow(); // so the rebuild's start is seen, however short it is
  }

  const unsubscribe = md.onEvent((event) => {
    options.dispatch(event);
    if (event.name === 'DegradedArray' || event.name === 'Fail') {
      feeding = feeding.then(() => feed(event.device)).catch((error: unknown) => log(`md spare for ${event.device}: ${(error as Error).message}`));
    }
  });
  const unsubscribeNotices = md.onWatchNotice(log);
  const stopWatching = md.startWatching(options.watchIntervalMs);
  // md's scrub schedule (bioctl -t auto.N md), looked at as often as md is.
  const scheduleTimer = setInterval(() => {
    for (const line of md.runDueScrubs()) log(line);
  }, options.watchIntervalMs ?? 2000);
  scheduleTimer.unref();
  return {
    stop(): void {
      stopped = true;
      clearInterval(scheduleTimer);
      stopWatching();
      unsubscribe();
      unsubscribeNotices();
    },
  };
}
