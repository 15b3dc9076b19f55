/**
 * The wall-clock policy: one Clock (hal/clock.ts shape) in front of the HAL's clock, fed with time samples from
 * SNTP and from the CSMS (BootNotification / Heartbeat currentTime arrive through setWall()).
 *
 * - Model: wall(mono) = anchorWall + (mono - anchorMono) * (1 + rate) + slew(mono). `rate` is the measured drift
 *   of the local oscillator (ppm, from the offsets of two accepted samples at least `driftMinIntervalMs` apart,
 *   clamped to ±maxDriftPpm); `slew` spreads a small correction over time at most `maxSlewPpm`, so the wall clock
 *   never jumps and never runs backwards for a small error.
 * - Step vs slew: a sample that disagrees by more than `stepThresholdMs` (or the first sample, or one that comes
 *   while unsynchronised) STEPS the clock (and sets the HAL's RTC); a smaller error is SLEWED.
 * - Outliers: while synchronised, a sample more than `outlierMs` off the model is REJECTED and kept as a
 *   candidate; a second sample (any source) that agrees with the candidate within `confirmToleranceMs` CONFIRMS
 *   it (the clock steps). So a spoofed datagram or one wild CSMS reply against an SNTP-disciplined clock cannot
 *   move it; a real jump needs two agreeing witnesses. Exception: while the CSMS is the clock's only discipline
 *   (the last accepted sample came from it), its currentTime is followed at once (OCPP makes the CSMS the time
 *   authority, and SmartCharging boundaries must move with it).
 * - Precision: a sample within its own precision of the model (the CSMS's currentTime: ±1 s) only refreshes the
 *   synchronised state, so a coarse source does not pull a fine one around.
 * - `synchronized` is true after an accepted sample and EXPIRES `validityMs` after the last one: a clock that
 *   has not been confirmed for that long (a day by default) is reported unsynchronised (OCMF "U").
 *
 * Platform-neutral; allocates nothing per wall() call.
 */
import type { Clock } from "../../hal/index.js";

export interface ClockPolicyOptions {
  /** An error above this steps the clock; below, it is slewed. ms. */
  stepThresholdMs: number;
  /** Largest slew rate, ppm (500 ppm = 0.5 ms per s, as NTP's kernel discipline). */
  maxSlewPpm: number;
  /** While synchronised, a sample further than this from the model is an outlier until confirmed. ms. */
  outlierMs: number;
  /** How long `synchronized` lasts after the last accepted sample. ms. */
  validityMs: number;
  /** Two samples at least this far apart measure drift. ms. */
  driftMinIntervalMs?: number;
  /** Drift estimates are clamped to ± this. ppm. */
  maxDriftPpm?: number;
  /** An outlier candidate is confirmed by a second sample within this of it. ms. */
  confirmToleranceMs?: number;
}

export type TimeSource = "sntp" | "csms" | "manual";

export type SampleVerdict = "step" | "slew" | "refresh" | "outlier" | "confirmed";

export interface ClockStatus {
  synchronized: boolean;
  source: TimeSource | "none";
  /** Monotonic time of the last accepted sample (-1: never). */
  lastSyncMono: number;
  /** Measured drift, ppm (positive: the local oscillator is slow against the reference). */
  driftPpm: number;
  /** Slew correction still to apply, ms. */
  slewRemainingMs: number;
  steps: number;
  slews: number;
  outliers: number;
  /** The last error seen (reference - model), ms. */
  lastErrorMs: number;
}

export type ClockListener = (verdict: SampleVerdict, source: TimeSource, errorMs: number) => void;

export class ClockPolicy implements Clock {
  private readonly o: Required<ClockPolicyOptions>;
  private anchorMono = 0;
  private anchorWall = 0;
  private rate = 0;
  private slewTotal = 0;
  private slewStart = 0;
  private lastSync = -1;
  private lastSource: TimeSource | "none" = "none";
  /** The last accepted raw offset (reference - mono) and when, for drift. */
  private driftRefOffset = NaN;
  private driftRefMono = 0;
  private candidateOffset = NaN;
  private candidateMono = 0;
  private readonly listeners: ClockListener[] = [];
  private readonly st = { steps: 0, slews: 0, outliers: 0, lastErrorMs: 0 };
  constructor(private readonly base: Clock, options: ClockPolicyOptions) {
    this.o = {
      driftMinIntervalMs: 600_000,
      maxDriftPpm: 200,
      confirmToleranceMs: 2_000,
      ...options,
    };
    this.now = base.now.bind(base);
    const now = base.now();
    const w = base.wall();
    this.anchorMono = now;
    this.anchorWall = w;
    if (w > 0 && base.synchronized) {
      this.lastSync = now;
      this.lastSource = "manual";
    }
  }

  listen(l: ClockListener): void {
    this.listeners.push(l);
  }

  /** The HAL's monotonic clock itself (bound once: the control tick reads it every period). */
  readonly now: () => number;

  wall(): number {
    if (this.anchorWall === 0) return 0;
    return Math.floor(this.wallAt(this.base.now()));
  }

