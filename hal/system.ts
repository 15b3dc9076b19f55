/** System services: restart, watchdog, boot reason, and the firmware's structured log. */

export type BootReason = "power-on" | "software" | "watchdog" | "brownout" | "panic";

export interface System {
  /** Why the device booted this time. */
  readonly bootReason: BootReason;
  /** Restarts the device (the contactor opens through the interlock as the VM stops). Does not return on the device. */
  restart(reason: string): void;
  /**
   * Feeds the hardware watchdog. The firmware feeds it from the control loop only; if the loop stalls
   * for longer than the watchdog period the hardware opens the contactor and resets the device.
   */
  feedWatchdog(): void;
  /** Free heap bytes as the runtime reports them (0 when unknown). */
  freeMemory(): number;
}

/** A structured log event: a kind and flat fields of numbers, strings, booleans or arrays of numbers. */
export type LogFields = Record<string, number | string | boolean | number[] | null>;

export interface Log {
  /**
   * Records an event. On the device: trace() over serial and a RAM ring for diagnostics; in the
   * simulator: the trace file (one JSON line per event with its virtual time).
   */
  event(kind: string, fields: LogFields): void;
}
