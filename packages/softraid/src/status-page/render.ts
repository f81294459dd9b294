// The status document drawn as the page: a summary line, each controller's
// volumes (state, progress, member map, I/O graphs, what to run next), the
// hot spares, the event log and the sensors. A volume whose document has not
// changed keeps its elements (and a selection in its commands).
import { h } from './dom.js';
import { bytes, clock, dateAndClock, duration, milliseconds, rate } from './format.js';
import { ioGraphs } from './graph.js';
import type { CommandHint, ControllerStatus, EventStatus, MemberStatus, SensorStatusLine, StatusDocument, VolumeStatus } from './status-types.js';

/** The graphs span up to this many samples (five minutes at softraidd's 2 s interval), at least a minute's. */
const graphSlotsMax = 150;
const graphSlotsMin = 30;

/** States that mean a disk or a volume needs a person. */
const badMemberStates = new Set(['Offline', 'Failed', 'Invalid']);
const volumeTone: Record<string, string> = {
  Online: 'good', Degraded: 'warn', Rebuild: 'busy', Building: 'busy', Scrubbing: 'busy', Offline: 'bad',
};
const memberTone: Record<string, string> = {
  Online: 'good', Scrubbing: 'good', Rebuild: 'busy', 'Hot spare': 'spare', Unused: 'idle', Offline: 'bad', Failed: 'bad', Invalid: 'bad',
};
const badEvents = new Set(['Fail', 'FailSpare', 'DegradedArray', 'DeviceDisappeared', 'SparesMissing']);
const goodEvents = new Set(['SpareActive', 'RebuildFinished', 'NewArray']);

function badge(state: string, tone: string | undefined): HTMLElement {
  return h('span', { class: `badge tone-${tone ?? 'unknown'}`, 'data-state': state }, state);
}

function commands(hints: CommandHint[]): HTMLElement | null {
  if (hints.length === 0) return null;
  return h('details', { class: 'commands' },
    h('summary', {}, 'What to run (bioctl)'),
    h('ul', {}, ...hints.map((hint) => h('li', {}, h('span', { class: 'command-label' }, hint.label), h('code', {}, hint.command)))));
}

function progressBar(volume: VolumeStatus): HTMLElement | null {
  const progress = volume.progress;
  if (progress === null) return null;
  const percent = Math.max(0, Math.min(100, progress.percent));
  const name = { rebuild: 'Rebuild', scrub: progress.repair === true ? 'Repair' : 'Scrub', resync: 'Resync', reshape: 'Reshape' }[progress.operation];
  const details = [
    progress.waiting === undefined ? `${Math.floor(percent)}% done` : `waiting (${progress.waiting === 'delayed' ? 'another array syncs first' : 'until the first write'})`,
    progress.rate_bytes_per_second > 0 ? rate(progress.rate_bytes_per_second) : null,
    progress.eta_seconds === null ? null : `${duration(progress.eta_seconds)} left`,
    progress.operation === 'scrub' ? `${progress.mismatch_sectors ?? 0} mismatched sectors` : null,
  ].filter((part): part is string => part !== null);
  // Through the CSSOM: the page's policy allows no style attributes.
  const fill = h('div', { class: 'progress-fill' });
  fill.style.width = `${percent.toFixed(2)}%`;
  return h('div', { class: 'progress', 'data-operation': progress.operation, 'data-percent': percent.toFixed(2) },
    h('div', { class: 'progress-label' }, h('strong', {}, name), ` ${details.join(' · ')}`),
    h('div', { class: 'progress-track', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.floor(percent), 'aria-label': `${name} of ${volume.name}` },
      fill));
}

