// hwmon and thermal trees built by hand from the kernel's sysfs ABI
// (Documentation/hwmon/sysfs-interface.rst, Documentation/driver-api/thermal).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deviceNameFor, hwmonSensors, thermalSensors } from './hwmon.js';
import { sysctlListing } from './format.js';

const roots: string[] = [];
after(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });

function tree(files: Record<string, string | null>): string {
  const root = mkdtempSync(join(tmpdir(), 'sysfs-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(content === null ? full : dirname(full), { recursive: true });
    // null: a directory where a file should be — reading it fails (EISDIR), as a flaky attribute fails with EIO.
    if (content !== null) writeFileSync(full, `${content}\n`);
  }
  return root;
}

test('a chip with labels, limits and alarms: OpenBSD units, descriptions, statuses', async () => {
  const root = tree({
    'class/hwmon/hwmon0/name': 'nct6798',
    'class/hwmon/hwmon0/temp1_input': '45000',
    'class/hwmon/hwmon0/temp1_label': 'SYSTIN',
    'class/hwmon/hwmon0/temp1_max': '80000',
    'class/hwmon/hwmon0/temp1_crit': '100000',
    'class/hwmon/hwmon0/temp2_input': '101500',
    'class/hwmon/hwmon0/temp2_label': 'CPUTIN',
    'class/hwmon/hwmon0/temp2_crit': '100000',
    'class/hwmon/hwmon0/in0_input': '1024',
    'class/hwmon/hwmon0/in0_min': '900',
    'class/hwmon/hwmon0/in0_max': '1100',
    'class/hwmon/hwmon0/in1_input': '3312',
    'class/hwmon/hwmon0/in1_alarm': '1',
    'class/hwmon/hwmon0/fan2_input': '1250',
    'class/hwmon/hwmon0/fan2_min': '1300',
    'class/hwmon/hwmon0/fan3_input': '0',
    'class/hwmon/hwmon0/power1_input': '12500000',
    'class/hwmon/hwmon0/curr1_input': '1500',
    'class/hwmon/hwmon0/humidity1_input': '45500',
    'class/hwmon/hwmon0/intrusion0_alarm': '1',
    'class/hwmon/hwmon1/name': 'coretemp',
    'class/hwmon/hwmon1/temp1_input': '38000',
    'class/hwmon/hwmon1/temp1_crit_alarm': '0',
  });
  const sensors = await hwmonSensors(root);
  assert.equal(sysctlListing(sensors), [
    'hw.sensors.nct6798_0.temp0=45.00 degC (SYSTIN), OK',
    'hw.sensors.nct6798_0.temp1=101.50 degC (CPUTIN), CRITICAL',
    'hw.sensors.nct6798_0.fan0=1250 RPM, WARNING',
    'hw.sensors.nct6798_0.fan1=0 RPM',
    'hw.sensors.nct6798_0.volt0=1.02 VDC, OK',
    'hw.sensors.nct6798_0.volt1=3.31 VDC, WARNING',
    'hw.sensors.nct6798_0.power0=12.50 W',
    'hw.sensors.nct6798_0.current0=1.50 A',
    'hw.sensors.nct6798_0.humidity0=45.50%',
    'hw.sensors.nct6798_0.indicator0=On (intrusion), CRITICAL',
    'hw.sensors.coretemp0.temp0=38.00 degC, OK',
    '',
  ].join('\n'));
  const systin = sensors[0]!;
  assert.deepEqual(systin.limits, { high: 273_150_000 + 80_000_000, critical: 273_150_000 + 100_000_000 });
});

test('attributes on the parent device, an unreadable input, a missing input, two chips of one kind', async () => {
  const root = tree({
    'class/hwmon/hwmon3/name': 'it87',
    'class/hwmon/hwmon3/device/temp1_input': '30000',
    'class/hwmon/hwmon3/device/temp2_input': null,
    'class/hwmon/hwmon3/device/temp2_label': 'flaky',
    'class/hwmon/hwmon3/device/temp3_label': 'no input, no sensor',
    'class/hwmon/hwmon4/name': 'it87',
    'class/hwmon/hwmon4/fan1_input': '2000',
    'class/hwmon/hwmon10/name': 'it87',
    'class/hwmon/hwmon10/in0_input': 'garbage',
  });
  assert.equal(sysctlListing(await hwmonSensors(root)), [
    'hw.sensors.it87_0.temp0=30.00 degC',
    'hw.sensors.it87_0.temp1=unknown (flaky), UNKNOWN',
    'hw.sensors.it87_1.fan0=2000 RPM',
    'hw.sensors.it87_2.volt0=unknown, UNKNOWN',
    '',
  ].join('\n'));
  assert.equal(deviceNameFor('k10temp', 0), 'k10temp0');
  assert.equal(deviceNameFor('nvme', 1), 'nvme1');
  assert.equal(deviceNameFor('acpi-thermal 9', 2), 'acpi_thermal_9_2');
});

test('no hwmon or thermal class at all: no sensors, no error', async () => {
  const root = tree({});
  assert.deepEqual(await hwmonSensors(root), []);
  assert.deepEqual(await thermalSensors(root), []);
});

test('thermal zones: a temp sensor each, CRITICAL past the critical trip point, WARNING past a hot one', async () => {
  const root = tree({
    'class/thermal/thermal_zone0/type': 'acpitz',
    'class/thermal/thermal_zone0/temp': '27800',
    'class/thermal/thermal_zone0/trip_point_0_type': 'critical',
    'class/thermal/thermal_zone0/trip_point_0_temp': '105000',
    'class/thermal/thermal_zone1/type': 'x86_pkg_temp',
    'class/thermal/thermal_zone1/temp': '91000',
    'class/thermal/thermal_zone1/trip_point_0_type': 'hot',
    'class/thermal/thermal_zone1/trip_point_0_temp': '90000',
    'class/thermal/thermal_zone2/type': 'acpitz',
    'class/thermal/thermal_zone2/temp': '110000',
    'class/thermal/thermal_zone2/trip_point_0_type': 'critical',
    'class/thermal/thermal_zone2/trip_point_0_temp': '105000',
    'class/thermal/thermal_zone3/type': 'cpu-thermal',
    'class/thermal/thermal_zone3/temp': null,
    'class/thermal/cooling_device0/type': 'Processor',
  });
  assert.equal(sysctlListing(await thermalSensors(root)), [
    'hw.sensors.acpitz0.temp0=27.80 degC (thermal_zone0), OK',
    'hw.sensors.x86_pkg_temp0.temp0=91.00 degC (thermal_zone1), WARNING',
    'hw.sensors.acpitz1.temp0=110.00 degC (thermal_zone2), CRITICAL',
    'hw.sensors.cpu_thermal0.temp0=unknown (thermal_zone3), UNKNOWN',
    '',
  ].join('\n'));
});
