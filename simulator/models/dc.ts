/**
 * The EVSE side of a DC charger: the power module (AC/DC converter) and the isolation monitor (IMD).
 * The car side is a DcLoad (simulator/models/dc-load.ts); the World (world.ts) wires them through the board's
 * output contactor (contactor 0) and feeds the module's AC input draw through the meter.
 *
 * Power module (DcPowerModuleModel)
 *  - Two nodes: the module's output capacitor (moduleVoltage) and the cable/inlet (voltage, what the module's
 *    sensor reads: it sits on the cable side of the output contactor, so a welded contactor or a car contactor
 *    left closed shows up in WeldingDetection). The output contactor joins them; the car's DC contactors join the
 *    cable to its battery.
 *  - The converter follows its setpoints through ramped references: the voltage reference moves at rampVPerS
 *    (default 200 V/s: 0 → 500 V in 2.5 s, the order of a real module's soft start), the current limit at
 *    rampAPerS (default 50 A/s, both directions: 0 → 125 A in 2.5 s). Documented choices, not figures from a
 *    standard. At enable the voltage reference starts at the module's present output voltage and the current
 *    limit at 0 (soft start).
 *  - Connected to the battery (output contactor closed AND load.dcContactorClosed) while running:
 *      I = max(0, min(I_ref, I_P, (V_ref − OCV)/R, load.dcCurrentLimit())),   V = OCV + I·R
 *    where I_P solves I·(OCV + I·R) = maxPower (so V·I never exceeds the power rating): constant current until
 *    the voltage reference is reached, then constant voltage.
 *  - Not connected to a battery: no current; a running converter holds its capacitor at the ramped voltage
 *    reference (a buck stage cannot sink current: above the reference it only bleeds). A stopped converter's
 *    capacitor, and an isolated cable, bleed down with time constant bleedTauMs (default 500 ms: 500 V → < 60 V
 *    in 1.1 s, 1000 V in 1.4 s; IEC 61851-23 wants the output below 60 V within a second or so after a stop, so
 *    this is the right order; the value is a modelling choice). Integrated by backward Euler, v ← v / (1 + dt/τ),
 *    arithmetic only (bit-identical on every IEEE engine, like thermal.ts).
 *  - Energy: the interval since the last step is integrated with the values held during it (the convention of
 *    ev.ts / meter.ts): DC energy = Σ V·I·dt, handed to the load as it flows (load.acceptDcWh: the energy at the
 *    inlet terminals; what part of it the battery's resistance turns into heat is the load's business). The AC
 *    input draw is P_dc / efficiency (acInputPower), held piecewise constant over the same intervals, so the
 *    meter's energy is the DC energy / η to rounding.
 *  - A latched fault (injectFault: over-temperature, short circuit) stops the converter at once; it is cleared by
 *    disabling the module (enable(false)) once its cause is gone (clearFault).
 *  - No AC input (inputOk false: grid lost or sagging) stops the converter while it lasts (not latched).
 *
 * Isolation monitor (IsolationMonitorModel)
 *  - start(V) runs a test that takes imdTestMs (default 1500 ms). At its end the cable must be at V ± 10 %
 *    (the firmware has to ramp the module onto the test voltage first), else the result is FAULT with reason
 *    "no test voltage" and no resistance. Otherwise the insulation resistance R (one figure: the lower of DC+/DC−
 *    to PE) is judged against the test voltage per IEC 61851-23:2014 (6.3.1.105 / annex CC, insulation check
 *    before charging; figures confirmed against public implementations, e.g. EVerest's EvseManager cable check):
 *      R > 500 Ω/V → VALID;  100 Ω/V ≤ R ≤ 500 Ω/V → WARNING;  R < 100 Ω/V → FAULT.
 *    (The 2023 edition replaced these with an absolute figure — 100 kΩ, CC.5.1 — not modelled.)
 *  - After a VALID or WARNING result the monitor keeps measuring (every imdTestMs, against the same test voltage,
 *    with its own measuring signal) until stop(): a change of the result (an insulation fault injected mid-charge)
 *    is a new result. A FAULT ends the measurement (status stays FAULT until start() or stop()).
 *
 * Platform-neutral: no Node imports, arithmetic only.
 */
import { ISOLATION_FAULT, ISOLATION_IDLE, ISOLATION_RUNNING, ISOLATION_VALID, ISOLATION_WARNING } from "../../hal/dc.js";
import type { DcLimits, DcSample, IsolationSample } from "../../hal/dc.js";
import type { DcLoad } from "./dc-load.js";

