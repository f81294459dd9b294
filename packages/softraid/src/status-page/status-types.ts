// The status document's shape (GET /status.json, and each event of
// /status/stream): written by softraidd (daemon/http/status-document.ts),
// read by the page. Types only, shared by both through a project reference.
// snake_case keys and integer bytes, as bioctl --json; docs/status-page.md.

export interface StatusDocument {
  status_version: 1;
  generated_at: string;
  host: string;
  started_at: string;
  controllers: ControllerStatus[];
  /** Newest first, bounded (the log file keeps the rest). */
  events: EventStatus[];
  sensors: SensorStatusLine[];
  /** Why the machine's sensors could not be read, when they could not. */
  sensors_problem: string | null;
}

export interface CommandHint {
  /** What it does, in a few words. */
  label: string;
  /** The bioctl command line, placeholders in capitals (NEWDISK). */
  command: string;
}

export interface ControllerStatus {
  name: string;
  volumes: VolumeStatus[];
  /** Whether the controller has a pool of spares for every volume (softraid), or keeps spares with each array (md). */
  spare_pool: boolean;
  hot_spares: Array<{ name: string; size_bytes: number }>;
  commands: CommandHint[];
}

export interface ProgressStatus {
  /** reshape: md's change of level, layout or disk count. */
  operation: 'rebuild' | 'scrub' | 'resync' | 'reshape';
  percent: number;
  bytes_done: number;
  bytes_total: number;
  rate_bytes_per_second: number;
  eta_seconds: number | null;
  repair?: boolean;
  mismatch_sectors?: number;
  /** Waiting rather than running: md's delayed (another array syncs first) or pending (auto-read-only). */
  waiting?: 'delayed' | 'pending';
}

export interface MemberStatus {
  slot: number;
  /** "" when the slot is empty (the disk is missing). */
  name: string;
  /** bio's disk states: Online, Offline, Failed, Rebuild, Hot spare, Unused, Scrubbing, Invalid. */
  state: string;
  size_bytes: number;
  io_errors: number | null;
  /** The controller's own flags on the member (md: write_mostly, want_replacement, replacement). */
  flags: string[];
}

export interface IoSampleStatus {
  at_ms: number;
  read_bytes_per_second: number;
  write_bytes_per_second: number;
  read_operations_per_second: number;
  write_operations_per_second: number;
  read_latency_ms: number | null;
  write_latency_ms: number | null;
  errors: number;
}

export interface VolumeStatus {
  name: string;
  uuid: string;
  level: string;
  level_name: string;
  /** bio's volume states: Online, Offline, Degraded, Building, Rebuild, Scrubbing. */
  state: string;
  size_bytes: number;
  strip_size_bytes: number;
  progress: ProgressStatus | null;
  last_scrub: {
    mode: 'check' | 'repair';
    status: 'finished' | 'stopped' | 'failed';
    reason: string | null;
    started_at: string;
    duration_seconds: number;
    mismatch_sectors: number;
    repaired_sectors: number;
    unreadable_bytes: number;
  } | null;
  members: MemberStatus[];
  /** null when softraidd counts no I/O (no HTTP listener). */
  io: { interval_seconds: number; samples: IoSampleStatus[] } | null;
  commands: CommandHint[];
  /** Why the controller could not read the volume's state (the file named); its state is then Invalid. */
  problem: string | null;
  /** The controller's own facts (md: metadata version, bitmap, array_state). */
  extras: Record<string, string | number | boolean | null>;
}

export interface EventStatus {
  sequence: number;
  at: string;
  controller: string;
  /** mdadm's event names: Fail, SpareActive, RebuildStarted, ... */
  name: string;
  device: string;
  member: string | null;
}

export interface SensorStatusLine {
  name: string;
  type: string;
  /** As sysctl prints it: 41.00 degC, online. */
  value: string;
  description: string;
  status: 'unspec' | 'ok' | 'warning' | 'critical' | 'unknown';
}
