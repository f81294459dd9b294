import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@openbsd38/libutil/random.js';
import { limitValue, parseSensorsdConfig, ruleFor, SensorsdConfigError } from './config.js';
import { parseCapabilityDatabase } from './getcap.js';

// The examples of OpenBSD's sensorsd.conf(5), as written there.
const manualExamples = `# Sample sensorsd.conf(5)
hw.sensors.ipmi0.temp0:high=80C:command=/etc/sensorsd/log_warning %t %n %2
hw.sensors.lm0.volt3:low=4.8V:high=5.2V
hw.sensors.lm0.fan1:low=1000

# Report all drive status changes.
drive:command=/etc/sensorsd/drive %n
# Ignore the sensors' own status for time deltas.
timedelta:istatus
temp:low=-5C:high=176F
percent:low=10:high=90
`;

test("sensorsd.conf(5)'s examples: limits in OpenBSD's units, commands, istatus, full names over types", () => {
  const config = parseSensorsdConfig(manualExamples, '/etc/sensorsd.conf');
  const ipmi = ruleFor(config, { device: 'ipmi0', type: 'temp', index: 0 })!;
  assert.equal(ipmi.high, 273_150_000 + 80_000_000);
  assert.equal(ipmi.low, undefined);
  assert.equal(ipmi.command, '/etc/sensorsd/log_warning %t %n %2');
  assert.equal(ipmi.line, 2);
  assert.deepEqual([ruleFor(config, { device: 'lm0', type: 'volt', index: 3 })!.low, ruleFor(config, { device: 'lm0', type: 'volt', index: 3 })!.high], [4_800_000, 5_200_000]);
  assert.equal(ruleFor(config, { device: 'lm0', type: 'fan', index: 1 })!.low, 1000);
  assert.equal(ruleFor(config, { device: 'softraid0', type: 'drive', index: 3 })!.command, '/etc/sensorsd/drive %n');
  assert.equal(ruleFor(config, { device: 'ntp0', type: 'timedelta', index: 0 })!.istatus, true);
  // Another temp sensor falls to the type's record; 176F is 80C.
  const other = ruleFor(config, { device: 'coretemp0', type: 'temp', index: 1 })!;
  assert.deepEqual([other.low, other.high], [273_150_000 - 5_000_000, 353_150_000]);
  assert.deepEqual([ruleFor(config, { device: 'bat0', type: 'percent', index: 0 })!.low, ruleFor(config, { device: 'bat0', type: 'percent', index: 0 })!.high], [10_000, 90_000]);
  assert.equal(ruleFor(config, { device: 'lm0', type: 'fan', index: 0 }), undefined, 'no record for lm0.fan0 and none for fan');
});

test('getcap details: continuation lines, aliases, escapes, comments, cancelled capabilities', () => {
  const records = parseCapabilityDatabase([
    '# comment',
    '',
    'drive|hw.sensors.softraid0.drive0:\\',
    '\t:command=echo a\\:b \\072 ^A \\E:\\',
    '\t:low@:istatus',
    '   # indented comment',
  ].join('\n'));
  assert.equal(records.length, 1);
  assert.deepEqual(records[0]!.names, ['drive', 'hw.sensors.softraid0.drive0']);
  assert.deepEqual(records[0]!.capabilities.get('command'), { kind: 'string', value: 'echo a:b : \x01 \x1b' });
  assert.deepEqual(records[0]!.capabilities.get('low'), { kind: 'cancelled' });
  assert.equal(records[0]!.line, 3);
  const config = parseSensorsdConfig('drive|hw.sensors.softraid0.drive1:istatus:low=4:high=4\n', 'f');
  assert.equal(ruleFor(config, { device: 'softraid0', type: 'drive', index: 1 })!.low, 4);
  assert.equal(ruleFor(config, { device: 'softraid0', type: 'drive', index: 0 })!.istatus, true);
});

test('bad input: the error names the file, the line and the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['temp:high=80\n', /^f:1: high=80: no unit for temp sensor \(C or F\)$/],
    ['\n\ntemp:high=80K\n', /^f:3: high=80K: unknown unit K for temp sensor$/],
    ['volt:low=4.8\n', /^f:1: low=4.8: no unit for voltage sensor \(V\)$/],
    ['volt:low=4.8mV\n', /^f:1: low=4.8mV: unknown unit mV for voltage sensor$/],
    ['fan:low=fast\n', /^f:1: low=fast: incorrect value$/],
    ['energy:high=5\n', /^f:1: high=5: unsupported sensor type$/],
    ['hw.sensors.lm0.bogus0:high=1\n', /^f:1: unknown sensor type bogus in hw.sensors.lm0.bogus0$/],
    ['cpu:high=80C\n', /^f:1: cpu is neither a sensor \(hw.sensors.<device>.<type><n>\) nor a sensor type$/],
    ['temp:hihg=80C\n', /^f:1: unknown capability hihg for temp$/],
    ['temp:high\n', /^f:1: high needs a value \(high=...\)$/],
    ['fan:low=2000:high=1000\n', /^f:1: low is above high for fan$/],
    ['fan:low=1\nfan:low=2\n', /^f:2: fan is configured twice \(first on line 1\)$/],
    ['drive:command=\n', /^f:1: empty command$/],
    ['drive:command=a\\', /^f:1: the last line ends with a backslash$/],
    ['bad name:low=1\n', /^f:1: malformed record name "bad name"$/],
    ['drive:command=\\08\n', /^f:1: bad octal escape \\08$/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(() => parseSensorsdConfig(text, 'f'), (error: unknown) => {
      assert.ok(error instanceof SensorsdConfigError, `${JSON.stringify(text)}: ${String(error)}`);
      assert.match(error.message, expected, JSON.stringify(text));
      return true;
    });
  }
});

test('limit units as get_val converts them', () => {
  assert.equal(limitValue('0C', 'temp'), 273_150_000);
  assert.equal(limitValue('32F', 'temp'), 273_150_000);
  assert.equal(limitValue('1.5', 'timedelta'), 1_500_000_000);
  assert.equal(limitValue('12.5', 'power'), 12_500_000);
  assert.equal(limitValue('45.5', 'humidity'), 45_500);
  assert.equal(limitValue('4', 'drive'), 4);
});

test('fuzzed files never crash the parser: a config or a SensorsdConfigError, nothing else', () => {
  const random = seededRandom(20261201);
  const alphabet = 'temp:drive|hw.sensors.lm0.fan1=#@\\\n\t ^%80CFVxyz.-0123456789istatuscommandlowhigh';
  for (let round = 0; round < 3000; round++) {
    let text = '';
    const length = Math.floor(random() * 80);
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    try {
      parseSensorsdConfig(text, 'fuzz');
    } catch (error) {
      assert.ok(error instanceof SensorsdConfigError, `${JSON.stringify(text)}: ${String(error)}`);
      assert.match(error.message, /^fuzz:\d+: /);
    }
  }
});
