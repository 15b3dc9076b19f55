/** System services and the structured log. */
import type Digital from "embedded:io/digital";
import Instrumentation from "instrumentation";
import type { BootReason, FirmwareSlot, Log, LogFields, System } from "../index.js";

export class ModdableSystem implements System {
  #watchdog: Digital | undefined;
  #level: 0 | 1 = 0;
  /** Moddable has no module for esp_reset_reason(): the board may pass what its native code reports. */
  constructor(readonly bootReason: BootReason = "power-on", watchdog?: Digital, readonly firmware?: FirmwareSlot) {
    this.#watchdog = watchdog;
  }
  restart(reason: string): void {
    trace(`restart: ${reason}\n`);
    System.restart();
  }
  /** Toggles the external watchdog input; without one the ESP-IDF task watchdog guards the VM's main loop. */
  feedWatchdog(): void {
    this.#level = this.#level ? 0 : 1;
    this.#watchdog?.write(this.#level);
  }
  freeMemory(): number {
    const id = Instrumentation.map("System Free Memory");
    return (id === undefined ? undefined : Instrumentation.get(id)) ?? 0;
  }
}

/** trace() over serial plus a RAM ring of the last `capacity` lines for diagnostics. */
export class TraceLog implements Log {
  readonly ring: string[] = [];
  constructor(readonly now: () => number, readonly capacity = 32) {}
  event(kind: string, fields: LogFields): void {
    const line = JSON.stringify({ t: this.now(), kind, ...fields });
    if (this.ring.push(line) > this.capacity) this.ring.shift();
    trace(line, "\n");
  }
  recent(): string[] {
    return this.ring.slice();
  }
}
