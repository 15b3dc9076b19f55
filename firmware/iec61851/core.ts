/**
 * The IEC 61851-1 charging core: pilot and proximity state, PWM, contactor sequencing, weld/overdraw/thermal
 * protection and 1p/3p switching, as PURE logic. The control loop reads the HAL into a CoreInputs record,
 * calls step(), and writes CoreOutputs to the HAL. No HAL calls, no timers, no allocation in step().
 *
 * Decisions (see README.md for the reasons):
 * - Pilot bands nominal ±1 V, debounced over `debounceSamples` equal samples. While PWM runs the negative half
 *   must be in the -12 V band, else "diode" (state F). A sample outside every band does not change the state;
 *   when it persists for `debounceSamples` samples the state becomes F with fault "pilot". Measured E or F (we
 *   never drive them ourselves except F on a permanent fault) is fault "pilot". "diode"/"pilot" latch until the
 *   EV is unplugged (state A) or clearFault().
 * - Immediate opens (same step): pilot leaves C (or D with ventilation), any fault (rcd, weld, contactor,
 *   overtemperature, overdraw, diode, pilot), proximity not valid, D without ventilation allowed.
 * - Charger-side stops (stop request, deauthorization, unavailable, limit < minCurrent, phase switch): PWM goes
 *   off (+12 V) in the same step; the contactor opens in the step the EV is seen in B, or after
 *   evStopTimeoutMs anyway ("<reason>Timeout", counted in underLoadOpens when current flowed). With HLC the
 *   pilot keeps 5 % while the contactor is still closed (the session tells the EV to stop), +12 V after.
 * - Below minCurrent: steady +12 V (= 100 %, the x1 "not ready" state); charging resumes when the limit returns.
 * - Permanent faults (rcd, weld, contactor) drive -12 V (state F, "EVSE not available") until clearFault().
 * - The phase contactor (1) is only ever closed together with the main contactor and opened with it, so it is
 *   safe whether it is wired in series behind the main contactor or in parallel to an L1/N main contactor.
 */
import {
  PILOT_MINUS_12V,
  PILOT_PLUS_12V,
  RCM_SELF_TEST_FAILED,
  RCM_SELF_TEST_RUNNING,
  RCM_TRIP_AC,
  RCM_TRIP_DC,
} from "../../hal/charging.js";
import {
  CLS_A,
  CLS_B,
  CLS_C,
  CLS_D,
  CLS_E,
  CLS_F,
  CLS_INVALID,
  DUTY_HLC,
  STATE_NAMES,
  classifyPilot,
  currentForDuty,
  dutyForCurrent,
  isPwmDuty,
} from "./pilot.js";
import { PP_INVALID, PP_OPEN, ppCableAmps } from "./proximity.js";

export { currentForDuty, dutyForCurrent } from "./pilot.js";
export { ppCableAmps } from "./proximity.js";

export type PilotState = "A" | "B" | "C" | "D" | "E" | "F";
export type CoreStatus =
  | "idle"
  | "connected"
  | "charging"
  | "suspendedEV"
  | "suspendedEVSE"
  | "stopping"
  | "switchingPhases"
  | "fault";

export interface PhaseSwitchingConfig {
  enabled: boolean;
  /** Pause with both contactors open before and after the phase change, ms. */
  pauseMs: number;
  /** Back to 3p only when the 1p limit is at least 3 x minCurrent + hysteresisA, A. */
  hysteresisA: number;
  /** ... for this long, ms. */
  holdMs: number;
  maxSwitchesPerSession: number;
}

export interface CoreConfig {
  debounceSamples: number;
  ventilationAllowed: boolean;
  minCurrent: number;
  evStopTimeoutMs: number;
  weldSettleMs: number;
  overdrawToleranceA: number;
  overdrawTimeMs: number;
  overTemperatureC: number;
  overTemperatureHysteresisC: number;
  tethered: boolean;
  phaseSwitching: PhaseSwitchingConfig;
  /**
   * 5 % PWM mode (ISO 15118 high-level communication): the current is negotiated digitally. While it is on, 5 % is
   * signalled as soon as an EV is plugged in (B/C/D) and nothing but the authorization is missing, so that SLAC and
   * the session (which authorizes digitally) can run; the contactor still waits for the authorization. The SECC
   * switches it at run time with ChargingCore.setHlc() (off: basic charging at the nominal duty after SLAC failed).
   */
  hlc: boolean;
  /**
   * A DC charger: contactor 0 is the DC output contactor (DC+/DC-) in front of the power module, the current is
   * negotiated over ISO 15118 / DIN 70121 only (no basic charging: without high-level communication the charger is
   * never ready), and minCurrent does not apply (any limit above 0 A lets the session run; the power module
   * follows it). Default false (AC).
   */
  dcOutput?: boolean;
}

