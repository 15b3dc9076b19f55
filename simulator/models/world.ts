/**
 * One charging outlet and everything physical around it: grid, contactor(s), meter, pilot circuit,
 * proximity, residual-current monitor, temperature sensors, the EV, and the hardware interlock.
 *
 * Time: advance(now) integrates the physics in fixed steps of physicsStepMs on a grid anchored at 0
 * (steps end at k·physicsStepMs ≤ now), so the same scenario gives the same physics however often it is
 * polled. Actuator writes and scenario changes take effect at the World's current time (the end of the
 * last step): the simulated HAL should call advance(clock.now()) before writing to the World.
 *
 * Wiring (socket voltages are line-to-neutral):
 *  - contactor 0 (main) switches L1 + N, and on a 3-phase board with one contactor also L2/L3;
 *  - contactor 1 exists only when phase switching is fitted (contactors: 2): it switches L2/L3 in series
 *    after the main contactor, so L2/L3 are live only when both are closed;
 *  - the meter is upstream of the contactors (it reads the grid voltage even with the contacts open).
 *
 * Hardware interlock (hal/charging.ts INTERLOCK_*; hal/SAFETY.md):
 *  - a CLOSE command that would energise the socket (contactor 0, or contactor 1 while contactor 0 is
 *    energised) while the physical pilot is not in band C or D (IEC 61851-1 table A.3, judged on the
 *    noise-free high level the EV and the generator produce), or while the RCD is tripped, is refused:
 *    the coil stays off, forbiddenCloses++, cause = INTERLOCK_FORBIDDEN_CLOSE | the reason bits.
 *    A close that would not energise the socket (contactor 1 alone) is allowed;
 *  - while contactor 0 is energised, if the pilot is out of C/D or the RCD is tripped continuously for
 *    interlockGraceMs, the interlock de-energises every coil itself: interlockTrips++, cause bits
 *    (INTERLOCK_PILOT, INTERLOCK_RCD). The coils stay off until the firmware writes the contactor again;
 *  - "D requires ventilation" is firmware policy: the interlock accepts both C and D.
 * The firmware must never let any of these happen; tests fail on any count.
 *
 * DC boards (config `dc`, simulator/models/dc.ts): a DC charger's power module and isolation monitor.
 *  - contactor 0 is the DC output contactor (DC+/DC−): same relay model (delays, mirror, weld) and the same
 *    interlock (pilot in C/D to energise it, trips out of C/D or on an RCD trip);
 *  - the connector carries no AC (socketVoltage() reads 0; an EV's onboard charger draws nothing);
 *  - the car at the inlet is a DcLoad (dc-load.ts): the plugged EV when it implements it, or one set with setDcLoad;
 *  - the power module's AC input (P_dc / η) is spread evenly over the board's phases at the grid voltage with the
 *    module's power factor and goes through the meter, so the meter (and OCPP energy) counts it; the thermal
 *    sensors see that input current; openings of contactor 0 are "under load" with > 0.5 A of DC flowing;
 *  - the module runs only while every wired phase is above half the nominal voltage (a grid outage stops it);
 *  - onChange("dc") on a module fault injected, onChange("imd") when the isolation monitor has a result.
 *
 * Platform-neutral: no Node imports.
 */
import {
  INTERLOCK_FORBIDDEN_CLOSE,
  INTERLOCK_PILOT,
  INTERLOCK_RCD,
  INTERLOCK_WATCHDOG,
  PILOT_OFF,
  PROXIMITY_OPEN,
} from "../../hal/charging.js";
import type { PilotSample } from "../../hal/charging.js";
import type { MeterReading } from "../../hal/metering.js";
import type { Rng } from "../rng.js";
import { DcPowerModuleModel, IsolationMonitorModel, asDcLoad, dcConfig } from "./dc.js";
import type { DcConfig } from "./dc.js";
import type { DcLoad } from "./dc-load.js";
import { EvModel } from "./ev.js";
import type { EvConfig, EvInputs } from "./ev.js";
import { GridModel } from "./grid.js";
import type { GridConfig } from "./grid.js";
import { MeterModel } from "./meter.js";
import { DEFAULT_PILOT_CIRCUIT, PILOT_SHORT, isValidDuty, pilotBand, pilotLevels, samplePilot } from "./pilot-circuit.js";
import type { PilotCircuitParams, PilotLoad, PilotState } from "./pilot-circuit.js";
import { RcdModel } from "./rcd.js";
import type { RcdConfig } from "./rcd.js";
import { RelayModel } from "./relay.js";
import type { RelayConfig } from "./relay.js";
import { ThermalModel, defaultThermalSensors } from "./thermal.js";
import type { ThermalSensorConfig } from "./thermal.js";