/** DcSample.fault codes of the simulated module. */
export const DC_FAULT_NONE = 0;
export const DC_FAULT_OVER_TEMPERATURE = 1;
export const DC_FAULT_SHORT_CIRCUIT = 2;

/** IEC 61851-23:2014 insulation thresholds, Ω per volt of test voltage. */
export const IMD_VALID_OHMS_PER_V = 500;
export const IMD_FAULT_OHMS_PER_V = 100;
/** The cable must be within this fraction of the test voltage at the end of a test. */
export const IMD_VOLTAGE_TOLERANCE = 0.1;

export interface DcModuleConfig extends DcLimits {
  /** AC → DC efficiency η, 0 < η ≤ 1: AC input power = DC output power / η. */
  efficiency: number;
  /** Power factor of the module's AC input (the meter uses it: P = V·I·PF). */
  powerFactor: number;
  /** Ramp of the voltage reference, V/s. */
  rampVPerS: number;
  /** Ramp of the current limit, A/s. */
  rampAPerS: number;
  /** Time constant of the output bleed (capacitor discharge with the converter off), ms. */
  bleedTauMs: number;
}

export interface ImdConfig {
  /** Duration of one insulation test, ms. */
  imdTestMs: number;
  /** Insulation resistance DC+/DC− to PE, ohms. */
  insulationOhms: number;
}

export interface DcConfig extends DcModuleConfig, ImdConfig {}

/** A 50 kW module for 150..1000 V, 125 A (typical market figures, not from a standard). */
export const DEFAULT_DC_CONFIG: Readonly<DcConfig> = Object.freeze({
  maxVoltage: 1000,
  minVoltage: 150,
  maxCurrent: 125,
  minCurrent: 0,
  maxPower: 50000,
  efficiency: 0.95,
  powerFactor: 0.99,
  rampVPerS: 200,
  rampAPerS: 50,
  bleedTauMs: 500,
  imdTestMs: 1500,
  insulationOhms: 10_000_000,
});

const DC_KEYS = Object.keys(DEFAULT_DC_CONFIG);

function finite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** Fills in defaults and validates. RangeError on an unknown key or a bad value (nothing is half-applied). */
export function dcConfig(partial: Partial<DcConfig> = {}): DcConfig {
  if (partial === null || typeof partial !== "object") throw new RangeError("DcConfig: must be an object");
  for (const k of Object.keys(partial)) if (!DC_KEYS.includes(k)) throw new RangeError(`DcConfig: unknown key ${k}; allowed: ${DC_KEYS.join(", ")}`);
  const c: DcConfig = { ...DEFAULT_DC_CONFIG, ...partial };
  const bad = (what: string, why: string): never => {
    throw new RangeError(`DcConfig: ${what} ${why}`);
  };
  for (const k of DC_KEYS) if (!finite(c[k as keyof DcConfig])) bad(k, "must be a finite number");
  if (!(c.maxVoltage > 0)) bad("maxVoltage", "must be > 0");
  if (!(c.minVoltage >= 0 && c.minVoltage <= c.maxVoltage)) bad("minVoltage", "must be in 0..maxVoltage");
  if (!(c.maxCurrent > 0)) bad("maxCurrent", "must be > 0");
  if (!(c.minCurrent >= 0 && c.minCurrent <= c.maxCurrent)) bad("minCurrent", "must be in 0..maxCurrent");
  if (!(c.maxPower > 0)) bad("maxPower", "must be > 0");
  if (!(c.efficiency > 0 && c.efficiency <= 1)) bad("efficiency", "must be in (0, 1]");
  if (!(c.powerFactor > 0 && c.powerFactor <= 1)) bad("powerFactor", "must be in (0, 1]");
  if (!(c.rampVPerS > 0)) bad("rampVPerS", "must be > 0");
  if (!(c.rampAPerS > 0)) bad("rampAPerS", "must be > 0");
  if (!(c.bleedTauMs > 0)) bad("bleedTauMs", "must be > 0");
  if (!(c.imdTestMs > 0)) bad("imdTestMs", "must be > 0");
  if (!(c.insulationOhms > 0)) bad("insulationOhms", "must be > 0");
  return c;
}