export interface CoreInputs {
  now: number;
  pilotHigh: number;
  pilotLow: number;
  ppOhms: number;
  rcm: number /* RCM_* bits */;
  mirror0: 0 | 1;
  mirror1: 0 | 1;
  current: number[] /* A per phase */;
  temperature: number /* hottest sensor, °C */;
  authorized: boolean;
  available: boolean;
  stopRequested: boolean;
  limit: number /* effective amps from the arbiter */;
  /**
   * The socket's cable lock is engaged. Undefined (or true) when there is no lock (fixed cable). The contactor
   * never closes while it is false.
   */
  locked?: boolean;
  phases: 1 | 3 /* phases the board wires */;
  /**
   * High-level communication only (ignored while hlc is off): the session allows energy transfer (ISO 15118-2 /
   * DIN 70121 PowerDeliveryReq Start for AC; from CableCheck on for a DC output). The contactor never closes while
   * it is false; when it turns false with the contactor closed, the charger stops like any charger-side stop (open
   * once the EV is in B, or after evStopTimeoutMs) while the pilot keeps 5 %. Undefined: allowed.
   */
  hlcEnergy?: boolean;
}

export interface CoreOutputs {
  duty: number;
  contactor0: 0 | 1;
  contactor1: 0 | 1;
  state: PilotState;
  status: CoreStatus;
  /** "" when none: "rcd","weld","contactor","overdraw","overtemperature","diode","pilot","proximity" */
  fault: string;
  signalledAmps: number;
  /** 0 when unknown/open (and always 0 for a tethered cable: its rating is the hardware claim). */
  cableAmps: number;
  phasesActive: 1 | 3;
  /** Why the last open happened ("" before the first). */
  openReason: string;
}

/** Open reasons (string constants; "<stop reason>Timeout" when the EV did not go to B in time). */
export const OPEN_REASONS = [
  "ev", "unplug", "ventilation", "proximity", "rcd", "weld", "contactor", "overtemperature", "overdraw", "diode", "pilot",
  "stop", "deauthorized", "unavailable", "limit", "phaseSwitch", "powerDelivery",
  "stopTimeout", "deauthorizedTimeout", "unavailableTimeout", "limitTimeout", "phaseSwitchTimeout", "powerDeliveryTimeout",
] as const;

/** Current above which an open counts as "under load" (underLoadOpens), A. */
export const UNDER_LOAD_AMPS = 1;
/** PP open while the EV is connected becomes fault "proximity" after this long (contacts mate one by one), ms. */
export const PP_OPEN_GRACE_MS = 1000;

export function defaultCoreConfig(): CoreConfig {
  return {
    debounceSamples: 3,
    ventilationAllowed: false,
    minCurrent: 6,
    evStopTimeoutMs: 3000,
    weldSettleMs: 200,
    overdrawToleranceA: 2,
    overdrawTimeMs: 5000,
    overTemperatureC: 90,
    overTemperatureHysteresisC: 10,
    tethered: false,
    phaseSwitching: { enabled: false, pauseMs: 5000, hysteresisA: 2, holdMs: 60_000, maxSwitchesPerSession: 10 },
    hlc: false,
  };
}

function num(v: unknown, min: number, max: number, integer: boolean): boolean {
  return typeof v === "number" && v >= min && v <= max && (!integer || v === Math.floor(v));
}

