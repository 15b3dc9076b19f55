/**
 * An electric vehicle on an AC charge point, as IEC 61851-1 Annex A sees it: the pilot load it presents
 * (S2, R3, diode), how it reads the PWM duty, the current its onboard charger draws, and its battery.
 *
 * Annex A facts relied on:
 *  - duty → maximum current (table A.8 of ed. 3, A.7 of ed. 2): 8 % ≤ d < 10 % → 6 A;
 *    10 % ≤ d ≤ 85 % → d × 0.6 A; 85 % < d ≤ 96 % → (d − 64) × 2.5 A; 96 % < d ≤ 97 % → 80 A;
 *    3..7 % = digital communication (5 % = ISO 15118 / HLC: a basic car ignores it and draws nothing; an `hlc`
 *    car is driven by its communication controller, see "High-level communication" below);
 *    every other duty: no charging allowed;
 *  - the EV shall follow a change of the duty within 5 s (sequence timing table A.6/A.7: "T10");
 *  - steady +12 V (no PWM) means charging is not allowed: the EV stops drawing and opens S2 (C → B);
 *  - minimum current signalled is 6 A.
 *
 * Model of the reaction (documented choice, not from the standard): the EV perceives a change of the pilot
 * `reaction = response/2` after it happens (response = responseDelayMs, or misbehaviour.slowResponseMs).
 * It then ramps: up at rampAPerS (onboard-charger soft start); down fast enough to reach the new limit by
 * `response` after the change (rate = max(rampAPerS, Δ/(response − reaction))). So a compliant EV
 * (response ≤ 5000 ms) always meets T10 for decreases, and slowResponseMs > 5000 is the non-compliant case.
 *
 * Timing convention of step(now, inputs): the interval since the previous step is integrated with what
 * held during it (the previous inputs and the current decided then), then `inputs` take effect at `now`.
 * The World calls step with the same `now` again (dt = 0) after every actuator change, so a change is
 * registered at the instant it happens.
 *
 * High-level communication (config `hlc`, the car talks ISO 15118 / DIN 70121; simulator/evcc drives it):
 *  - 5 % PWM never wakes the car by itself: S2 is closed and opened by its communication controller (setS2), which
 *    follows the message sequence (ISO 15118-2 [V2G2-847]/[V2G2-848], see simulator/evcc/messages/scripted.ts);
 *  - while the controller holds S2 closed and the pilot is in the digital-communication band, the AC current
 *    follows setHlcLimit(amps) (the negotiated limit) with the same ramp-up, taper, minCurrent and phase logic as
 *    basic charging; a lower limit is reached within response/2 (the car's own command: no perception delay), and
 *    at targetSoc the charger stops at once (the controller ends the session; S2 stays its business);
 *  - any other perceived duty ends HLC control per IEC 61851-1: steady +12 V (x1), −12 V or no pilot → stop
 *    drawing, then open S2 (and the DC contactors); a nominal PWM duty (the EVSE fell back) → basic charging on it.
 *  A basic car (hlc false) behaves exactly as before; setS2/setHlcLimit throw on it.
 *
 * DC side (DcLoad, simulator/models/dc-load.ts): the traction battery behind the car's own DC contactors
 * (setDcContactor). Open-circuit voltage from SoC: piecewise-linear `dcOcvCurve` ([SoC %, V] points), by default
 * the straight line 330 V at 0 % → 410 V at 100 % of a "400 V class" pack (nominal ≈ 370 V), scaled by
 * dcNominalVoltage/370 when only dcNominalVoltage is given. Internal resistance dcOhms (terminal voltage
 * = OCV + I·R while charging). BMS current limit: dcMaxCurrent up to 80 % SoC, then linear down to 0 A at 100 %
 * (the same shape as the onboard charger's AC taper). acceptDcWh(wh) raises the SoC by wh / capacity exactly (no
 * conversion loss: the energy is counted at the battery) and adds to batteryWh / dcEnergyWh.
 *
 * Platform-neutral: no Node imports, arithmetic only.
 */
