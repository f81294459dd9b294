// ifstated.h's log levels: what -v and -vv add.
export const LogLevel = {
  /** Always said: a test that died, a loop stopped. */
  quiet: 0,
  /** The default: started, state changes, the commands run. */
  normal: 1,
  /** -v: each run of a test command. */
  verbose: 2,
  /** -vv: each link and address event the kernel reports. */
  debug: 3,
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];
