/**
 * The HAL contract: everything the firmware may touch. Interfaces only; the device binding is in
 * hal/moddable, the simulated one in simulator/. Chip drivers written over ECMA-419 IO live in hal/drivers.
 */
import type { ChargingIo } from "./charging.js";
import type { DcIo } from "./dc.js";
import type { Clock, Timers } from "./clock.js";
import type { Crypto } from "./crypto.js";
import type { LowLevelIo, LteModemWiring, MeterIcWiring, PlcModemWiring } from "./io.js";
import type { MeteringIo } from "./metering.js";
import type { Network, NetworkInterfaces } from "./network.js";
import type { Storage } from "./storage.js";
import type { Log, System } from "./system.js";

export * from "./common.js";
export * from "./clock.js";
export * from "./charging.js";
export * from "./dc.js";
export * from "./metering.js";
export * from "./storage.js";
export * from "./crypto.js";
export * from "./network.js";
export * from "./system.js";
export * from "./io.js";

/** What the board has, so the firmware adapts without a rebuild. */
export interface Board {
  /** A model name for logs and BootNotification. */
  model: string;
  vendor: string;
  serialNumber: string;
  /** Phases wired to the outlet: 1 or 3. */
  phases: 1 | 3;
  /** Number of contactors: 1, or 2 when a phase-switch contactor allows 1p/3p switching. */
  contactors: 1 | 2;
  /** The current rating of the hardware (relays, wiring, PCB), A per phase. */
  ratedCurrent: number;
  /** Nominal line-to-neutral voltage, V. */
  nominalVoltage: number;
  /** Names of the temperature sensors, for Temperature({sensor}). */
  temperatureSensors: string[];
  /** A fixed cable (no PP measurement, its rating is ratedCurrent) rather than a socket. */
  tetheredCable: boolean;
  /**
   * How long the board keeps running after the supply monitor (hal.io.PowerFail) reports a failing supply, ms
   * (the bulk capacitor's hold-up time). Absent or 0: no early warning.
   */
  holdUpMs?: number;
  /** The metering IC on the board's SPI bus, when the firmware drives it itself (hal/drivers); absent: hal.io.Meter. */
  meterIc?: MeterIcWiring;
  /** An LTE modem on a UART (hal.io.Serial), driven by hal/drivers/lte; absent: no cellular uplink. */
  lteModem?: LteModemWiring;
  /** The HomePlug Green PHY modem (ISO 15118) the firmware drives itself (hal/drivers/qca7000.ts); absent: no HLC. */
  plcModem?: PlcModemWiring;
}

export interface Hal {
  readonly board: Board;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly io: ChargingIo & MeteringIo & LowLevelIo & DcIo;
  readonly storage: Storage;
  readonly crypto: Crypto;
  readonly network: Network & NetworkInterfaces;
  readonly system: System;
  readonly log: Log;
}