import { DIODE_DROP_MV, R2_OHMS, R3_C_OHMS, R3_D_OHMS, isPwm, isValidDuty, parallel } from "./pilot-circuit.js";
import type { PilotLoad } from "./pilot-circuit.js";
import type { DcLoad } from "./dc-load.js";

/** IEC 61851-1: the EV shall follow a PWM change within 5 s. */
export const IEC_MAX_RESPONSE_MS = 5000;
/** Below this RMS voltage a phase is considered dead by the onboard charger. */
export const EV_MIN_PHASE_VOLTS = 100;

export type EvState = "A" | "B" | "C" | "D";

export interface EvMisbehaviour {
  /** Draws this much above the allowed current (A per phase) while PWM allows charging. */
  overdrawA?: number;
  /** The pilot diode is missing: the negative half of the pilot is loaded too. */
  missingDiode?: boolean;
  /** Follows PWM changes this late (ms); > 5000 is non-compliant. Overrides responseDelayMs. */
  slowResponseMs?: number;
  /** Keeps S2 closed (stays in C/D) when the EVSE stops the PWM. */
  ignorePwmOff?: boolean;
}

export interface EvConfig {
  /** Phases the onboard charger uses. */
  phases: 1 | 3;
  /** Usable battery capacity, kWh. */
  batteryKWh: number;
  /** State of charge at plug-in, percent 0..100. */
  initialSoc: number;
  /** The EV stops (opens S2, "suspended EV") when SoC reaches this, percent. */
  targetSoc: number;
  /** Onboard-charger maximum, A per phase. */
  maxCurrent: number;
  /** Below this limit the charger does not draw, A (IEC: 6 A is the lowest signalled current). */
  minCurrent: number;
  /** AC → battery efficiency, 0 < η ≤ 1. */
  efficiency: number;
  /** Power factor of the onboard charger's PFC stage (the meter uses it: P = V·I·PF). */
  powerFactor: number;
  /** Onboard-charger ramp-up rate, A/s. */
  rampAPerS: number;
  /** Time to follow a PWM change, ms (≤ 5000 per IEC 61851-1). */
  responseDelayMs: number;
  /** Time from PWM appearing (≥ minCurrent) to closing S2 (B → C), ms. */
  wakeDelayMs: number;
  /** The EV requests ventilation: S2 closes onto R3 = 270 Ω (state D) instead of 1.3 kΩ (C). */
  ventilation: boolean;
  misbehaviour: EvMisbehaviour;
  /** The car talks ISO 15118 / DIN 70121: its communication controller drives S2 and the current at 5 % PWM. */
  hlc: boolean;
  /** Nominal voltage of the traction battery, V (scales the default OCV curve: 330..410 V at 370 V). */
  dcNominalVoltage: number;
  /** Open-circuit voltage curve, [SoC %, V] points with rising SoC from 0 to 100 (piecewise linear); null = default. */
  dcOcvCurve: ReadonlyArray<readonly [number, number]> | null;
  /** Battery internal resistance plus the car's DC wiring, ohms. */
  dcOhms: number;
  /** BMS maximum DC charging current, A (full up to 80 % SoC, then tapering to 0 A at 100 %). */
  dcMaxCurrent: number;
  /** The car's maximum DC voltage (EVMaximumVoltageLimit), V. */
  dcMaxVoltage: number;
}

/** A typical 11 kW three-phase car (figures are typical market values, not from a standard). */
export const DEFAULT_EV_CONFIG: Readonly<EvConfig> = Object.freeze({
  phases: 3,
  batteryKWh: 60,
  initialSoc: 30,
  targetSoc: 90,
  maxCurrent: 16,
  minCurrent: 6,
  efficiency: 0.9,
  powerFactor: 0.99,
  rampAPerS: 10,
  responseDelayMs: 1000,
  wakeDelayMs: 500,
  ventilation: false,
  misbehaviour: Object.freeze({}),
  hlc: false,
  dcNominalVoltage: 370,
  dcOcvCurve: null,
  dcOhms: 0.1,
  dcMaxCurrent: 125,
  dcMaxVoltage: 450,
}) as Readonly<EvConfig>;