/** "" when the configuration is usable, else the first problem (naming the key). */
export function validateCoreConfig(c: CoreConfig): string {
  if (typeof c !== "object" || c === null) return "config must be an object";
  if (!num(c.debounceSamples, 1, 1000, true)) return "debounceSamples must be an integer in 1..1000";
  if (typeof c.ventilationAllowed !== "boolean") return "ventilationAllowed must be a boolean";
  if (!num(c.minCurrent, 6, 80, false)) return "minCurrent must be in 6..80 A (PWM cannot signal less than 6 A)";
  if (!num(c.evStopTimeoutMs, 0, 600_000, false)) return "evStopTimeoutMs must be in 0..600000";
  if (!num(c.weldSettleMs, 1, 60_000, false)) return "weldSettleMs must be in 1..60000";
  if (!num(c.overdrawToleranceA, 0, 80, false)) return "overdrawToleranceA must be in 0..80";
  if (!num(c.overdrawTimeMs, 0, 600_000, false)) return "overdrawTimeMs must be in 0..600000";
  if (!num(c.overTemperatureC, -50, 300, false)) return "overTemperatureC must be in -50..300";
  if (!num(c.overTemperatureHysteresisC, 0.1, 100, false)) return "overTemperatureHysteresisC must be in 0.1..100";
  if (typeof c.tethered !== "boolean") return "tethered must be a boolean";
  if (typeof c.hlc !== "boolean") return "hlc must be a boolean";
  if (c.dcOutput !== undefined && typeof c.dcOutput !== "boolean") return "dcOutput must be a boolean";
  const p = c.phaseSwitching;
  if (typeof p !== "object" || p === null) return "phaseSwitching must be an object";
  if (typeof p.enabled !== "boolean") return "phaseSwitching.enabled must be a boolean";
  if (!num(p.pauseMs, 0, 3_600_000, false)) return "phaseSwitching.pauseMs must be in 0..3600000";
  if (!num(p.hysteresisA, 0, 80, false)) return "phaseSwitching.hysteresisA must be in 0..80";
  if (!num(p.holdMs, 0, 86_400_000, false)) return "phaseSwitching.holdMs must be in 0..86400000";
  if (!num(p.maxSwitchesPerSession, 0, 1_000_000, true)) return "phaseSwitching.maxSwitchesPerSession must be an integer >= 0";
  return "";
}

/** A fresh outputs record with every field at its safe value and final type. */
export function createOutputs(): CoreOutputs {
  return {
    duty: PILOT_PLUS_12V,
    contactor0: 0,
    contactor1: 0,
    state: "A",
    status: "idle",
    fault: "",
    signalledAmps: 0,
    cableAmps: 0,
    phasesActive: 1,
    openReason: "",
  };
}

const RCM_FAULT_BITS = RCM_TRIP_AC | RCM_TRIP_DC | RCM_SELF_TEST_FAILED;

function timeoutReason(r: string): string {
  switch (r) {
    case "stop": return "stopTimeout";
    case "deauthorized": return "deauthorizedTimeout";
    case "unavailable": return "unavailableTimeout";
    case "phaseSwitch": return "phaseSwitchTimeout";
    case "powerDelivery": return "powerDeliveryTimeout";
    default: return "limitTimeout";
  }
}

export class ChargingCore {
  // configuration (copied: a later change of the caller's object has no effect)
  private readonly debounce: number;
  private readonly vent: boolean;
  private readonly minCurrent: number;
  private readonly evStopTimeoutMs: number;
  private readonly settleMs: number;
  private readonly overTol: number;
  private readonly overTimeMs: number;
  private readonly hotC: number;
  private readonly hotHystC: number;
  private readonly tethered: boolean;
  private hlc: boolean;
  private readonly dc: boolean;
  private readonly psEnabled: boolean;
  private readonly psPauseMs: number;
  private readonly psHystA: number;
  private readonly psHoldMs: number;
  private readonly psMax: number;