/**
 * PP coding resistors of a type 2 cable (IEC 61851-1 Annex B, table B.2 / IEC 62196-2):
 * 1.5 kΩ → 13 A, 680 Ω → 20 A, 220 Ω → 32 A, 100 Ω → 63 A (3-phase) / 70 A (1-phase).
 */
export const CABLE_13A = 1500;
export const CABLE_20A = 680;
export const CABLE_32A = 220;
export const CABLE_63A = 100;

export interface WorldConfig {
  phases: 1 | 3;
  nominalVoltage: number;
  ratedCurrent: number;
  /** PP coding resistor, ohms (e.g. 220 for 32 A); PROXIMITY_OPEN when no cable. */
  cableOhms: number;
  tethered: boolean;
  ambientC: number;
  /** How long a forbidden condition may last before the hardware interlock opens the contactor itself, ms. */
  interlockGraceMs: number;
  physicsStepMs: number;
  adcNoiseMv: number;
  /** Contactors fitted: 1, or 2 with a phase-switch contactor for 1p/3p switching. Default 1. */
  contactors?: 1 | 2;
  grid?: Partial<GridConfig>;
  relay?: Partial<RelayConfig>;
  rcd?: Partial<RcdConfig>;
  /** Temperature sensors; default connector, relay, board calibrated for ratedCurrent. */
  thermal?: Record<string, ThermalSensorConfig>;
  /** Pilot generator and R1 (noise comes from adcNoiseMv). */
  pilot?: Partial<Omit<PilotCircuitParams, "noiseMv">>;
  /**
   * A DC board: the power module's rating and behaviour, the isolation monitor and the insulation resistance
   * (simulator/models/dc.ts DcConfig; missing keys take DEFAULT_DC_CONFIG). Absent: an AC board.
   */
  dc?: Partial<DcConfig>;
}

export const DEFAULT_WORLD_CONFIG: Readonly<WorldConfig> = Object.freeze({
  phases: 3,
  nominalVoltage: 230,
  ratedCurrent: 32,
  cableOhms: CABLE_32A,
  tethered: false,
  ambientC: 25,
  interlockGraceMs: 100,
  physicsStepMs: 10,
  adcNoiseMv: 50,
  contactors: 1,
}) as Readonly<WorldConfig>;

function isCableOhms(x: unknown): boolean {
  return x === PROXIMITY_OPEN || (Number.isInteger(x) && (x as number) >= 0 && (x as number) < PROXIMITY_OPEN);
}

/** Fills in defaults and validates a WorldConfig (RangeError on any bad field). */
export function worldConfig(partial: Partial<WorldConfig> = {}): WorldConfig {
  const c: WorldConfig = { ...DEFAULT_WORLD_CONFIG, ...partial };
  const bad = (what: string): never => { throw new RangeError(`WorldConfig: bad ${what}`); };
  const fin = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
  if (c.phases !== 1 && c.phases !== 3) bad("phases");
  if (!fin(c.nominalVoltage) || c.nominalVoltage <= 0) bad("nominalVoltage");
  if (!fin(c.ratedCurrent) || c.ratedCurrent <= 0) bad("ratedCurrent");
  if (!isCableOhms(c.cableOhms)) bad("cableOhms");
  if (typeof c.tethered !== "boolean") bad("tethered");
  if (!fin(c.ambientC)) bad("ambientC");
  if (!fin(c.interlockGraceMs) || c.interlockGraceMs < 0) bad("interlockGraceMs");
  if (!Number.isInteger(c.physicsStepMs) || c.physicsStepMs <= 0) bad("physicsStepMs");
  if (!fin(c.adcNoiseMv) || c.adcNoiseMv < 0) bad("adcNoiseMv");
  if (c.contactors !== 1 && c.contactors !== 2) bad("contactors");
  if (c.dc !== undefined) {
    if (c.contactors !== 1) bad("contactors (a DC board has one output contactor)");
    c.dc = dcConfig(c.dc);
  }
  return c;
}

export type WorldChange = "mirror" | "rcm" | "interlock" | "lock" | "dc" | "imd";

