/** System services: restart, watchdog, boot reason, the firmware update slot, and the firmware's structured log. */
import type { BufferLike } from "./common.js";

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
  /** The inactive firmware slot (A/B OTA), absent when the board cannot update itself. */
  readonly firmware?: FirmwareSlot;
}

/**
 * The inactive slot of an A/B firmware update (ESP32: the next OTA partition). begin() erases it, write()
 * appends the image in order, commit() verifies the whole image (the platform's own check: on the ESP32 the
 * app image's SHA-256 and, with secure boot, its signature) and marks it to boot next; the install completes
 * with restart(). abort() discards a partial image. Misuse (write before begin, an image larger than
 * begin announced) throws.
 */
export interface FirmwareSlot {
  /** Bytes the slot can hold. */
  readonly capacity: number;
  /** Starts a new image of byteLength bytes (RangeError above capacity); any unfinished one is discarded. */
  begin(byteLength: number): void;
  write(buffer: BufferLike): void;
  /** True: the image is complete and verified and boots at the next restart. False: rejected (slot discarded). */
  commit(): boolean;
  abort(): void;
}

/** A structured log event: a kind and flat fields of numbers, strings, booleans or arrays of numbers. */
export type LogFields = Record<string, number | string | boolean | number[] | null>;

export interface Log {
  /**
   * Records an event. On the device: trace() over serial and a RAM ring for diagnostics; in the
   * simulator: the trace file (one JSON line per event with its virtual time).
   */
  event(kind: string, fields: LogFields): void;
  /**
   * The most recent events still held in RAM, oldest first, one JSON text each (for GetDiagnostics).
   * Optional: a log without a RAM ring has nothing to give.
   */
  recent?(): string[];
}
