/**
 * Residual-current monitor (RDC-DD per IEC 62955, as fitted in mode-3 wallboxes): a 6 mA DC detection
 * plus the 30 mA AC function of a type A RCD.
 *
 * Trip thresholds (defaults): IΔn AC = 30 mA, IΔdc = 6 mA; this model trips at exactly the threshold
 * (real devices trip somewhere between 0.5·IΔn and IΔn).
 * Trip times (the maximum break times of the standards, used as the simulated delay):
 *  - AC (IEC 61008-1, general type): ≥ 1·IΔn → 300 ms, ≥ 2·IΔn → 150 ms, ≥ 5·IΔn → 40 ms;
 *  - DC (IEC 62955): ≥ 6 mA → 10 s, ≥ 60 mA → 300 ms, ≥ 200 mA → 100 ms.
 * The delay is measured from when the residual current first exceeded the threshold, using the delay
 * that belongs to the present magnitude.
 *
 * A trip latches (RCM_TRIP_AC / RCM_TRIP_DC). reset() clears it unless residual current at or above a
 * threshold still flows (then it stays tripped and returns false).
 * selfTest(): RCM_SELF_TEST_RUNNING for selfTestMs, then RCM_SELF_TEST_FAILED if a self-test fault is
 * injected (else cleared). The test current does not trip the output. Starting while running throws.
 */
import { RCM_SELF_TEST_FAILED, RCM_SELF_TEST_RUNNING, RCM_TRIP_AC, RCM_TRIP_DC } from "../../hal/charging.js";

export interface RcdConfig {
  tripAcMa: number;
  tripDcMa: number;
  selfTestMs: number;
}

export const DEFAULT_RCD_CONFIG: Readonly<RcdConfig> = Object.freeze({ tripAcMa: 30, tripDcMa: 6, selfTestMs: 300 });

export class RcdModel {
  readonly config: RcdConfig;
  private acMa = 0;
  private dcMa = 0;
  private overSince = -1;
  private bits = 0;
  private selfTestEnd = -1;
  private selfTestFault = false;
  private lastT: number;

  constructor(config: Partial<RcdConfig> = {}, now = 0) {
    const c = { ...DEFAULT_RCD_CONFIG, ...config };
    for (const k of ["tripAcMa", "tripDcMa", "selfTestMs"] as const) {
      if (typeof c[k] !== "number" || !Number.isFinite(c[k]) || c[k] < 0 || (k !== "selfTestMs" && c[k] === 0)) {
        throw new RangeError(`RcdConfig: bad ${k}`);
      }
    }
    this.config = c;
    this.lastT = now;
  }

  /** Sets the residual current now flowing (AC RMS mA, DC mA), from `now` on. */
  inject(acMa: number, dcMa: number, now: number = this.lastT): void {
    if (!(acMa >= 0 && Number.isFinite(acMa)) || !(dcMa >= 0 && Number.isFinite(dcMa))) {
      throw new RangeError("RcdModel.inject: residual currents must be finite and ≥ 0");
    }
    this.acMa = acMa;
    this.dcMa = dcMa;
    if (!this.over()) this.overSince = -1;
    else if (this.overSince < 0) this.overSince = now;
  }

  get residualAcMa(): number {
    return this.acMa;
  }

  get residualDcMa(): number {
    return this.dcMa;
  }

  private over(): boolean {
    return this.acMa >= this.config.tripAcMa || this.dcMa >= this.config.tripDcMa;
  }

  /** The break time for the present residual currents, ms (Infinity below both thresholds). */
  tripDelayMs(): number {
    const c = this.config;
    let d = Infinity;
    const ac = this.acMa / c.tripAcMa;
    if (ac >= 5) d = 40;
    else if (ac >= 2) d = 150;
    else if (ac >= 1) d = 300;
    const dc = this.dcMa;
    const dcRel = dc / c.tripDcMa; // thresholds scale with the configured IΔdc (6 → 60 → 200 mA)
    if (dcRel >= 200 / 6) d = Math.min(d, 100);
    else if (dcRel >= 10) d = Math.min(d, 300);
    else if (dcRel >= 1) d = Math.min(d, 10000);
    return d;
  }

  /** Advances to `now`. Returns true when the status changed (trip or self-test end). */
  step(now: number): boolean {
    if (!Number.isFinite(now) || now < this.lastT) throw new RangeError(`RcdModel.step: bad time ${now}`);
    this.lastT = now;
    let changed = false;
    if (this.overSince >= 0 && now - this.overSince >= this.tripDelayMs()) {
      const add = (this.acMa >= this.config.tripAcMa ? RCM_TRIP_AC : 0) | (this.dcMa >= this.config.tripDcMa ? RCM_TRIP_DC : 0);
      if ((this.bits & add) !== add) {
        this.bits |= add;
        changed = true;
      }
    }
    if (this.selfTestEnd >= 0 && now >= this.selfTestEnd) {
      this.selfTestEnd = -1;
      this.bits &= ~RCM_SELF_TEST_RUNNING;
      if (this.selfTestFault) this.bits |= RCM_SELF_TEST_FAILED;
      else this.bits &= ~RCM_SELF_TEST_FAILED;
      changed = true;
    }
    return changed;
  }

  /** RCM_* status bits (hal/charging.ts). */
  status(): number {
    return this.bits;
  }

  get tripped(): boolean {
    return (this.bits & (RCM_TRIP_AC | RCM_TRIP_DC)) !== 0;
  }

  /** Starts the self-test. Throws Error if one is running. */
  selfTest(now: number = this.lastT): void {
    if (this.selfTestEnd >= 0) throw new Error("RCM self-test already running");
    this.selfTestEnd = now + this.config.selfTestMs;
    this.bits |= RCM_SELF_TEST_RUNNING;
  }

  /** Clears a latched trip; refused (returns false, stays tripped) while residual current persists. */
  reset(): boolean {
    if (this.over()) return false;
    this.bits &= ~(RCM_TRIP_AC | RCM_TRIP_DC);
    return true;
  }

  /** Fault injection: the next self-tests fail (true) or pass (false). */
  setSelfTestFault(fail: boolean): void {
    this.selfTestFault = fail === true;
  }
}
