// md's events in mdadm --monitor's names, from two successive inquiries of
// the md controller (mdadm --monitor compares /proc/mdstat snapshots the same
// way), so existing `mdadm --monitor --program` scripts keep working when
// softraidd watches md arrays. Pure: the watcher (watch.ts) polls.
import type { ControllerEvent, ControllerEventName, InquiryView, VolumeView } from '@openbsd38/bio/controller.js';

/** mdadm's RebuildNN steps (its default --increment of 20). */
const rebuildSteps: ReadonlyArray<[number, ControllerEventName]> = [[20, 'Rebuild20'], [40, 'Rebuild40'], [60, 'Rebuild60'], [80, 'Rebuild80']];

const isDegraded = (volume: VolumeView): boolean => Number(volume.extras?.degraded ?? 0) > 0 || volume.state === 'Degraded';

function volumeEvents(before: VolumeView | undefined, after: VolumeView): ControllerEvent[] {
  const device = after.deviceName;
  const events: ControllerEvent[] = [];
  const stateOf = (volume: VolumeView | undefined, name: string): string | undefined => volume?.chunks.find((chunk) => chunk.name === name)?.state;
  // A member that was Online (or Rebuild) and now is Failed, or gone (failed and removed between two looks), failed.
  for (const chunk of before?.chunks ?? []) {
    if (chunk.name === '') continue;
    const now = stateOf(after, chunk.name);
    if ((chunk.state === 'Online' || chunk.state === 'Rebuild') && (now === undefined || now === 'Failed')) events.push({ name: 'Fail', device, member: chunk.name });
    if (chunk.state === 'Hot spare' && now === 'Failed') events.push({ name: 'FailSpare', device, member: chunk.name });
  }
  if (isDegraded(after) && (before === undefined || !isDegraded(before))) events.push({ name: 'DegradedArray', device });
  const rebuilding = after.state === 'Rebuild';
  const wasRebuilding = before?.state === 'Rebuild';
  if (rebuilding && !wasRebuilding) events.push({ name: 'RebuildStarted', device });
  if (rebuilding) {
    const percent = after.progress?.percent ?? 0;
    const previous = wasRebuilding ? before.progress?.percent ?? 0 : 0;
    for (const [step, name] of rebuildSteps) if (percent >= step && previous < step) events.push({ name, device });
  }
  if (wasRebuilding && !rebuilding) events.push({ name: 'RebuildFinished', device });
  // A member active now that was a spare or being rebuilt onto, or not there at all (the whole rebuild
  // fell between two looks). Not an array starting (mdadm --create, --assemble): its members were never spares.
  // (After a look that could not read the array, mdEvents passes no `before`: what its members were is not known.)
  if (before !== undefined && before.state !== 'Offline') {
    for (const chunk of after.chunks) {
      const was = stateOf(before, chunk.name);
      if (chunk.state === 'Online' && chunk.name !== '' && (was === undefined || was === 'Rebuild' || was === 'Hot spare')) {
        events.push({ name: 'SpareActive', device, member: chunk.name });
      }
    }
  }
  if (after.state === 'Scrubbing' && before?.state !== 'Scrubbing') events.push({ name: 'ScrubStarted', device });
  if (before?.state === 'Scrubbing' && after.state !== 'Scrubbing') events.push({ name: 'ScrubFinished', device });
  return events;
}

/**
 * The events between two inquiries; `before` null for the first look, which
 * (as mdadm --monitor at start) reports only arrays found degraded. An array
 * read as Invalid (an attribute did not read as md.rst documents it: md
 * changing it under the read, as while mdadm builds an array) tells nothing
 * of what changed: it has no events, and the next look is compared with the
 * last view that could be read (eventBaseline).
 */
export function mdEvents(before: InquiryView | null, after: InquiryView): ControllerEvent[] {
  const events: ControllerEvent[] = [];
  const previous = new Map((before?.volumes ?? []).map((volume) => [volume.deviceName, volume]));
  for (const volume of after.volumes) {
    const was = previous.get(volume.deviceName);
    if (before !== null && was === undefined) events.push({ name: 'NewArray', device: volume.deviceName });
    if (volume.state === 'Invalid') continue;
    if (before === null) {
      if (isDegraded(volume)) events.push({ name: 'DegradedArray', device: volume.deviceName });
      continue;
    }
    events.push(...volumeEvents(was?.state === 'Invalid' ? undefined : was, volume));
  }
  const present = new Set(after.volumes.map((volume) => volume.deviceName));
  for (const volume of before?.volumes ?? []) if (!present.has(volume.deviceName)) events.push({ name: 'DeviceDisappeared', device: volume.deviceName });
  return events;
}

/**
 * What the next look is compared with: this look, except that an array read
 * as Invalid keeps the last view of it that could be read, so that a
 * transient misread repeats no DegradedArray or RebuildStarted and loses no
 * RebuildFinished or Fail.
 */
export function eventBaseline(before: InquiryView | null, after: InquiryView): InquiryView {
  if (before === null || after.volumes.every((volume) => volume.state !== 'Invalid')) return after;
  const previous = new Map(before.volumes.map((volume) => [volume.deviceName, volume]));
  return {
    ...after,
    volumes: after.volumes.map((volume) => (volume.state === 'Invalid' ? previous.get(volume.deviceName) ?? volume : volume)),
  };
}

/** Looks in a row an array must be read as Invalid before the watch says so (one may catch md mid-change). */
export const unreadableLooksBeforeNotice = 2;

/**
 * The watch's words about arrays it cannot read: said once an array has been
 * Invalid for unreadableLooksBeforeNotice looks in a row (its events wait
 * meanwhile), and once it can be read again. `invalidLooks` is the watch's
 * count per array, updated here.
 */
export function unreadableNotices(invalidLooks: Map<string, number>, after: InquiryView): string[] {
  const notices: string[] = [];
  const present = new Set<string>();
  for (const volume of after.volumes) {
    present.add(volume.deviceName);
    const looks = invalidLooks.get(volume.deviceName) ?? 0;
    if (volume.state === 'Invalid') {
      invalidLooks.set(volume.deviceName, looks + 1);
      if (looks + 1 === unreadableLooksBeforeNotice) {
        notices.push(`md: ${volume.deviceName} cannot be read: ${volume.problem ?? 'no reason given'}; its events wait until it can`);
      }
    } else {
      invalidLooks.delete(volume.deviceName);
      if (looks >= unreadableLooksBeforeNotice) notices.push(`md: ${volume.deviceName} can be read again`);
    }
  }
  for (const deviceName of [...invalidLooks.keys()]) if (!present.has(deviceName)) invalidLooks.delete(deviceName);
  return notices;
}