/** The DcLoad contract, checked at run time (the EV model implements it; an AC-only model does not). */
export function asDcLoad(x: unknown): DcLoad | null {
  if (x === null || typeof x !== "object") return null;
  const o = x as Record<string, unknown>;
  return typeof o["batteryVoltage"] === "function" &&
    typeof o["dcCurrentLimit"] === "function" &&
    typeof o["acceptDcWh"] === "function" &&
    typeof o["dcContactorClosed"] === "boolean" &&
    typeof o["batteryOhms"] === "number"
    ? (x as DcLoad)
    : null;
}

export interface DcModuleInputs {
  /** The output contactor's contacts are closed (the board's contactor 0, welded included). */
  outputClosed: boolean;
  /** What is at the inlet (null: nothing, or a car without a DC battery interface). */
  load: DcLoad | null;
  /** The AC input is present: the converter can run. */
  inputOk: boolean;
}

function approach(x: number, target: number, maxStep: number): number {
  if (x < target) return Math.min(target, x + maxStep);
  if (x > target) return Math.max(target, x - maxStep);
  return x;
}

/** Below this the bleed snaps a node to 0 V (keeps the arithmetic out of denormals). */
const ZERO_V = 1e-3;

export class DcPowerModuleModel {
  readonly config: DcModuleConfig;
  readonly limits: DcLimits;
  private lastT: number;
  private on = false;
  private vSet = 0;
  private iSet = 0;
  private vRef = 0;
  private iRef = 0;
  private vMod = 0;
  private vCable = 0;
  private iOut = 0;
  private pDc = 0;
  private heldLoad: DcLoad | null = null;
  private cause = DC_FAULT_NONE;
  private latched = DC_FAULT_NONE;
  private dcWh = 0;
  private inWh = 0;
  private running = false;

  constructor(config: Partial<DcModuleConfig> = {}, now = 0) {
    const full = dcConfig(config);
    this.config = {
      maxVoltage: full.maxVoltage,
      minVoltage: full.minVoltage,
      maxCurrent: full.maxCurrent,
      minCurrent: full.minCurrent,
      maxPower: full.maxPower,
      efficiency: full.efficiency,
      powerFactor: full.powerFactor,
      rampVPerS: full.rampVPerS,
      rampAPerS: full.rampAPerS,
      bleedTauMs: full.bleedTauMs,
    };
    this.limits = Object.freeze({ maxVoltage: full.maxVoltage, minVoltage: full.minVoltage, maxCurrent: full.maxCurrent, minCurrent: full.minCurrent, maxPower: full.maxPower });
    if (!finite(now)) throw new RangeError("DcPowerModuleModel: bad time");
    this.lastT = now;
  }

  /**
   * Sets the target voltage (V) and current limit (A). RangeError outside the rating (hal/dc.ts): voltage in
   * minVoltage..maxVoltage, current 0 or minCurrent..maxCurrent. Takes effect at the next step.
   */
  setpoint(voltage: number, current: number): void {
    const l = this.limits;
    if (!finite(voltage) || voltage < l.minVoltage || voltage > l.maxVoltage) throw new RangeError(`DC voltage setpoint must be in ${l.minVoltage}..${l.maxVoltage} V, got ${String(voltage)}`);
    if (!finite(current) || (current !== 0 && (current < l.minCurrent || current > l.maxCurrent))) throw new RangeError(`DC current setpoint must be 0 or in ${l.minCurrent}..${l.maxCurrent} A, got ${String(current)}`);
    this.vSet = voltage;
    this.iSet = current;
  }

  /** Starts (true) or stops (false) the converter. Stopping clears a latched fault whose cause is gone. */
  enable(on: boolean): void {
    if (typeof on !== "boolean") throw new RangeError("DcPowerModuleModel.enable: boolean expected");
    if (on && !this.on) {
      this.vRef = this.vMod;
      this.iRef = 0;
    }
    if (!on && this.cause === DC_FAULT_NONE) this.latched = DC_FAULT_NONE;
    this.on = on;
  }

  /** A module fault (DC_FAULT_*): latched at once, the converter stops. */
  injectFault(code: number): void {
    if (!Number.isInteger(code) || code <= 0) throw new RangeError(`bad DC module fault code ${String(code)}`);
    this.cause = code;
    this.latched = code;
  }

  /** The fault's cause is gone (cooled down, short removed); the latch stays until enable(false). */
  clearFault(): void {
    this.cause = DC_FAULT_NONE;
  }

  get enabled(): boolean {
    return this.on;
  }