/** The default OCV curve of a 370 V-nominal pack: 330 V empty, 410 V full. */
const DEFAULT_OCV: ReadonlyArray<readonly [number, number]> = [[0, 330], [100, 410]];

function finite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** Fills in defaults and validates. Throws RangeError on any bad field (nothing is half-applied). */
export function evConfig(overrides: Partial<EvConfig> = {}): EvConfig {
  const c: EvConfig = { ...DEFAULT_EV_CONFIG, ...overrides, misbehaviour: { ...(overrides.misbehaviour ?? {}) } };
  const bad = (what: string): never => { throw new RangeError(`EvConfig: bad ${what}`); };
  if (c.phases !== 1 && c.phases !== 3) bad("phases");
  if (!finite(c.batteryKWh) || c.batteryKWh <= 0) bad("batteryKWh");
  if (!finite(c.initialSoc) || c.initialSoc < 0 || c.initialSoc > 100) bad("initialSoc");
  if (!finite(c.targetSoc) || c.targetSoc < 0 || c.targetSoc > 100) bad("targetSoc");
  if (!finite(c.maxCurrent) || c.maxCurrent <= 0) bad("maxCurrent");
  if (!finite(c.minCurrent) || c.minCurrent < 0 || c.minCurrent > c.maxCurrent) bad("minCurrent");
  if (!finite(c.efficiency) || c.efficiency <= 0 || c.efficiency > 1) bad("efficiency");
  if (!finite(c.powerFactor) || c.powerFactor <= 0 || c.powerFactor > 1) bad("powerFactor");
  if (!finite(c.rampAPerS) || c.rampAPerS <= 0) bad("rampAPerS");
  if (!finite(c.responseDelayMs) || c.responseDelayMs < 0) bad("responseDelayMs");
  if (!finite(c.wakeDelayMs) || c.wakeDelayMs < 0) bad("wakeDelayMs");
  if (typeof c.ventilation !== "boolean") bad("ventilation");
  const m = c.misbehaviour;
  if (m.overdrawA !== undefined && (!finite(m.overdrawA) || m.overdrawA < 0)) bad("misbehaviour.overdrawA");
  if (m.slowResponseMs !== undefined && (!finite(m.slowResponseMs) || m.slowResponseMs < 0)) bad("misbehaviour.slowResponseMs");
  if (m.missingDiode !== undefined && typeof m.missingDiode !== "boolean") bad("misbehaviour.missingDiode");
  if (m.ignorePwmOff !== undefined && typeof m.ignorePwmOff !== "boolean") bad("misbehaviour.ignorePwmOff");
  if (typeof c.hlc !== "boolean") bad("hlc");
  if (!finite(c.dcNominalVoltage) || c.dcNominalVoltage < 50 || c.dcNominalVoltage > 1000) bad("dcNominalVoltage");
  if (!finite(c.dcOhms) || c.dcOhms < 0 || c.dcOhms > 10) bad("dcOhms");
  if (!finite(c.dcMaxCurrent) || c.dcMaxCurrent <= 0 || c.dcMaxCurrent > 1000) bad("dcMaxCurrent");
  if (!finite(c.dcMaxVoltage) || c.dcMaxVoltage <= 0 || c.dcMaxVoltage > 1500) bad("dcMaxVoltage");
  if (c.dcOcvCurve !== null) {
    const k = c.dcOcvCurve;
    if (!Array.isArray(k) || k.length < 2) bad("dcOcvCurve");
    let last = -1;
    for (const p of k) {
      if (!Array.isArray(p) || p.length !== 2 || !finite(p[0]) || !finite(p[1]) || p[0] <= last || p[0] > 100 || p[1] <= 0) bad("dcOcvCurve");
      last = p[0];
    }
    if (k[0]![0] !== 0 || k[k.length - 1]![0] !== 100) bad("dcOcvCurve (must run from SoC 0 to 100)");
    c.dcOcvCurve = k.map((p) => [p[0], p[1]] as const);
  }
  if (c.dcMaxVoltage < ocvAt(c, 100)) bad("dcMaxVoltage (below the full battery's OCV)");
  return c;
}