function member(volume: VolumeStatus, disk: MemberStatus): HTMLElement {
  const bad = badMemberStates.has(disk.state);
  const missing = disk.name === '';
  const errors = disk.io_errors ?? 0;
  return h('li', {
    class: `member tone-${memberTone[disk.state] ?? 'unknown'}${bad ? ' member-bad' : ''}${missing ? ' member-missing' : ''}`,
    'data-member-slot': disk.slot, 'data-state': disk.state, 'data-volume': volume.name,
  },
  h('div', { class: 'member-head' }, h('span', { class: 'slot' }, `slot ${disk.slot}`), badge(disk.state, memberTone[disk.state])),
  h('div', { class: 'member-name' }, missing ? 'missing disk' : disk.name),
  h('div', { class: 'member-detail' }, missing ? '' : bytes(disk.size_bytes), errors > 0 ? h('span', { class: 'io-errors' }, ` · ${errors} I/O error${errors === 1 ? '' : 's'}`) : null,
    disk.flags.length > 0 ? ` · ${disk.flags.join(', ').replace(/_/g, '-')}` : null),
  bad ? h('div', { class: 'member-alarm' }, missing ? 'NO DISK' : 'FAILED — replace this disk') : null);
}

function lastScrub(volume: VolumeStatus): HTMLElement | null {
  const scrub = volume.last_scrub;
  if (scrub === null) return null;
  const found = scrub.mismatch_sectors === 0 ? 'no mismatches' : `${scrub.mismatch_sectors} mismatched sectors${scrub.mode === 'repair' ? `, ${scrub.repaired_sectors} repaired` : ''}`;
  const lost = scrub.unreadable_bytes > 0 ? `, ${bytes(scrub.unreadable_bytes)} unreadable` : '';
  return h('p', { class: 'last-scrub' }, `Last ${scrub.mode}: ${scrub.status} ${dateAndClock(scrub.started_at)} after ${duration(scrub.duration_seconds)}: ${found}${lost}`);
}

function volumeCard(volume: VolumeStatus): HTMLElement {
  const samples = volume.io?.samples ?? [];
  const slots = Math.max(graphSlotsMin, Math.min(graphSlotsMax, samples.length));
  return h('article', { class: `volume tone-${volumeTone[volume.state] ?? 'unknown'}`, 'data-volume': volume.name, 'data-state': volume.state },
    h('header', { class: 'volume-head' },
      h('h3', {}, volume.name),
      h('span', { class: 'volume-level' }, `${volume.level_name} · ${bytes(volume.size_bytes)}`),
      badge(volume.state, volumeTone[volume.state])),
    volume.problem === null ? null : h('p', { class: 'volume-problem' }, `State unknown: ${volume.problem}`),
    progressBar(volume),
    h('ul', { class: 'members', 'aria-label': `disks of ${volume.name}` }, ...volume.members.map((disk) => member(volume, disk))),
    volume.io === null ? null : h('div', { class: 'graphs' }, ...(samples.length === 0
      ? [h('p', { class: 'quiet' }, 'No I/O yet: graphs start with the first NBD client.')]
      : ioGraphs(samples.slice(-graphSlotsMax), slots, `${Math.max(1, Math.round((slots * volume.io.interval_seconds) / 60))} min`, rate, milliseconds))),
    lastScrub(volume),
    commands(volume.commands),
    h('p', { class: 'uuid' }, volume.uuid));
}

/** Kept between renders: a volume's card is rebuilt only when its part of the document changes. */
const cards = new Map<string, { json: string; element: HTMLElement }>();

function volumeCardCached(controller: string, volume: VolumeStatus): HTMLElement {
  const key = `${controller}/${volume.name}`;
  const json = JSON.stringify(volume);
  const cached = cards.get(key);
  if (cached !== undefined && cached.json === json) return cached.element;
  const element = volumeCard(volume);
  cards.set(key, { json, element });
  return element;
}