  // pilot
  private st = CLS_A;
  private cand = -1;
  private candN = 0;
  private lastDuty = PILOT_PLUS_12V;
  /** isPwmDuty(lastDuty), kept with it (read every step). */
  private lastPwm = false;
  // proximity
  private pp = PP_OPEN;
  private ppCand = PP_OPEN;
  private ppN = 0;
  private ppOpenAt = NaN;
  /** ppCableAmps() of the last PP reading (memo: the reading rarely changes). */
  private ppMemoOhms = NaN;
  private ppMemoAmps = PP_OPEN;
  // contactors
  private c0: 0 | 1 = 0;
  private c0At = 0;
  private c1: 0 | 1 = 0;
  private c1At = 0;
  private want3p = true;
  // fault latches
  private fWeld = false;
  private fContactor = false;
  private fRcd = false;
  private fHot = false;
  private fOverdraw = false;
  private fDiode = false;
  private fPilot = false;
  private fProx = false;
  // charger-side stop
  private stopping = false;
  private stopAt = 0;
  private stopReason = "";
  // signalling and overdraw
  private signalled = 0;
  private signalAt = 0;
  private excessAt = NaN;
  /** dutyForCurrent(memoAllowed) and currentForDuty() of it (memo: pure functions of `allowed`, which rarely changes). */
  private memoAllowed = -1;
  private memoDuty = PILOT_PLUS_12V;
  private memoSignal = 0;
  // phase switching: 0 none, 1 PWM off / waiting for B, 2 pause before, 3 pause after
  private ps = 0;
  private psAt = 0;
  private psTarget3p = true;
  private switches = 0;
  private holdAt = NaN;
  // bookkeeping
  private session = false;
  private openReason = "";
  private started = false;
  private lastNow = 0;
  private lastM0: 0 | 1 = 0;
  private lastM1: 0 | 1 = 0;
  private loadOpens = 0;
  /**
   * Steady charging (see steadyStep()): the last step ended charging in C with nothing pending, so the next one
   * may take the fast path when its inputs say the same. steadyLimit is that step's i.limit.
   */
  private steady = false;
  private steadyLimit = NaN;

  constructor(config: CoreConfig) {
    const err = validateCoreConfig(config);
    if (err) throw new RangeError("CoreConfig: " + err);
    this.debounce = config.debounceSamples;
    this.vent = config.ventilationAllowed;
    this.minCurrent = config.minCurrent;
    this.evStopTimeoutMs = config.evStopTimeoutMs;
    this.settleMs = config.weldSettleMs;
    this.overTol = config.overdrawToleranceA;
    this.overTimeMs = config.overdrawTimeMs;
    this.hotC = config.overTemperatureC;
    this.hotHystC = config.overTemperatureHysteresisC;
    this.tethered = config.tethered;
    this.hlc = config.hlc;
    this.dc = config.dcOutput === true;
    this.psEnabled = config.phaseSwitching.enabled;
    this.psPauseMs = config.phaseSwitching.pauseMs;
    this.psHystA = config.phaseSwitching.hysteresisA;
    this.psHoldMs = config.phaseSwitching.holdMs;
    this.psMax = config.phaseSwitching.maxSwitchesPerSession;
  }

  /**
   * High-level communication on (5 % PWM) or off (basic charging at the nominal duty); takes effect at the next
   * step. The SECC turns it off when SLAC fails with fallback "basic" and on again for the next session.
   */
  setHlc(on: boolean): void {
    if (typeof on !== "boolean") throw new TypeError("setHlc(on: boolean)");
    this.hlc = on;
    this.steady = false;
  }

  get hlcMode(): boolean {
    return this.hlc;
  }

  /** True from the moment an EV is seen (B, C or D) until it is unplugged (A). */
  get sessionActive(): boolean {
    return this.session;
  }

  /** Opens while current flowed (a charger-side stop that timed out, or an emergency open), since construction. */
  get underLoadOpens(): number {
    return this.loadOpens;
  }

  /**
   * True while a pilot or PP sample differs from the debounced state and has not yet been confirmed by
   * debounceSamples equal samples: the caller should sample again soon (the control loop re-samples after
   * 1 ms instead of waiting a whole period, so the debounce does not add periods to the reaction time).
   */
  get inputPending(): boolean {
    // A fixed cable's PP is never read (ppN stays 0): only a socket's PP can be pending.
    return (this.cand !== -1 && this.candN < this.debounce) || (!this.tethered && this.ppN < this.debounce);
  }

  /** Phase switches made in the current session. */
  get phaseSwitches(): number {
    return this.switches;
  }

  /**
   * Clears the latched faults. A weld stays while the last seen mirror still shows the contact closed (returns
   * false then); rcd is cleared here and latched again at the next step if the RCM still reports a trip (reset
   * the RCM first). Over-temperature clears only by cooling (hysteresis); proximity follows the PP reading.
   * Returns true when no latched fault remains.
   */
  clearFault(): boolean {
    this.steady = false;
    const weldStill = (this.c0 === 0 && this.lastM0 === 1) || (this.psEnabled && this.c1 === 0 && this.lastM1 === 1);
    if (!weldStill) this.fWeld = false;
    this.fContactor = false;
    this.fRcd = false;
    this.fOverdraw = false;
    this.fDiode = false;
    this.fPilot = false;
    if (this.lastDuty === PILOT_MINUS_12V) {
      // We were driving -12 V: the pilot reading says nothing about the EV. Start detection afresh.
      this.st = CLS_A;
      this.cand = -1;
      this.candN = 0;
    }
    return !this.fWeld;
  }