  /** The latched fault code (0 none). */
  get fault(): number {
    return this.latched;
  }

  /** The converter is actually delivering (enabled, no fault, AC input present). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Cable-side voltage (what the module measures), V. */
  get voltage(): number {
    return this.vCable;
  }

  /** The module's own output capacitor, V (equals voltage while the output contactor is closed). */
  get moduleVoltage(): number {
    return this.vMod;
  }

  /** Output current, A. */
  get current(): number {
    return this.iOut;
  }

  /** DC output power now, W. */
  get power(): number {
    return this.pDc;
  }

  /** AC input power now, W (power / efficiency). */
  get acInputPower(): number {
    return this.pDc / this.config.efficiency;
  }

  /** DC energy delivered so far, Wh. */
  get energyWh(): number {
    return this.dcWh;
  }

  /** AC energy drawn so far, Wh (Σ acInputPower·dt). */
  get acEnergyWh(): number {
    return this.inWh;
  }

  get setpointVoltage(): number {
    return this.vSet;
  }

  get setpointCurrent(): number {
    return this.iSet;
  }

  /** Fills a hal/dc.ts DcSample. */
  read(into: DcSample): DcSample {
    into.voltage = this.vCable;
    into.current = this.iOut;
    into.enabled = this.on;
    into.fault = this.latched;
    return into;
  }

  private bleed(v: number, dtMs: number): number {
    if (dtMs <= 0) return v;
    const out = v / (1 + dtMs / this.config.bleedTauMs);
    return out < ZERO_V ? 0 : out;
  }

  /**
   * Integrates the interval since the last step with the values held during it, then computes the outputs at
   * `now` from `inputs` (the ramps advance by the interval).
   */
  step(now: number, inputs: DcModuleInputs): void {
    if (!finite(now) || now < this.lastT) throw new RangeError(`DcPowerModuleModel.step: bad time ${now} (last ${this.lastT})`);
    const dtMs = now - this.lastT;
    if (dtMs > 0 && this.pDc !== 0) {
      const wh = (this.pDc * dtMs) / 3600000;
      this.dcWh += wh;
      this.inWh += wh / this.config.efficiency;
      if (this.heldLoad !== null) this.heldLoad.acceptDcWh(wh);
    }
    this.lastT = now;
    const c = this.config;
    const dtS = dtMs / 1000;
    const running = this.on && this.latched === DC_FAULT_NONE && inputs.inputOk;
    this.running = running;
    if (running) {
      this.vRef = approach(this.vRef, this.vSet, c.rampVPerS * dtS);
      this.iRef = approach(this.iRef, this.iSet, c.rampAPerS * dtS);
    } else {
      this.iRef = 0;
    }
    const load = inputs.load;
    const battery = load !== null && load.dcContactorClosed ? load : null;
    let i = 0;
    if (inputs.outputClosed && battery !== null) {
      const ocv = battery.batteryVoltage();
      const r = battery.batteryOhms;
      if (!finite(ocv) || ocv < 0 || !finite(r) || r < 0) throw new RangeError("DcLoad: bad battery voltage or resistance");
      if (running) {
        const lim = battery.dcCurrentLimit();
        const iP = r > 0 ? (Math.sqrt(ocv * ocv + 4 * r * c.maxPower) - ocv) / (2 * r) : ocv > 0 ? c.maxPower / ocv : Infinity;
        const iV = this.vRef <= ocv ? 0 : r > 0 ? (this.vRef - ocv) / r : Infinity;
        i = Math.min(this.iRef, iP, iV, finite(lim) ? lim : 0);
        if (!(i > 0)) i = 0;
      }
      const v = ocv + i * r;
      this.vMod = v;
      this.vCable = v;
    } else {
      const bled = this.bleed(this.vMod, dtMs);
      this.vMod = running ? Math.max(this.vRef, bled) : bled;
      if (inputs.outputClosed) this.vCable = this.vMod;
      else if (battery !== null) this.vCable = battery.batteryVoltage();
      else this.vCable = this.bleed(this.vCable, dtMs);
    }
    this.iOut = i;
    this.pDc = i * this.vCable;
    this.heldLoad = i > 0 ? load : null;
  }
}

export type ImdReason = "" | "insulation" | "no test voltage";

export class IsolationMonitorModel {
  readonly config: ImdConfig;
  private ohms: number;
  private st = ISOLATION_IDLE;
  private measured = NaN;
  private testV = 0;
  private dueAt = -1;
  private monitoring = false;
  private why: ImdReason = "";
  private lastT: number;
  /** Results produced (tests finished plus changes seen while monitoring). */
  results = 0;