/** Open-circuit voltage of the configured pack at `soc` %, V (piecewise linear; clamped to 0..100 %). */
export function ocvAt(c: Pick<EvConfig, "dcOcvCurve" | "dcNominalVoltage">, soc: number): number {
  const k = c.dcOcvCurve ?? DEFAULT_OCV;
  const scale = c.dcOcvCurve === null ? c.dcNominalVoltage / 370 : 1;
  const x = Math.min(100, Math.max(0, soc));
  for (let i = 1; i < k.length; i++) {
    const [x1, y1] = k[i]!;
    if (x <= x1) {
      const [x0, y0] = k[i - 1]!;
      return (y0 + ((y1 - y0) * (x - x0)) / (x1 - x0)) * scale;
    }
  }
  return k[k.length - 1]![1] * scale;
}

/**
 * The maximum current signalled by a pilot duty (0.1 % units), per IEC 61851-1 Annex A, A.
 * 0 when the duty allows no basic charging (no PWM, digital-communication band, forbidden ranges).
 */
export function signalledCurrent(duty: number): number {
  if (!isPwm(duty)) return 0;
  if (duty < 80) return 0; // < 3 %: not allowed; 3..7 %: digital communication; 7..8 %: not allowed
  if (duty < 100) return 6;
  if (duty <= 850) return (duty * 6) / 100;
  if (duty <= 960) return (duty - 640) / 4;
  if (duty <= 970) return 80;
  return 0;
}

/** True for a duty in the digital-communication band (3 %..7 %; 5 % = ISO 15118 high-level communication). */
export function isDigitalCommunication(duty: number): boolean {
  return duty >= 30 && duty <= 70;
}

export interface EvInputs {
  /** The pilot duty the EVSE generates (hal/charging.ts encoding). */
  duty: number;
  /** RMS voltage per phase at the socket, V: 0 on a phase whose contacts are open. Length ≥ 3. */
  acVolts: ArrayLike<number>;
  /** Phases wired to the outlet. */
  phasesAvailable: 1 | 3;
}

export class EvModel implements DcLoad {
  readonly config: EvConfig;
  private plugged = true;
  private s2 = false;
  private socPct: number;
  private lastT: number;
  private readonly amps = [0, 0, 0];
  private readonly heldVolts = [0, 0, 0];
  private level = 0; // A per live phase, before overdraw
  private downRate: number;
  // pilot perception
  private rawDuty = 1000;
  private pwmSince = -1; // when valid charging PWM appeared (raw), -1 = none
  private pendingAt = -1; // when the pending change will be perceived, -1 = none
  private perceivedDuty = 1000;
  private stopping = false;
  private suspended = false;
  private acWh = 0;
  private batteryWhIn = 0;
  // high-level communication and DC
  private hlcS2 = false; // the communication controller holds S2 closed
  private hlcLimit = 0; // A per phase, negotiated
  private dcClosed = false;
  private dcWh = 0;

  constructor(config: Partial<EvConfig> = {}, now = 0) {
    this.config = evConfig(config);
    this.socPct = this.config.initialSoc;
    this.lastT = now;
    this.downRate = this.config.rampAPerS;
  }

  /** The effective response time, ms (slowResponseMs when misbehaving). */
  get responseMs(): number {
    return this.config.misbehaviour.slowResponseMs ?? this.config.responseDelayMs;
  }

  /** True when every timing and behaviour of this EV is within IEC 61851-1. */
  get compliant(): boolean {
    const m = this.config.misbehaviour;
    return this.responseMs <= IEC_MAX_RESPONSE_MS && !m.overdrawA && !m.missingDiode && !m.ignorePwmOff;
  }

  /** State of charge, percent. */
  get soc(): number {
    return this.socPct;
  }

  /** AC energy drawn from the socket so far, Wh (Σ V·I·PF·dt). */
  get energyWh(): number {
    return this.acWh;
  }