/** The DC side of a DC board. */
export interface WorldDc {
  readonly config: DcConfig;
  readonly module: DcPowerModuleModel;
  readonly imd: IsolationMonitorModel;
}

export class World {
  readonly config: WorldConfig;
  readonly grid: GridModel;
  readonly meter: MeterModel;
  readonly rcd: RcdModel;
  readonly thermal: ThermalModel;
  /** relays[1] is present only with contactors: 2. */
  readonly relays: RelayModel[];
  /** The DC power module and isolation monitor; null on an AC board. */
  readonly dc: WorldDc | null;
  onChange?: (what: WorldChange, index: number) => void;

  private t = 0;
  private stepIndex = 0;
  private duty = PILOT_OFF;
  private evModel: EvModel | null = null;
  private cable: number;
  private readonly pilotRng: Rng;
  private readonly pilotParams: PilotCircuitParams;
  private readonly scratch: PilotSample = { high: 0, low: 0 };
  private readonly socketV = [0, 0, 0];
  private readonly gridV = [0, 0, 0];
  private readonly amps = [0, 0, 0];
  private readonly evInputs: EvInputs;
  private forbiddenSince = -1;
  private trips = 0;
  private refused = 0;
  private cause = 0;
  private unplugsLoaded = 0;
  private shorted = false;
  /** Socket cable lock (non-tethered boards): motor command, position switch, and a jam switch. */
  private lockCmd: 0 | 1 = 0;
  private lockPos: 0 | 1 = 0;
  private lockJam = false;
  /** setDcLoad: undefined = the plugged EV's own DcLoad. */
  private dcLoadSet: DcLoad | null | undefined = undefined;
  private dcNote = false;

  constructor(config: Partial<WorldConfig>, rng: Rng) {
    this.config = worldConfig(config);
    const c = this.config;
    this.cable = c.cableOhms;
    this.grid = new GridModel({ nominalVoltage: c.nominalVoltage, ...c.grid }, rng.fork("grid"), 0);
    this.meter = new MeterModel({}, 0);
    this.rcd = new RcdModel(c.rcd ?? {}, 0);
    this.thermal = new ThermalModel(c.ambientC, c.thermal ?? defaultThermalSensors(c.ratedCurrent, c.phases), 0);
    this.relays = [new RelayModel(c.relay ?? {}, 0)];
    if (c.contactors === 2) this.relays.push(new RelayModel(c.relay ?? {}, 0));
    if (c.dc !== undefined) {
      const dc = dcConfig(c.dc);
      this.dc = { config: dc, module: new DcPowerModuleModel(dc, 0), imd: new IsolationMonitorModel(dc, 0) };
    } else {
      this.dc = null;
    }
    this.pilotRng = rng.fork("pilot-adc");
    this.pilotParams = { ...DEFAULT_PILOT_CIRCUIT, ...c.pilot, noiseMv: c.adcNoiseMv };
    this.evInputs = { duty: this.duty, acVolts: this.socketV, phasesAvailable: c.phases };
    this.sync();
  }

  /** Virtual time the physics has been integrated to, ms. */
  get now(): number {
    return this.t;
  }

  get ev(): EvModel | null {
    return this.evModel;
  }

  get interlockTrips(): number {
    return this.trips;
  }

  get forbiddenCloses(): number {
    return this.refused;
  }

  get lastInterlockCause(): number {
    return this.cause;
  }

  /** Unplugs while more than 0.5 A flowed (the EV broke the current with the plug). */
  get unplugsUnderLoad(): number {
    return this.unplugsLoaded;
  }

  /** Integrates the physics up to `now` (ms, virtual) in fixed steps. Idempotent; earlier times are ignored. */
  advance(now: number): void {
    if (typeof now !== "number" || !Number.isFinite(now)) throw new RangeError("World.advance: time must be a finite number");
    const step = this.config.physicsStepMs;
    while ((this.stepIndex + 1) * step <= now) this.stepOnce();
  }

  private stepOnce(): void {
    const t1 = (this.stepIndex + 1) * this.config.physicsStepMs;
    this.stepIndex++;
    this.grid.step(t1);
    const a = this.amps;
    const moved0 = this.relays[0].step(t1, this.dc !== null ? this.dc.module.current : Math.max(a[0], a[1], a[2]));
    const moved1 = this.relays.length > 1 ? this.relays[1].step(t1, Math.max(a[1], a[2])) : false;
    const rcm = this.rcd.step(t1);
    this.t = t1;
    const tripped = this.sync();
    const imd = this.dcNote;
    this.dcNote = false;
    const cb = this.onChange;
    if (cb !== undefined) {
      if (moved0) cb("mirror", 0);
      if (moved1) cb("mirror", 1);
      if (rcm) cb("rcm", 0);
      if (tripped) cb("interlock", 0);
      if (imd) cb("imd", 0);
    }
  }