  constructor(config: Partial<ImdConfig> = {}, now = 0) {
    const full = dcConfig(config);
    this.config = { imdTestMs: full.imdTestMs, insulationOhms: full.insulationOhms };
    this.ohms = full.insulationOhms;
    this.lastT = now;
  }

  /** The insulation resistance the monitor will measure from now on (a fault injected or repaired), ohms. */
  set insulationOhms(ohms: number) {
    if (!finite(ohms) || ohms <= 0) throw new RangeError(`insulation resistance must be a positive number of ohms, got ${String(ohms)}`);
    this.ohms = ohms;
  }

  get insulationOhms(): number {
    return this.ohms;
  }

  get status(): number {
    return this.st;
  }

  /** The last measured resistance, ohms; NaN before the first result (and after a "no test voltage" fault). */
  get resistance(): number {
    return this.measured;
  }

  /** Why the last result is a FAULT: "insulation" or "no test voltage" ("" otherwise). */
  get reason(): ImdReason {
    return this.why;
  }

  get testVoltage(): number {
    return this.testV;
  }

  /** When the next result is due (the end of the running test, or the next measurement while monitoring), ms; −1 none. */
  get nextAt(): number {
    return this.dueAt;
  }

  /** Starts a test at `voltage` (V) at time `now`. Error while one is running; RangeError for a bad voltage. */
  start(voltage: number, now: number): void {
    if (!finite(voltage) || voltage <= 0) throw new RangeError(`isolation test voltage must be a positive number, got ${String(voltage)}`);
    if (this.st === ISOLATION_RUNNING) throw new Error("an isolation test is already running");
    this.st = ISOLATION_RUNNING;
    this.testV = voltage;
    this.dueAt = Math.max(now, this.lastT) + this.config.imdTestMs;
    this.monitoring = false;
    this.why = "";
  }

  /** Stops a running test or the monitoring after it: status IDLE (the last resistance stays readable). */
  stop(): void {
    this.st = ISOLATION_IDLE;
    this.dueAt = -1;
    this.monitoring = false;
    this.why = "";
  }

  /** VALID / WARNING / FAULT for a resistance at the test voltage (multiplications: exact at the boundaries). */
  static judge(ohms: number, voltage: number): number {
    if (ohms > IMD_VALID_OHMS_PER_V * voltage) return ISOLATION_VALID;
    if (ohms >= IMD_FAULT_OHMS_PER_V * voltage) return ISOLATION_WARNING;
    return ISOLATION_FAULT;
  }

  /**
   * Advances to `now`; `cableVoltage` is the output's voltage at `now`. Returns true when a result came out
   * (a test finished, or a measurement while monitoring changed the status or the resistance).
   */
  step(now: number, cableVoltage: number): boolean {
    if (!finite(now) || now < this.lastT) throw new RangeError(`IsolationMonitorModel.step: bad time ${now} (last ${this.lastT})`);
    this.lastT = now;
    if (this.dueAt < 0 || now < this.dueAt) return false;
    if (!this.monitoring) {
      // The end of the test proper: the output must be at the test voltage.
      this.results++;
      if (!(Math.abs(cableVoltage - this.testV) <= IMD_VOLTAGE_TOLERANCE * this.testV)) {
        this.st = ISOLATION_FAULT;
        this.measured = NaN;
        this.why = "no test voltage";
        this.dueAt = -1;
        return true;
      }
      this.measured = this.ohms;
      this.st = IsolationMonitorModel.judge(this.ohms, this.testV);
      this.settle(now);
      return true;
    }
    const status = IsolationMonitorModel.judge(this.ohms, this.testV);
    const changed = status !== this.st || this.ohms !== this.measured;
    this.measured = this.ohms;
    this.st = status;
    this.settle(now);
    if (changed) this.results++;
    return changed;
  }

  private settle(now: number): void {
    if (this.st === ISOLATION_FAULT) {
      this.why = "insulation";
      this.dueAt = -1;
      this.monitoring = false;
    } else {
      this.why = "";
      this.monitoring = true;
      this.dueAt = now + this.config.imdTestMs;
    }
  }

  read(into: IsolationSample): IsolationSample {
    into.status = this.st;
    into.resistance = this.measured;
    return into;
  }
}