  /** Energy stored in the battery so far, Wh (energyWh × efficiency). */
  get batteryWh(): number {
    return this.batteryWhIn;
  }

  /** True after the EV reached targetSoc and opened S2. */
  get isSuspended(): boolean {
    return this.suspended;
  }

  /** True while S2 is closed. */
  get s2Closed(): boolean {
    return this.s2;
  }

  /** The SoC at which the car stops charging, percent. */
  get targetSoc(): number {
    return this.config.targetSoc;
  }

  /** True while the communication controller holds S2 closed (HLC cars only). */
  get hlcActive(): boolean {
    return this.hlcS2;
  }

  /** The negotiated AC limit the communication controller set, A per phase. */
  get hlcLimitAmps(): number {
    return this.hlcLimit;
  }

  /** The largest AC phase current drawn now, A. */
  acCurrent(): number {
    return Math.max(this.amps[0], this.amps[1], this.amps[2]);
  }

  // ---- high-level communication (hlc cars) -----------------------------------------------------------------------

  /**
   * The communication controller closes (true) or opens (false) S2. The pilot load changes at once; the current
   * follows at the next step. Opening S2 stops the AC draw at once. No-op once unplugged. Throws on a basic car.
   */
  setS2(closed: boolean): void {
    if (!this.config.hlc) throw new Error("EvModel.setS2: not an hlc car");
    if (typeof closed !== "boolean") throw new RangeError("EvModel.setS2: closed must be a boolean");
    if (!this.plugged) return;
    this.hlcS2 = closed;
    this.s2 = closed;
    this.stopping = false;
    if (!closed) this.level = 0;
  }

  /**
   * The negotiated AC limit, A per phase (min of EVMaxCurrent, the schedule's PMax/(V·phases) and EVSEMaxCurrent,
   * as the controller computed it). Raises are ramped at rampAPerS; a lower limit is reached within response/2.
   */
  setHlcLimit(amps: number): void {
    if (!this.config.hlc) throw new Error("EvModel.setHlcLimit: not an hlc car");
    if (!finite(amps) || amps < 0) throw new RangeError(`EvModel.setHlcLimit: bad limit ${amps}`);
    this.hlcLimit = amps;
    const target = this.chargerTarget(amps);
    this.downRate = this.config.rampAPerS;
    if (target < this.level) {
      const remainingS = this.responseMs / 2000;
      this.downRate = remainingS > 0 ? Math.max(this.config.rampAPerS, (this.level - target) / remainingS) : Infinity;
    }
  }

  // ---- DC (DcLoad) -----------------------------------------------------------------------------------------------

  /** The car closes (true) or opens its DC contactors (battery on the inlet). Opened by unplug. */
  setDcContactor(closed: boolean): void {
    if (typeof closed !== "boolean") throw new RangeError("EvModel.setDcContactor: closed must be a boolean");
    this.dcClosed = closed && this.plugged;
  }

  get dcContactorClosed(): boolean {
    return this.dcClosed;
  }

  /** Battery open-circuit voltage at the present SoC, V (the OCV curve). */
  batteryVoltage(): number {
    return ocvAt(this.config, this.socPct);
  }

  get batteryOhms(): number {
    return this.config.dcOhms;
  }

  /** BMS limit, A: dcMaxCurrent up to 80 % SoC, then linear down to 0 A at 100 %. */
  dcCurrentLimit(): number {
    const c = this.config;
    if (this.socPct <= 80) return c.dcMaxCurrent;
    return Math.max(0, (c.dcMaxCurrent * (100 - this.socPct)) / 20);
  }

  /** Energy into the battery over an interval, Wh: SoC += wh / (batteryKWh·1000) · 100 (capped at 100 %). */
  acceptDcWh(wh: number): void {
    if (!finite(wh) || wh < 0) throw new RangeError(`EvModel.acceptDcWh: bad energy ${wh}`);
    this.dcWh += wh;
    this.batteryWhIn += wh;
    this.socPct = Math.min(100, this.socPct + wh / (this.config.batteryKWh * 10));
  }