  /**
   * Brings every model to this.t with the present actuators (a zero-length step when they are there already).
   * Returns true when the interlock tripped.
   */
  private sync(): boolean {
    const now = this.t;
    const c = this.config;
    this.thermal.step(now, this.amps); // the currents that flowed since the last step
    const k0 = this.relays[0].closed;
    const k1 = this.relays.length > 1 ? this.relays[1].closed : true;
    const dc = this.dc;
    let inputOk = true;
    for (let i = 0; i < 3; i++) {
      const wired = i === 0 || c.phases === 3;
      const v = wired ? this.grid.voltage(i) : 0;
      this.gridV[i] = v;
      this.socketV[i] = dc === null && wired && k0 && (i === 0 || k1) ? v : 0;
      if (wired && !(v > 0.5 * c.nominalVoltage)) inputOk = false;
    }
    const ev = this.evModel;
    if (ev !== null) {
      this.evInputs.duty = this.duty;
      ev.step(now, this.evInputs);
      for (let i = 0; i < 3; i++) this.amps[i] = ev.phaseCurrent(i);
    } else {
      this.amps[0] = this.amps[1] = this.amps[2] = 0;
    }
    if (dc === null) {
      this.meter.step(now, this.gridV, this.amps, ev !== null ? ev.config.powerFactor : 1, this.grid.frequency());
      return this.checkInterlock(now);
    }
    // DC board: the module, then the isolation monitor on the cable voltage, then the AC input through the meter.
    dc.module.step(now, { outputClosed: this.relays[0].closed, load: this.dcLoad(), inputOk });
    if (dc.imd.step(now, dc.module.voltage)) this.dcNote = true;
    const pAc = dc.module.acInputPower;
    const n = c.phases;
    const pf = dc.config.powerFactor;
    for (let i = 0; i < 3; i++) {
      const v = this.gridV[i];
      this.amps[i] = pAc > 0 && (i === 0 || n === 3) && v > 0 ? pAc / (n * v * pf) : 0;
    }
    this.meter.step(now, this.gridV, this.amps, pf, this.grid.frequency());
    return this.checkInterlock(now);
  }

  /** The physical pilot's band (noise-free high level), or null between bands. */
  pilotState(): PilotState | null {
    pilotLevels(this.duty, this.pilotLoad(), this.scratch, this.pilotParams);
    return pilotBand(this.scratch.high);
  }

  /** What loads the pilot wire: a short (pilotShort), the EV, or nothing. */
  private pilotLoad(): PilotLoad | null {
    if (this.shorted) return PILOT_SHORT;
    return this.evModel !== null ? this.evModel.pilotLoad() : null;
  }

  /** INTERLOCK_PILOT / INTERLOCK_RCD bits of the conditions that forbid an energised socket now. */
  private forbiddenCause(): number {
    const s = this.pilotState();
    let bits = s === "C" || s === "D" ? 0 : INTERLOCK_PILOT;
    if (this.rcd.tripped) bits |= INTERLOCK_RCD;
    return bits;
  }

  private checkInterlock(now: number): boolean {
    const bad = this.relays[0].coil === 1 ? this.forbiddenCause() : 0;
    if (bad === 0) {
      this.forbiddenSince = -1;
      return false;
    }
    if (this.forbiddenSince < 0) this.forbiddenSince = now;
    if (now - this.forbiddenSince < this.config.interlockGraceMs) return false;
    this.trip(bad);
    return true;
  }

  private trip(cause: number): void {
    for (const r of this.relays) r.command(0, this.t);
    this.trips++;
    this.cause = cause;
    this.forbiddenSince = -1;
  }

  private relay(index: number): RelayModel {
    const r = index === 0 || index === 1 ? this.relays[index] : undefined;
    if (r === undefined) throw new RangeError(`no contactor ${index} on this board`);
    return r;
  }

  // ---- actuators (called by the simulated HAL) ----

  /** Sets the pilot generator (hal/charging.ts duty encoding). RangeError for anything else. */
  setPilotDuty(duty: number): void {
    if (!isValidDuty(duty)) throw new RangeError(`pilot duty must be an integer in -1..1000, got ${duty}`);
    this.duty = duty;
    this.syncAndNotify();
  }