  step(i: CoreInputs, out: CoreOutputs): CoreOutputs {
    // Steady charging with the same inputs as before: the full step would change nothing (XS: ~1,210 -> ~360 units).
    if (this.steady && this.steadyStep(i, out)) return out;
    // ---- time (monotonic; a non-finite or backwards value holds the last time)
    let now = i.now;
    if (!this.started) {
      if (!Number.isFinite(now)) now = 0;
      this.started = true;
      this.c0At = now;
      this.c1At = now;
      this.signalAt = now;
    } else if (!(now >= this.lastNow) || now === Infinity) {
      now = this.lastNow;
    }
    this.lastNow = now;

    const debounce = this.debounce;
    const m0: 0 | 1 = i.mirror0 === 0 ? 0 : 1; // anything but 0 reads as closed (fail-safe for the weld check)
    const m1: 0 | 1 = i.mirror1 === 0 ? 0 : 1;
    this.lastM0 = m0;
    this.lastM1 = m1;
    const board3p = i.phases === 3;
    const usePs = this.psEnabled && board3p;

    // ---- 1. pilot state (the sample reflects the duty written after the previous step)
    if (this.lastDuty === PILOT_MINUS_12V) {
      this.cand = -1;
      this.candN = 0;
    } else {
      const cls = classifyPilot(i.pilotHigh, i.pilotLow, this.lastPwm);
      if (cls === this.cand) {
        if (this.candN < debounce) this.candN++;
      } else {
        this.cand = cls;
        this.candN = 1;
      }
      if (this.candN >= debounce) {
        if (cls <= CLS_F) {
          this.st = cls;
          if (cls === CLS_E || cls === CLS_F) this.fPilot = true;
        } else if (cls === CLS_INVALID) {
          this.st = CLS_F;
          this.fPilot = true;
        } else {
          this.st = CLS_F;
          this.fDiode = true;
        }
      }
    }
    const st = this.st;
    const plugged = st === CLS_B || st === CLS_C || st === CLS_D;
    if (st === CLS_A) {
      // Unplugged: the session ends, session faults clear, the next session starts in 3p.
      this.session = false;
      this.fDiode = false;
      this.fPilot = false;
      this.fOverdraw = false;
      this.switches = 0;
      this.holdAt = NaN;
      this.ps = 0;
      this.want3p = true;
    } else if (plugged) {
      this.session = true;
    }

    // ---- 2. proximity
    let cable = 0;
    if (this.tethered) {
      this.fProx = false;
    } else {
      const ohms = i.ppOhms;
      let c: number;
      if (ohms === this.ppMemoOhms) c = this.ppMemoAmps;
      else {
        c = ppCableAmps(ohms);
        this.ppMemoOhms = ohms;
        this.ppMemoAmps = c;
      }
      if (c === this.ppCand) {
        if (this.ppN < debounce) this.ppN++;
      } else {
        this.ppCand = c;
        this.ppN = 1;
      }
      if (this.ppN >= debounce) this.pp = c;
      cable = this.pp > 0 ? this.pp : 0;
      if (this.pp === PP_OPEN && plugged) {
        if (this.ppOpenAt !== this.ppOpenAt) this.ppOpenAt = now;
        this.fProx = now - this.ppOpenAt >= PP_OPEN_GRACE_MS;
      } else {
        this.ppOpenAt = NaN;
        this.fProx = this.pp === PP_INVALID;
      }
    }
    const noCable = !this.tethered && cable <= 0;

    // ---- 3. faults seen in the inputs
    const rcm = i.rcm;
    const rcmValid = typeof rcm === "number" && rcm >= 0 && rcm <= 15 && (rcm | 0) === rcm; // an integer 0..15
    if (!rcmValid || (rcm & RCM_FAULT_BITS) !== 0) this.fRcd = true;
    const rcmBusy = rcmValid && (rcm & RCM_SELF_TEST_RUNNING) !== 0;

    const t = i.temperature;
    if (!(t < this.hotC)) this.fHot = true; // also NaN: a failed sensor is treated as hot
    else if (this.fHot && t <= this.hotC - this.hotHystC) this.fHot = false;

    const settled0 = now - this.c0At >= this.settleMs;
    const settled1 = now - this.c1At >= this.settleMs;
    if (this.c0 === 0 && settled0 && m0 === 1) this.fWeld = true;
    if (this.c0 === 1 && settled0 && m0 === 0) this.fContactor = true;
    if (this.psEnabled) {
      if (this.c1 === 0 && settled1 && m1 === 1) this.fWeld = true;
      if (this.c1 === 1 && settled1 && m1 === 0) this.fContactor = true;
    }

    // ---- 4. allowed current: the arbiter's limit, never above the cable
    let allowed = i.limit;
    if (!(allowed >= 0)) allowed = 0;
    if (!this.tethered && cable < allowed) allowed = cable;

    // ---- 5. overdraw, against what was signalled so far
    let maxI = 0;
    const cur = i.current;
    if (cur) {
      for (let k = 0; k < cur.length; k++) {
        const a = cur[k];
        if (a > maxI) maxI = a;
      }
    }
    if (this.c0 === 1 && maxI > this.signalled + this.overTol) {
      if (this.excessAt !== this.excessAt) this.excessAt = now;
      const from = this.excessAt > this.signalAt ? this.excessAt : this.signalAt;
      if (now - from >= this.overTimeMs) this.fOverdraw = true;
    } else {
      this.excessAt = NaN;
    }

    const perm = this.fWeld || this.fContactor || this.fRcd;
    const anyFault = perm || this.fHot || this.fOverdraw || this.fDiode || this.fPilot || this.fProx;

    // ---- 6. what the charger offers
    const authorized = i.authorized === true;
    const available = i.available === true;
    const stopReq = i.stopRequested !== false;
    const offerOk = plugged && !anyFault && authorized && available && !stopReq;
    const min = this.minCurrent;

    // 1p/3p switching
    if (!usePs) {
      this.ps = 0;
      this.holdAt = NaN;
    } else if (this.ps !== 0 && !offerOk) {
      this.ps = 0; // abort; the mode stays what it is
    }
    if (usePs && offerOk && this.ps === 0 && this.switches < this.psMax) {
      if (this.want3p) {
        this.holdAt = NaN;
        if (allowed < min && allowed * 3 >= min) this.startSwitch(false, now);
      } else if (allowed >= 3 * min + this.psHystA) {
        if (this.holdAt !== this.holdAt) this.holdAt = now;
        if (now - this.holdAt >= this.psHoldMs) this.startSwitch(true, now);
      } else {
        this.holdAt = NaN;
      }
    }
    if (this.ps === 1 && this.c0 === 0) {
      this.ps = 2;
      this.psAt = now;
    }
    if (this.ps === 2 && now - this.psAt >= this.psPauseMs && this.c0 === 0 && settled0 && m0 === 0 && this.c1 === 0 && m1 === 0) {
      this.want3p = this.psTarget3p;
      this.switches++;
      this.holdAt = NaN;
      this.ps = 3;
      this.psAt = now;
    }
    if (this.ps === 3 && now - this.psAt >= this.psPauseMs) this.ps = 0;

    // DC: no PWM current signalling and no basic charging; any limit above 0 A runs (the power module follows it).
    const dc = this.dc;
    const enough = dc ? allowed > 0 && this.hlc : allowed >= min;
    const energy = !this.hlc || i.hlcEnergy !== false;
    const ready = offerOk && this.ps === 0 && enough && energy;
    let cause = "";
    if (!authorized) cause = "deauthorized";
    else if (!available) cause = "unavailable";
    else if (stopReq) cause = "stop";
    else if (this.ps !== 0) cause = "phaseSwitch";
    else if (!energy) cause = "powerDelivery";
    else cause = "limit";

    // ---- 7. pilot output
    let duty: number;
    if (perm) duty = PILOT_MINUS_12V;
    else if (ready) duty = this.hlc ? DUTY_HLC : this.dutyFor(allowed);
    // HLC: a charger-side stop with the contactor closed is told through the session (ISO 15118 EVSENotification
    // StopCharging); the pilot keeps 5 % until the contactor opens (the EV in B, or evStopTimeoutMs), then +12 V.
    else if (this.hlc && this.c0 === 1 && !anyFault && plugged) duty = DUTY_HLC;
    else if (this.hlc && plugged && !anyFault && available && !stopReq && this.ps === 0 && enough) duty = DUTY_HLC; // HLC before authorization / PowerDelivery
    else duty = PILOT_PLUS_12V;
    const signalled = ready ? (this.hlc ? allowed : duty === this.memoDuty ? this.memoSignal : currentForDuty(duty)) : 0;
    if (signalled !== this.signalled) {
      this.signalled = signalled;
      this.signalAt = now;
    }

    // ---- 8. contactors
    let immediate = "";
    if (this.fRcd) immediate = "rcd";
    else if (this.fWeld) immediate = "weld";
    else if (this.fContactor) immediate = "contactor";
    else if (this.fHot) immediate = "overtemperature";
    else if (this.fOverdraw) immediate = "overdraw";
    else if (this.fDiode) immediate = "diode";
    else if (this.fPilot) immediate = "pilot";
    else if (noCable || this.fProx) immediate = "proximity";
    else if (st === CLS_A) immediate = "unplug";
    else if (st === CLS_B) immediate = "ev";
    else if (st === CLS_D && !this.vent) immediate = "ventilation";
    else if (st !== CLS_C && st !== CLS_D) immediate = "pilot";

    if (this.c0 === 1) {
      if (immediate !== "") {
        this.open(this.stopping && immediate === "ev" ? this.stopReason : immediate, now, maxI);
      } else if (!ready) {
        if (!this.stopping) {
          this.stopping = true;
          this.stopAt = now;
          this.stopReason = cause;
        }
        if (now - this.stopAt >= this.evStopTimeoutMs) this.open(timeoutReason(this.stopReason), now, maxI);
      } else {
        this.stopping = false; // the reason went away before the EV reacted: carry on
      }
    } else {
      this.stopping = false;
      if (
        immediate === "" &&
        ready &&
        i.locked !== false &&
        !rcmBusy &&
        isPwmDuty(duty) &&
        this.lastPwm &&
        settled0 &&
        m0 === 0 &&
        (!this.psEnabled || (settled1 && m1 === 0))
      ) {
        this.c0 = 1;
        this.c0At = now;
      }
    }
    const c1: 0 | 1 = this.c0 === 1 && usePs && this.want3p ? 1 : 0;
    if (c1 !== this.c1) {
      this.c1 = c1;
      this.c1At = now;
    }

    if (duty === PILOT_MINUS_12V) this.st = CLS_F; // we drive F ourselves
    if (duty !== this.lastDuty) {
      this.lastDuty = duty;
      this.lastPwm = isPwmDuty(duty);
    }

    // ---- 9. outputs
    let fault = "";
    if (this.fRcd) fault = "rcd";
    else if (this.fWeld) fault = "weld";
    else if (this.fContactor) fault = "contactor";
    else if (this.fHot) fault = "overtemperature";
    else if (this.fOverdraw) fault = "overdraw";
    else if (this.fDiode) fault = "diode";
    else if (this.fPilot) fault = "pilot";
    else if (this.fProx) fault = "proximity";

    let status: CoreStatus;
    if (fault !== "") status = "fault";
    else if (this.ps !== 0) status = "switchingPhases";
    else if (this.stopping) status = "stopping";
    else if (this.st === CLS_A) status = "idle";
    else if (this.c0 === 1) status = "charging";
    else if (!authorized) status = "connected";
    else if (ready && this.st === CLS_B) status = "suspendedEV";
    else if (offerOk && !energy && this.ps === 0 && enough) status = "suspendedEV"; // HLC: the EV has not asked for power (yet, or any more)
    else status = "suspendedEVSE";

    out.duty = duty;
    out.contactor0 = this.c0;
    out.contactor1 = this.c1;
    out.state = STATE_NAMES[this.st];
    out.status = status;
    out.fault = fault;
    out.signalledAmps = signalled;
    out.cableAmps = cable;
    out.phasesActive = usePs ? (this.want3p ? 3 : 1) : board3p ? 3 : 1;
    out.openReason = this.openReason;

    // The fast path's precondition for the next step (see steadyStep()).
    this.steady =
      status === "charging" &&
      this.st === CLS_C &&
      ready &&
      !this.psEnabled &&
      this.cand === CLS_C &&
      this.candN >= debounce &&
      this.excessAt !== this.excessAt &&
      // PP confirmed: then pp = ppCand = ppMemoAmps (this step's reading), > 0 as the status is "charging".
      (this.tethered || this.ppN >= debounce);
    this.steadyLimit = i.limit;
    return out;
  }