  /** DC energy accepted so far, Wh. */
  get dcEnergyWh(): number {
    return this.dcWh;
  }

  state(): EvState {
    if (!this.plugged) return "A";
    if (!this.s2) return "B";
    return this.config.ventilation ? "D" : "C";
  }

  /** What the EV presents on the pilot wire; null once unplugged. */
  pilotLoad(): PilotLoad | null {
    if (!this.plugged) return null;
    const diode = !this.config.misbehaviour.missingDiode;
    const ohms = this.s2 ? parallel(R2_OHMS, this.config.ventilation ? R3_D_OHMS : R3_C_OHMS) : R2_OHMS;
    return { ohms, diode, diodeDropMv: DIODE_DROP_MV };
  }

  /** Current drawn per phase L1, L2, L3, A (a new array; 0 on unused phases). */
  current(): number[] {
    return [this.amps[0], this.amps[1], this.amps[2]];
  }

  /** Current drawn on one phase (0..2), A; no allocation. */
  phaseCurrent(i: number): number {
    return this.amps[i] ?? 0;
  }

  /** Pulls the plug: state A at once, whatever current was flowing. Integrates up to `now` first. */
  unplug(now: number = this.lastT): void {
    if (!this.plugged) return;
    this.integrate(now);
    this.plugged = false;
    this.s2 = false;
    this.hlcS2 = false;
    this.dcClosed = false;
    this.level = 0;
    this.amps[0] = this.amps[1] = this.amps[2] = 0;
  }

  get isPlugged(): boolean {
    return this.plugged;
  }

  private integrate(now: number): void {
    if (!finite(now)) throw new RangeError("EvModel.step: now must be finite");
    const dt = now - this.lastT;
    if (dt < 0) throw new RangeError(`EvModel.step: time went backwards (${now} < ${this.lastT})`);
    if (dt > 0) {
      const pf = this.config.powerFactor;
      const p = (this.heldVolts[0] * this.amps[0] + this.heldVolts[1] * this.amps[1] + this.heldVolts[2] * this.amps[2]) * pf;
      const wh = (p * dt) / 3600000;
      this.acWh += wh;
      const stored = wh * this.config.efficiency;
      this.batteryWhIn += stored;
      // percent of capacity: Wh / (kWh·1000) · 100
      this.socPct = Math.min(100, this.socPct + stored / (this.config.batteryKWh * 10));
    }
    this.lastT = now;
  }

  /** The charger's own limit from SoC: full current up to 80 %, then linear down to minCurrent at 100 %. */
  private taperLimit(): number {
    const c = this.config;
    if (this.socPct <= 80) return c.maxCurrent;
    return Math.max(c.minCurrent, (c.maxCurrent * (100 - this.socPct)) / 20);
  }

  /** What the charger aims for under a pilot limit: min(pilot, maxCurrent, taper), or 0 below minCurrent. */
  private chargerTarget(pilotLimit: number): number {
    const c = this.config;
    const lim = Math.min(pilotLimit, c.maxCurrent, this.taperLimit());
    return lim > 0 && lim >= c.minCurrent ? lim : 0;
  }

  private wantsEnergy(): boolean {
    return this.socPct < this.config.targetSoc;
  }

  private perceive(): void {
    this.pendingAt = -1;
    this.perceivedDuty = this.rawDuty;
    const pwm = isPwm(this.perceivedDuty);
    const hlcHeld = this.hlcS2 && isDigitalCommunication(this.perceivedDuty);
    // IEC 61851-1: any duty other than the digital-communication band ends HLC control (x1 → stop, PWM → basic).
    if (this.hlcS2 && !hlcHeld) this.hlcS2 = false;
    if (pwm) this.stopping = false;
    else if (this.s2 && !this.config.misbehaviour.ignorePwmOff) this.stopping = true;
    const newLimit = hlcHeld ? this.chargerTarget(this.hlcLimit) : pwm ? this.chargerTarget(signalledCurrent(this.perceivedDuty)) : 0;
    const resp = this.responseMs;
    const remainingS = (resp - resp / 2) / 1000;
    this.downRate = this.config.rampAPerS;
    if (newLimit < this.level) {
      this.downRate = remainingS > 0 ? Math.max(this.config.rampAPerS, (this.level - newLimit) / remainingS) : Infinity;
    }
  }

