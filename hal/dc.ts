/**
 * DC charging devices (ECMA-419 class pattern, see common.ts): the DC power module (AC/DC converter with its
 * output contactor) and the isolation monitor (IMD) used by the ISO 15118 / DIN 70121 CableCheck. Both optional:
 * an AC-only board has neither.
 */
import type { IoClass, IoInstance, OnError } from "./common.js";

export interface DcLimits {
  /** Output rating: V, A, W. */
  maxVoltage: number;
  minVoltage: number;
  maxCurrent: number;
  minCurrent: number;
  maxPower: number;
}

/** One sample of the output, filled in place by read(). */
export interface DcSample {
  /** Measured output voltage at the cable side of the output contactor (V) and current (A). */
  voltage: number;
  current: number;
  /** The converter is enabled (running). The output contactor is the board's contactor 0 (hal.io.Contactor). */
  enabled: boolean;
  /** A latched module fault (over-temperature, short circuit, ...): 0 none, else a module-specific code. */
  fault: number;
}

export interface DcPowerModuleOptions {
  /** Called when a new sample is available (the module's measurement period). */
  onReadable?: (this: DcPowerModule) => void;
  onError?: OnError<DcPowerModule>;
}

export interface DcPowerModule extends IoInstance {
  readonly limits: DcLimits;
  /**
   * Setpoints: target voltage (V) and current limit (A). The module regulates the voltage until the current limit is
   * reached (constant current). RangeError outside the limits (current 0 is always allowed).
   */
  write(setpoint: { voltage: number; current: number }): void;
  /**
   * 1 enables the converter, 0 ramps it down and stops it (and clears a latched fault whose cause is gone).
   * RangeError otherwise. The output contactor (DC+/DC-) is the board's contactor 0, sequenced by the charging
   * core like an AC contactor and covered by the same hardware interlock (hal/SAFETY.md).
   */
  enable(on: 0 | 1): void;
  read(into: DcSample): DcSample;
}

export const ISOLATION_IDLE = 0;
export const ISOLATION_RUNNING = 1;
export const ISOLATION_VALID = 2;
export const ISOLATION_WARNING = 3;
export const ISOLATION_FAULT = 4;

export interface IsolationSample {
  /** ISOLATION_* */
  status: number;
  /** Measured insulation resistance DC+/DC- to PE, ohms (the lower of the two); NaN before the first result. */
  resistance: number;
}

export interface IsolationMonitorOptions {
  /** Called when a test finishes (status VALID / WARNING / FAULT). */
  onReadable?: (this: IsolationMonitor) => void;
  onError?: OnError<IsolationMonitor>;
}

export interface IsolationMonitor extends IoInstance {
  /** Starts a test at this output voltage (V). Throws if one is running. */
  start(voltage: number): void;
  /** Stops a running test (status back to IDLE). */
  stop(): void;
  read(into: IsolationSample): IsolationSample;
}

export interface DcIo {
  DcPowerModule?: IoClass<DcPowerModuleOptions, DcPowerModule>;
  IsolationMonitor?: IoClass<IsolationMonitorOptions, IsolationMonitor>;
}