function controllerSection(controller: ControllerStatus): HTMLElement {
  return h('section', { class: 'controller', 'data-controller': controller.name },
    h('h2', {}, controller.name),
    controller.volumes.length === 0 ? h('p', { class: 'quiet' }, `No volumes. Create one: bioctl -c 1 -l DISK,DISK ${controller.name}`) : null,
    h('div', { class: 'volumes' }, ...controller.volumes.map((volume) => volumeCardCached(controller.name, volume))),
    h('div', { class: 'spares', 'data-spares': controller.hot_spares.length },
      h('h3', {}, 'Hot spares'),
      controller.hot_spares.length === 0
        ? h('p', { class: 'quiet' }, controller.spare_pool
          ? 'None: a failed disk waits for a person.'
          : 'Spares are kept with each array, above; softraidd\'s pool also serves these arrays.')
        : h('ul', {}, ...controller.hot_spares.map((spare) => h('li', { class: 'spare', 'data-spare': spare.name }, badge('Hot spare', 'spare'), ` ${spare.name} · ${bytes(spare.size_bytes)}`)))),
    commands(controller.commands));
}

function eventRow(event: EventStatus): HTMLElement {
  const tone = badEvents.has(event.name) ? 'bad' : goodEvents.has(event.name) ? 'good' : 'neutral';
  return h('tr', { class: `event tone-${tone}`, 'data-event': event.name },
    h('td', {}, clock(event.at)), h('td', {}, event.name), h('td', {}, event.device), h('td', { class: 'event-member' }, event.member ?? ''));
}

function sensorRow(sensor: SensorStatusLine): HTMLElement {
  const tone = { ok: 'good', warning: 'warn', critical: 'bad', unknown: 'unknown', unspec: 'neutral' }[sensor.status];
  return h('tr', { class: `sensor tone-${tone}`, 'data-sensor': sensor.name },
    h('td', {}, sensor.name), h('td', {}, sensor.value), h('td', { class: 'sensor-description' }, sensor.description),
    h('td', {}, sensor.status === 'unspec' ? '' : sensor.status.toUpperCase()));
}

function summary(document: StatusDocument): HTMLElement {
  const volumes = document.controllers.flatMap((controller) => controller.volumes);
  const needy = volumes.filter((volume) => volume.state !== 'Online');
  const badDisks = volumes.flatMap((volume) => volume.members).filter((disk) => badMemberStates.has(disk.state));
  const spares = document.controllers.reduce((sum, controller) => sum + controller.hot_spares.length, 0);
  const tone = volumes.some((volume) => volume.state === 'Offline') || badDisks.length > 0 ? 'bad' : needy.length > 0 ? 'warn' : 'good';
  return h('p', { class: `summary tone-${tone}`, 'data-summary': tone },
    `${volumes.length} volume${volumes.length === 1 ? '' : 's'}`,
    needy.length > 0 ? `, ${needy.length} not online` : ', all online',
    badDisks.length > 0 ? `, ${badDisks.length} failed disk${badDisks.length === 1 ? '' : 's'}` : '',
    `, ${spares} hot spare${spares === 1 ? '' : 's'}`);
}

export function render(root: HTMLElement, document: StatusDocument): void {
  const live = new Set(document.controllers.flatMap((controller) => controller.volumes.map((volume) => `${controller.name}/${volume.name}`)));
  for (const key of cards.keys()) if (!live.has(key)) cards.delete(key);
  root.replaceChildren(
    summary(document),
    ...document.controllers.map(controllerSection),
    h('section', { class: 'events' },
      h('h2', {}, 'Events'),
      document.events.length === 0 ? h('p', { class: 'quiet' }, 'None since softraidd started.') : h('div', { class: 'table-scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Event'), h('th', {}, 'Device'), h('th', {}, 'Member'))),
        h('tbody', {}, ...document.events.map(eventRow))))),
    h('section', { class: 'sensors' },
      h('h2', {}, 'Sensors'),
      document.sensors_problem === null ? null : h('p', { class: 'quiet' }, `The machine's sensors could not be read: ${document.sensors_problem}`),
      document.sensors.length === 0 ? h('p', { class: 'quiet' }, 'None.') : h('div', { class: 'table-scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Sensor'), h('th', {}, 'Value'), h('th', {}, 'Description'), h('th', {}, 'Status'))),
        h('tbody', {}, ...document.sensors.map(sensorRow))))));
}