  step(now: number, inputs: EvInputs): void {
    if (!this.plugged) {
      this.lastT = Math.max(this.lastT, now);
      return;
    }
    const duty = inputs.duty;
    if (!isValidDuty(duty)) throw new RangeError(`EvModel.step: bad duty ${duty}`);
    if (!finite(now) || now < this.lastT) throw new RangeError(`EvModel.step: bad time ${now} (last ${this.lastT})`);
    const dtS = (now - this.lastT) / 1000;
    this.integrate(now);
    const c = this.config;
    const m = c.misbehaviour;

    // 1. The raw pilot and the EV's delayed perception of it.
    if (duty !== this.rawDuty) {
      this.rawDuty = duty;
      if (this.pendingAt < 0) this.pendingAt = now + this.responseMs / 2;
    }
    if (signalledCurrent(duty) >= Math.max(c.minCurrent, 6)) {
      if (this.pwmSince < 0) this.pwmSince = now;
    } else {
      this.pwmSince = -1;
    }
    if (this.pendingAt >= 0 && now >= this.pendingAt) this.perceive();

    // 2. Wake: close S2 when PWM has allowed charging for wakeDelayMs and the battery wants energy.
    if (!this.s2 && this.pwmSince >= 0 && now - this.pwmSince >= c.wakeDelayMs && this.wantsEnergy()) {
      this.s2 = true;
      this.stopping = false;
    }

    // 3. Full: stop and open S2 ("suspended EV"). Under HLC the communication controller ends the session instead.
    if (this.s2 && !this.wantsEnergy() && !this.hlcS2) {
      this.s2 = false;
      this.stopping = false;
      this.suspended = true;
      this.level = 0;
    }

    // 4. Which phases are live, and the charger's target.
    const nPhases = Math.min(c.phases, inputs.phasesAvailable);
    let live = 0;
    for (let i = 0; i < 3; i++) {
      const v = inputs.acVolts[i] ?? 0;
      if (!finite(v)) throw new RangeError("EvModel.step: bad acVolts");
      this.heldVolts[i] = v;
      if (i < nPhases && v > EV_MIN_PHASE_VOLTS) live |= 1 << i;
    }
    let target = 0;
    const pwmAllows = isPwm(this.perceivedDuty) ? signalledCurrent(this.perceivedDuty) : 0;
    const hlcHeld = this.hlcS2 && isDigitalCommunication(this.perceivedDuty);
    if (this.s2 && !this.stopping && live !== 0) {
      target = hlcHeld ? (this.wantsEnergy() ? this.chargerTarget(this.hlcLimit) : 0) : this.chargerTarget(pwmAllows);
    }
    // Full under HLC: the charger stops at once, as a basic car does when it suspends (step 3).
    if (hlcHeld && !this.wantsEnergy()) this.level = 0;

    // 5. Ramp toward the target (the charger stops at once when its supply disappears).
    if (live === 0) this.level = 0;
    else if (target > this.level) this.level = Math.min(target, this.level + c.rampAPerS * dtS);
    else if (target < this.level) {
      this.level = this.downRate === Infinity ? target : Math.max(target, this.level - this.downRate * dtS);
    }
    const over = this.level > 0 && (pwmAllows > 0 || hlcHeld) && !this.stopping ? (m.overdrawA ?? 0) : 0;
    for (let i = 0; i < 3; i++) this.amps[i] = live & (1 << i) ? this.level + over : 0;

    // 6. Stopping after PWM went away: open S2 once the current is down to zero (and the DC contactors).
    if (this.stopping && this.level === 0) {
      this.s2 = false;
      this.stopping = false;
      if (c.hlc) this.dcClosed = false;
    }
  }
}
