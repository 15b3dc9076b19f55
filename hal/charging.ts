/**
 * The devices that touch the car and the mains: control pilot, proximity pilot, contactor(s),
 * residual-current monitor, and the report of the hardware interlock. See SAFETY.md for what the
 * hardware guarantees below the VM and what the firmware must do regardless.
 */
import type { IoClass, IoInstance, OnError } from "./common.js";

/** Pilot output level written with ControlPilot.write(): duty in 0.1 % steps (0..1000). */
export const PILOT_DUTY_MAX = 1000;
/** Steady +12 V (no PWM): "not ready / charging not allowed" (written as duty 1000). */
export const PILOT_PLUS_12V = 1000;
/** Steady -12 V: state F, "EVSE not available / error" (written as duty 0). */
export const PILOT_MINUS_12V = 0;
/** Pilot driver off (0 V): state E signalling, used before a controlled stop and on power-up. */
export const PILOT_OFF = -1;

/** One synchronous sample of the pilot line, in millivolts, taken during the high and low halves of the PWM. */
export interface PilotSample {
  /** Voltage during the positive half (or the steady level when not oscillating), mV. */
  high: number;
  /** Voltage during the negative half (or the steady level when not oscillating), mV. */
  low: number;
}

export interface ControlPilotOptions {
  /** PWM frequency; IEC 61851-1 requires 1000 Hz (±0.5 %). The HAL throws RangeError for anything else. */
  hz?: 1000;
  /** Called (with `this` = the instance) when a new sample pair is available. Optional: read() always works. */
  onReadable?: (this: ControlPilot) => void;
  onError?: OnError<ControlPilot>;
}

export interface ControlPilot extends IoInstance {
  /**
   * Sets the oscillator: an integer duty in 0.1 % (1..999 → PWM at 1 kHz), or one of the steady levels
   * PILOT_PLUS_12V (1000), PILOT_MINUS_12V (0), PILOT_OFF (-1). Throws RangeError for anything else.
   */
  write(duty: number): void;
  /** Fills `into` with the latest sample and returns it (no allocation on the hot path). */
  read(into: PilotSample): PilotSample;
  /** The duty last written (readback of the output register), same encoding as write(). */
  readonly duty: number;
}

/** ProximityPilot.read() value meaning "no cable / open circuit". */
export const PROXIMITY_OPEN = 0x7fffffff;

export interface ProximityOptions {
  onError?: OnError<Proximity>;
}

/** The proximity (PP) contact of a type 2 socket: the cable's coding resistor, measured by the board. */
export interface Proximity extends IoInstance {
  /** Resistance between PP and PE in ohms (integer), or PROXIMITY_OPEN when open. */
  read(): number;
}

export interface ContactorOptions {
  /** Which contactor: 0 = main (L1/N, or all phases), 1 = the phase-switch contactor (L2/L3) for 1p/3p switching. */
  contactor: 0 | 1;
  /** Called when the mirror (auxiliary) contact changes. */
  onReadable?: (this: Contactor) => void;
  onError?: OnError<Contactor>;
}

export interface Contactor extends IoInstance {
  /** 1 closes (energises the coil), 0 opens. Throws RangeError for other values. */
  write(value: 0 | 1): void;
  /** The mirror contact: 1 when the main contacts are closed (or welded), 0 when open. */
  read(): 0 | 1;
  /** The value last commanded. */
  readonly commanded: 0 | 1;
}

/** Residual-current monitor status bits (IEC 62955 RDC-DD: 6 mA DC; type A RCD function: 30 mA AC). */
export const RCM_OK = 0;
export const RCM_TRIP_AC = 1;
export const RCM_TRIP_DC = 2;
export const RCM_SELF_TEST_FAILED = 4;
export const RCM_SELF_TEST_RUNNING = 8;

export interface ResidualCurrentMonitorOptions {
  /** Called on a trip (interrupt on the device) and when a self-test finishes. */
  onReadable?: (this: ResidualCurrentMonitor) => void;
  onError?: OnError<ResidualCurrentMonitor>;
}

export interface ResidualCurrentMonitor extends IoInstance {
  /** Status bits (RCM_*). A trip latches until reset(). */
  read(): number;
  /** Starts the self-test (test winding); completion is reported through onReadable. Throws if already running. */
  selfTest(): void;
  /** Clears a latched trip. The hardware refuses (stays tripped) while residual current persists. */
  reset(): void;
}

/** Causes of a hardware interlock trip (bits). */
export const INTERLOCK_RCD = 1;
export const INTERLOCK_PILOT = 2;
export const INTERLOCK_WATCHDOG = 4;
export const INTERLOCK_FORBIDDEN_CLOSE = 8;

export interface InterlockOptions {
  /** Called each time the interlock opens the contactor by itself. */
  onReadable?: (this: Interlock) => void;
}

/**
 * Report of the hardware/native interlock below the VM. It opens the contactor regardless of JS;
 * the firmware must never rely on it (see SAFETY.md). read() returns the number of trips since boot,
 * and `cause` the bits of the last one.
 */
export interface Interlock extends IoInstance {
  read(): number;
  readonly cause: number;
}

export interface IdReaderOptions {
  /** Called when a card (RFID/NFC) is presented. */
  onReadable?: (this: IdReader) => void;
  onError?: OnError<IdReader>;
}

/** An identification reader (RFID/NFC, e.g. a PN532 or an ISO 14443 front end). */
export interface IdReader extends IoInstance {
  /** The identifier of the card presented last (upper-case hex UID or the card's id string), or undefined when none is pending. */
  read(): string | undefined;
}

export interface ConnectorLockOptions {
  /** Called when the feedback (position switch) changes. */
  onReadable?: (this: ConnectorLock) => void;
  onError?: OnError<ConnectorLock>;
}

/**
 * The cable lock of a socket outlet (type 2 socket: a motor or solenoid actuator with a position switch).
 * Boards with a fixed cable have none. write() drives the actuator towards a position; read() is the
 * feedback switch. An actuator that moves within the write() call (a solenoid pulse, the simulator's lock)
 * shows the new position in read() at once; a slower one reports it through onReadable. A jammed lock's
 * feedback does not follow: the firmware times that out and reports ConnectorLockFailure.
 */
export interface ConnectorLock extends IoInstance {
  /** 1 locks, 0 unlocks. Throws RangeError for other values. */
  write(value: 0 | 1): void;
  /** The position switch: 1 locked, 0 unlocked. */
  read(): 0 | 1;
  /** The position last commanded. */
  readonly commanded: 0 | 1;
}

export interface ChargingIo {
  /** Absent on boards without a socket lock (fixed cable). */
  ConnectorLock?: IoClass<ConnectorLockOptions, ConnectorLock>;
  IdReader: IoClass<IdReaderOptions, IdReader>;
  ControlPilot: IoClass<ControlPilotOptions, ControlPilot>;
  Proximity: IoClass<ProximityOptions, Proximity>;
  Contactor: IoClass<ContactorOptions, Contactor>;
  ResidualCurrentMonitor: IoClass<ResidualCurrentMonitorOptions, ResidualCurrentMonitor>;
  Interlock: IoClass<InterlockOptions, Interlock>;
}