  get pilotDuty(): number {
    return this.duty;
  }

  /** Energises (1) or releases (0) a contactor coil, through the interlock. */
  setContactor(index: 0 | 1, value: 0 | 1): void {
    const r = this.relay(index);
    if (value !== 0 && value !== 1) throw new RangeError(`contactor value must be 0 or 1, got ${value}`);
    if (value === 0) {
      r.command(0, this.t);
      this.syncAndNotify();
      return;
    }
    if (r.coil === 1) return;
    const energises = index === 0 || this.relays[0].coil === 1;
    const bad = energises ? this.forbiddenCause() : 0;
    if (bad !== 0) {
      this.refused++;
      this.cause = INTERLOCK_FORBIDDEN_CLOSE | bad;
      if (this.onChange !== undefined) this.onChange("interlock", index);
      return;
    }
    r.command(1, this.t);
    this.syncAndNotify();
  }

  /** The coil state after the interlock (what the contactor is actually being driven to). */
  coil(index: 0 | 1): 0 | 1 {
    return this.relay(index).coil;
  }

  /** The watchdog expired: the interlock releases every coil (cause INTERLOCK_WATCHDOG). */
  watchdogBite(): void {
    this.trip(INTERLOCK_WATCHDOG);
    if (this.onChange !== undefined) this.onChange("interlock", 0);
  }

  private syncAndNotify(): void {
    const tripped = this.sync();
    const imd = this.dcNote;
    this.dcNote = false;
    if (tripped && this.onChange !== undefined) this.onChange("interlock", 0);
    if (imd && this.onChange !== undefined) this.onChange("imd", 0);
  }

  // ---- DC board (config.dc) ----

  private dcSide(): WorldDc {
    if (this.dc === null) throw new RangeError("this board has no DC power module (WorldConfig.dc)");
    return this.dc;
  }

  /** What is at the DC inlet: the load set with setDcLoad, else the plugged EV if it implements DcLoad. */
  dcLoad(): DcLoad | null {
    if (this.dcLoadSet !== undefined) return this.dcLoadSet;
    return asDcLoad(this.evModel);
  }

  /**
   * Puts a DcLoad at the inlet in place of the plugged EV's own (tests, tools); null: nothing; undefined: back to
   * the plugged EV. The pilot still comes from the plugged EV (the interlock judges it as usual).
   */
  setDcLoad(load: DcLoad | null | undefined): void {
    if (load !== undefined && load !== null && asDcLoad(load) === null) throw new TypeError("setDcLoad: not a DcLoad");
    this.dcSide();
    this.dcLoadSet = load;
    this.syncAndNotify();
  }

  /** Power module setpoints (V, A); RangeError outside its rating (hal/dc.ts). */
  dcSetpoint(voltage: number, current: number): void {
    this.dcSide().module.setpoint(voltage, current);
    this.syncAndNotify();
  }

  /** Starts (1) or stops (0) the power module's converter. The output contactor is contactor 0. */
  dcEnable(on: 0 | 1): void {
    if (on !== 0 && on !== 1) throw new RangeError(`DC enable must be 0 or 1, got ${String(on)}`);
    this.dcSide().module.enable(on === 1);
    this.syncAndNotify();
  }

  /** Starts an insulation test at `voltage` V (Error while one runs). */
  imdStart(voltage: number): void {
    this.dcSide().imd.start(voltage, this.t);
    this.syncAndNotify();
  }

  imdStop(): void {
    this.dcSide().imd.stop();
  }

  /**
   * Drives the socket's lock motor (1 lock, 0 unlock). The actuator moves within the call unless it is jammed
   * (lockFault), in which case the position switch stays where it was. Returns true when the position changed.
   */
  setLock(value: 0 | 1): boolean {
    if (value !== 0 && value !== 1) throw new RangeError(`lock value must be 0 or 1, got ${String(value)}`);
    if (this.config.tethered) throw new RangeError("a board with a fixed cable has no socket lock");
    this.lockCmd = value;
    return this.moveLock();
  }

  private moveLock(): boolean {
    if (this.lockJam || this.lockPos === this.lockCmd) return false;
    this.lockPos = this.lockCmd;
    if (this.onChange !== undefined) this.onChange("lock", 0);
    return true;
  }

