// Every bio controller's volumes as drive sensors, as softraid(4) exports
// them (sr_sensors_refresh): device = the controller (softraid0), one drive
// sensor per volume in volume order, described by the volume's device name.
//
//   volume Offline -> failed, CRITICAL     Degraded -> degraded, WARNING
//   Rebuild        -> rebuilding, WARNING  Online, Scrubbing -> online, OK
//   anything else  -> value 0 ("unknown"), UNKNOWN
//
// An addition to OpenBSD: each volume's member disks as drive sensors of
// their own, on a device named after the volume (sd0.drive1 is sd0's
// chunk 1), described by the member's path.
import type { ChunkView, InquiryView, VolumeView } from '@openbsd38/bio/controller.js';
import { driveState, type Sensor, type SensorStatus } from './sensor.js';

function volumeDrive(state: VolumeView['state']): { value: number; status: SensorStatus } {
  switch (state) {
    case 'Offline': return { value: driveState.fail, status: 'critical' };
    case 'Degraded': return { value: driveState.pfail, status: 'warning' };
    case 'Rebuild': return { value: driveState.rebuild, status: 'warning' };
    case 'Online':
    case 'Scrubbing': return { value: driveState.online, status: 'ok' };
    default: return { value: 0, status: 'unknown' };
  }
}

function memberDrive(state: ChunkView['state']): { value: number; status: SensorStatus } {
  switch (state) {
    case 'Online':
    case 'Scrubbing': return { value: driveState.online, status: 'ok' };
    case 'Rebuild': return { value: driveState.rebuild, status: 'warning' };
    case 'Offline':
    case 'Failed': return { value: driveState.fail, status: 'critical' };
    case 'Hot spare': return { value: driveState.ready, status: 'ok' };
    default: return { value: 0, status: 'unknown' };
  }
}

export function bioSensors(inquiry: InquiryView): Sensor[] {
  const sensors: Sensor[] = [];
  for (const [index, volume] of inquiry.volumes.entries()) {
    sensors.push({ device: inquiry.controllerName, type: 'drive', index, description: volume.deviceName, ...volumeDrive(volume.state) });
  }
  for (const volume of inquiry.volumes) {
    for (const chunk of volume.chunks) {
      sensors.push({
        device: volume.deviceName, type: 'drive', index: chunk.chunkIndex,
        description: chunk.name === '' ? 'missing' : chunk.name, ...memberDrive(chunk.state),
      });
    }
  }
  return sensors;
}