  get synchronized(): boolean {
    return this.lastSync >= 0 && this.base.now() - this.lastSync < this.o.validityMs;
  }

  /** A wall time from the CSMS (the OCPP stack calls this with BootNotification / Heartbeat currentTime). */
  setWall(epochMs: number): void {
    if (typeof epochMs !== "number" || !Number.isFinite(epochMs) || epochMs < 0) throw new RangeError("setWall: a non-negative finite time");
    this.sample(epochMs, this.base.now(), 1_000, "csms");
  }

  /**
   * A time sample: the reference said `epochMs` at monotonic time `mono`, with this precision (ms). Returns what
   * the policy did with it.
   */
  sample(epochMs: number, mono: number, precisionMs: number, source: TimeSource): SampleVerdict {
    if (!Number.isFinite(epochMs) || epochMs <= 0 || !Number.isFinite(mono)) throw new RangeError("sample: bad time");
    const synced = this.synchronized;
    const err = this.anchorWall === 0 ? Infinity : epochMs - this.wallAt(mono);
    const offset = epochMs - mono;
    this.st.lastErrorMs = Number.isFinite(err) ? Math.round(err) : 0;
    let verdict: SampleVerdict;
    if (!synced) {
      verdict = Math.abs(err) > this.o.stepThresholdMs ? "step" : "slew";
    } else if (Math.abs(err) > this.o.outlierMs && (source !== "csms" || this.lastSource === "sntp")) {
      const c = this.candidateOffset;
      if (c === c && Math.abs(offset - c) <= this.o.confirmToleranceMs) verdict = "confirmed";
      else {
        this.candidateOffset = offset;
        this.candidateMono = mono;
        this.st.outliers++;
        this.emit("outlier", source, err);
        return "outlier";
      }
    } else if (Math.abs(err) <= precisionMs) {
      verdict = "refresh";
    } else {
      verdict = Math.abs(err) > this.o.stepThresholdMs ? "step" : "slew";
    }
    this.candidateOffset = NaN;
    if (verdict === "step" || verdict === "confirmed") {
      this.anchorMono = mono;
      this.anchorWall = epochMs;
      this.slewTotal = 0;
      this.st.steps++;
      if (verdict === "confirmed") this.driftRefOffset = NaN;
      try {
        this.base.setWall(epochMs + (this.base.now() - mono));
      } catch {
        // a HAL that cannot set its RTC still gets the policy's time
      }
    } else if (verdict === "slew") {
      const cur = this.wallAt(mono);
      this.anchorMono = mono;
      this.anchorWall = cur;
      this.slewTotal = err;
      this.slewStart = mono;
      this.st.slews++;
    }
    // Drift from the raw offsets of accepted precise samples (the model's own corrections do not enter it).
    if (precisionMs < 1_000) {
      const ref = this.driftRefOffset;
      if (ref === ref && mono - this.driftRefMono >= this.o.driftMinIntervalMs) {
        const ppm = ((offset - ref) / (mono - this.driftRefMono)) * 1e6;
        const max = this.o.maxDriftPpm;
        const next = (ppm > max ? max : ppm < -max ? -max : ppm) * 1e-6;
        if (this.rate !== next) {
          // Re-anchor at the present so a new rate does not move it; the rest of the slew continues from here.
          const done = this.slewDone(mono);
          this.anchorWall = this.wallAt(mono);
          this.anchorMono = mono;
          this.slewTotal -= done;
          this.slewStart = mono;
          this.rate = next;
        }
        this.driftRefOffset = offset;
        this.driftRefMono = mono;
      } else if (ref !== ref) {
        this.driftRefOffset = offset;
        this.driftRefMono = mono;
      }
    }
    this.lastSync = mono;
    this.lastSource = source;
    this.emit(verdict, source, err);
    return verdict;
  }

  status(): ClockStatus {
    const now = this.base.now();
    return {
      synchronized: this.synchronized,
      source: this.lastSource,
      lastSyncMono: this.lastSync,
      driftPpm: Math.round(this.rate * 1e7) / 10,
      slewRemainingMs: Math.round(this.slewTotal - this.slewDone(now)),
      steps: this.st.steps,
      slews: this.st.slews,
      outliers: this.st.outliers,
      lastErrorMs: this.st.lastErrorMs,
    };
  }

  private slewDone(mono: number): number {
    const total = this.slewTotal;
    if (total === 0) return 0;
    const max = (mono - this.slewStart) * this.o.maxSlewPpm * 1e-6;
    if (max <= 0) return 0;
    return total > 0 ? (total < max ? total : max) : -total < max ? total : -max;
  }

  private wallAt(mono: number): number {
    return this.anchorWall + (mono - this.anchorMono) * (1 + this.rate) + this.slewDone(mono);
  }

  private emit(v: SampleVerdict, source: TimeSource, err: number): void {
    for (const l of this.listeners) l(v, source, Number.isFinite(err) ? Math.round(err) : 0);
  }
}