  /**
   * The fast path of step() (the control loop's steady state costs XS ~360 compute units instead of ~1,210).
   * Precondition (this.steady, set by the last full step): it ended in status "charging" (contactor 0 closed, no
   * fault, no stop under way, no phase switch), pilot C confirmed (cand C, candN >= debounce), `ready`, PP
   * confirmed at a valid cable (ppCand = pp = the memo's amps > 0) or a tethered cable, no overdraw timer
   * running, phase switching not configured. If this step's inputs keep every decision of the full step where it
   * was — time not backwards, the pilot sample classifies C with PWM running (classifyPilot(high, low, true) ===
   * CLS_C, written out), the same PP reading, RCM 0, mirror 0 closed, not hot, authorized, available, no stop
   * requested, the same limit (so the same allowed current, duty and signalled current), the HLC energy allowed,
   * no phase over signalled + tolerance — the full step would leave every field as it is except the time and the
   * mirrors and write the same outputs: this does exactly that and returns true. Else it changes nothing and
   * returns false (the full step runs). test/iec61851/fast-path.test.ts checks it against the full step.
   */
  private steadyStep(i: CoreInputs, out: CoreOutputs): boolean {
    const now = i.now;
    if (!(now >= this.lastNow) || now === Infinity) return false;
    const high = i.pilotHigh;
    const low = i.pilotLow;
    if (!(high >= 5000 && high <= 7000 && low >= -13000 && low <= -11000)) return false;
    if (i.rcm !== 0 || i.mirror0 === 0 || !(i.temperature < this.hotC)) return false;
    if (i.authorized !== true || i.available !== true || i.stopRequested !== false || i.limit !== this.steadyLimit) return false;
    if (this.hlc && i.hlcEnergy === false) return false;
    if (!this.tethered && i.ppOhms !== this.ppMemoOhms) return false;
    // Overdraw: maxI > signalled + tolerance in the full step, i.e. any phase above it (the bound is >= 0).
    const cur = i.current;
    if (cur) {
      const bound = this.signalled + this.overTol;
      // Three phases written out (XS: ~35 units less than the loop).
      if (cur.length === 3) {
        if (cur[0] > bound || cur[1] > bound || cur[2] > bound) return false;
      } else {
        for (let k = 0; k < cur.length; k++) if (cur[k] > bound) return false;
      }
    }
    this.lastNow = now;
    this.lastM0 = 1;
    this.lastM1 = i.mirror1 === 0 ? 0 : 1;
    out.duty = this.lastDuty;
    out.contactor0 = 1;
    out.contactor1 = this.c1;
    out.state = "C";
    out.status = "charging";
    out.fault = "";
    out.signalledAmps = this.signalled;
    out.cableAmps = this.tethered ? 0 : this.pp;
    out.phasesActive = i.phases === 3 ? 3 : 1;
    out.openReason = this.openReason;
    return true;
  }

  /** dutyForCurrent(allowed), memoized on the last value (and currentForDuty of it in memoSignal). */
  private dutyFor(allowed: number): number {
    if (allowed !== this.memoAllowed) {
      this.memoAllowed = allowed;
      this.memoDuty = dutyForCurrent(allowed);
      this.memoSignal = currentForDuty(this.memoDuty);
    }
    return this.memoDuty;
  }

  private startSwitch(to3p: boolean, now: number): void {
    this.psTarget3p = to3p;
    this.ps = this.c0 === 1 ? 1 : 2;
    this.psAt = now;
  }

  private open(reason: string, now: number, maxI: number): void {
    this.c0 = 0;
    this.c0At = now;
    this.openReason = reason;
    this.stopping = false;
    if (maxI > UNDER_LOAD_AMPS) this.loadOpens++;
  }
}