  /** The lock's position switch: 1 locked, 0 unlocked. */
  lockPosition(): 0 | 1 {
    return this.lockPos;
  }

  get lockCommand(): 0 | 1 {
    return this.lockCmd;
  }

  // ---- sensors ----

  /** One ADC sample of the pilot (mV, with noise). */
  samplePilot(into: { high: number; low: number }): void {
    samplePilot(this.duty, this.pilotLoad(), this.pilotRng, into, this.pilotParams);
  }

  /** PP–PE resistance, ohms, or PROXIMITY_OPEN. */
  proximityOhms(): number {
    return this.cable;
  }

  mirror(index: 0 | 1): 0 | 1 {
    return this.relay(index).mirror();
  }

  /** RCM_* status bits. */
  rcmStatus(): number {
    return this.rcd.status();
  }

  /** Starts the RCM self-test; throws if one is running. */
  rcmSelfTest(): void {
    this.rcd.selfTest(this.t);
  }

  /** Clears a latched RCM trip; refused (returns false) while residual current persists. */
  rcmReset(): boolean {
    const ok = this.rcd.reset();
    this.syncAndNotify();
    return ok;
  }

  readMeter(into: MeterReading): MeterReading {
    return this.meter.read(into);
  }

  /** °C; RangeError for a sensor the board does not have. */
  temperature(sensor: string): number {
    return this.thermal.temperature(sensor);
  }

  /** Voltage at the socket on phase 0..2 (0 when its contacts are open; always 0 on a DC board), V. */
  socketVoltage(phase: number): number {
    const v = this.socketV[phase];
    if (v === undefined) throw new RangeError(`bad phase ${phase}`);
    return v;
  }

  // ---- scenario controls ----

  /** Plugs an EV in (state B). Throws if one is already plugged. */
  plug(ev: Partial<EvConfig> = {}): EvModel {
    if (this.evModel !== null) throw new Error("an EV is already plugged in");
    const m = new EvModel(ev, this.t);
    this.evModel = m;
    this.syncAndNotify();
    return m;
  }

  /** Pulls the plug at once, whatever current flows. No-op without an EV. */
  unplug(): void {
    const ev = this.evModel;
    if (ev === null) return;
    const flowing = this.dc !== null ? this.dc.module.current : Math.max(this.amps[0], this.amps[1], this.amps[2]);
    if (flowing > 0.5) this.unplugsLoaded++;
    ev.unplug(this.t);
    this.evModel = null;
    this.syncAndNotify();
  }

  /** Shorts the pilot wire to PE (state E, e.g. a damaged cable) or removes the short. */
  shortPilot(on: boolean): void {
    this.shorted = on === true;
    this.syncAndNotify();
  }

  get pilotShorted(): boolean {
    return this.shorted;
  }

  /** Welds contactor `index` (now if closed, else at its next closing). */
  weld(index: 0 | 1 = 0): void {
    this.relay(index).weld();
  }

  /** Sets the residual current flowing from now on (AC RMS mA, DC mA). */
  injectResidualCurrent(acMa: number, dcMa: number): void {
    this.rcd.inject(acMa, dcMa, this.t);
  }

  setAmbient(c: number): void {
    this.thermal.setAmbient(c);
  }

  /**
   * Jams the socket lock (on: its position stops following the motor, in whatever position it is now) or frees
   * it (off: it moves to the commanded position at once).
   */
  jamLock(on: boolean): void {
    this.lockJam = on === true;
    if (!this.lockJam) this.moveLock();
  }

  get lockJammed(): boolean {
    return this.lockJam;
  }

  /** Injects a power module fault (DC_FAULT_* code, latched), or with 0 removes its cause (the latch stays until the firmware disables the module). */
  dcFault(code: number): void {
    const m = this.dcSide().module;
    if (code === 0) m.clearFault();
    else m.injectFault(code);
    this.syncAndNotify();
    if (code !== 0 && this.onChange !== undefined) this.onChange("dc", 0);
  }

  /** Sets the insulation resistance DC+/DC− to PE from now on (an insulation fault, or its repair), ohms. */
  setInsulationOhms(ohms: number): void {
    this.dcSide().imd.insulationOhms = ohms;
  }

  /** Changes the cable in the socket (PP coding resistor, or PROXIMITY_OPEN). */
  setCable(ohms: number): void {
    if (!isCableOhms(ohms)) throw new RangeError(`bad cable resistance ${ohms}`);
    this.cable = ohms;
  }
}
