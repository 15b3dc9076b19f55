/**
 * The supply: line-to-neutral RMS voltage per phase and the line frequency.
 *
 * V_i(t) = nominal · (1 + offset_i + drift_i(t)) · sag_i(t)
 *  - offset_i: a fixed per-phase deviation drawn once, uniform in ±phaseOffsetPct (unequal loading);
 *  - drift_i: a slow mean-reverting random walk (discrete Ornstein–Uhlenbeck, time constant driftTauS,
 *    stationary σ ≈ driftPct), updated every tickMs;
 *  - sag_i: 1 − depth during a configured sag (depth 1 = outage).
 * f(t) = frequencyHz + the same kind of slow walk with σ ≈ frequencyDriftHz.
 *
 * Defaults stay well inside EN 50160 (supply voltage 230 V ± 10 %, frequency 50 Hz ± 1 %): offsets ±1 %,
 * drift σ 1 %, frequency σ 0.02 Hz (typical of the continental European grid).
 *
 * Randomness: only from the Rng passed in; normal deviates are approximated by the sum of three uniforms
 * (arithmetic only, so the same on every IEEE engine). Voltage is constant between ticks.
 */
import type { Rng } from "../rng.js";

export interface GridSag {
  /** Start, virtual ms. */
  atMs: number;
  durationMs: number;
  /** Fractional dip: 0.3 leaves 70 % of the voltage; 1 is an outage. */
  depth: number;
  /** Phases affected, bit mask (1 = L1, 2 = L2, 4 = L3); default all. */
  phases?: number;
}

export interface GridConfig {
  nominalVoltage: number;
  frequencyHz: number;
  /** Fixed per-phase offset, uniform in ± this many percent. */
  phaseOffsetPct: number;
  /** Standard deviation of the slow drift, percent of nominal. */
  driftPct: number;
  driftTauS: number;
  /** Standard deviation of the frequency drift, Hz. */
  frequencyDriftHz: number;
  frequencyTauS: number;
  /** How often the drift is updated, ms. */
  tickMs: number;
  sags: GridSag[];
}

export const DEFAULT_GRID_CONFIG: Readonly<GridConfig> = Object.freeze({
  nominalVoltage: 230,
  frequencyHz: 50,
  phaseOffsetPct: 1,
  driftPct: 1,
  driftTauS: 600,
  frequencyDriftHz: 0.02,
  frequencyTauS: 60,
  tickMs: 1000,
  sags: [] as GridSag[],
});

function checkSag(s: GridSag): void {
  const ok = (x: unknown, min: number) => typeof x === "number" && Number.isFinite(x) && x >= min;
  if (!ok(s.atMs, 0) || !ok(s.durationMs, 0) || !ok(s.depth, 0) || s.depth > 1) throw new RangeError("GridSag: bad field");
  if (s.phases !== undefined && (!Number.isInteger(s.phases) || s.phases < 0 || s.phases > 7)) throw new RangeError("GridSag: bad phases");
}

export class GridModel {
  readonly config: GridConfig;
  private readonly rng: Rng;
  private readonly offset = [0, 0, 0];
  private readonly drift = [0, 0, 0];
  private fDrift = 0;
  private nextTick: number;
  private lastT: number;
  private readonly sags: GridSag[];
  private readonly v = [0, 0, 0];

  constructor(config: Partial<GridConfig>, rng: Rng, now = 0) {
    const c: GridConfig = { ...DEFAULT_GRID_CONFIG, ...config, sags: [...(config.sags ?? [])] };
    const pos = (k: keyof GridConfig, allowZero: boolean) => {
      const x = c[k];
      if (typeof x !== "number" || !Number.isFinite(x) || x < 0 || (!allowZero && x === 0)) throw new RangeError(`GridConfig: bad ${k}`);
    };
    pos("nominalVoltage", false);
    pos("frequencyHz", false);
    pos("phaseOffsetPct", true);
    pos("driftPct", true);
    pos("driftTauS", false);
    pos("frequencyDriftHz", true);
    pos("frequencyTauS", false);
    pos("tickMs", false);
    c.sags.forEach(checkSag);
    this.config = c;
    this.rng = rng;
    this.sags = c.sags;
    for (let i = 0; i < 3; i++) this.offset[i] = (rng.float() * 2 - 1) * (c.phaseOffsetPct / 100);
    this.lastT = now;
    this.nextTick = now + c.tickMs;
    this.recompute(now);
  }

  /** ≈ N(0, 1): the sum of three uniforms on (-1, 1) has variance 1. */
  private normal(): number {
    const r = this.rng;
    return r.float() * 2 - 1 + (r.float() * 2 - 1) + (r.float() * 2 - 1);
  }

  /** Schedules a sag (depth 0..1) from `atMs` for `durationMs` on the phases in the mask. */
  sag(atMs: number, durationMs: number, depth: number, phases = 7): void {
    const s: GridSag = { atMs, durationMs, depth, phases };
    checkSag(s);
    this.sags.push(s);
    this.recompute(this.lastT);
  }

  /** Advances to `now` (ms). */
  step(now: number): void {
    if (now < this.lastT) throw new RangeError(`GridModel.step: time went backwards (${now} < ${this.lastT})`);
    const c = this.config;
    const aV = c.tickMs / 1000 / c.driftTauS;
    const aF = c.tickMs / 1000 / c.frequencyTauS;
    const kV = (c.driftPct / 100) * Math.sqrt(2 * aV);
    const kF = c.frequencyDriftHz * Math.sqrt(2 * aF);
    while (this.nextTick <= now) {
      for (let i = 0; i < 3; i++) this.drift[i] = this.drift[i] * (1 - aV) + kV * this.normal();
      this.fDrift = this.fDrift * (1 - aF) + kF * this.normal();
      this.nextTick += c.tickMs;
    }
    this.lastT = now;
    this.recompute(now);
  }

  private recompute(now: number): void {
    const n = this.config.nominalVoltage;
    for (let i = 0; i < 3; i++) {
      let k = 1;
      for (const s of this.sags) {
        if (now >= s.atMs && now < s.atMs + s.durationMs && ((s.phases ?? 7) & (1 << i)) !== 0) k = Math.min(k, 1 - s.depth);
      }
      this.v[i] = n * (1 + this.offset[i] + this.drift[i]) * k;
    }
  }

  /** RMS line-to-neutral voltage of phase 0..2 at the last step, V. */
  voltage(phase: number): number {
    const v = this.v[phase];
    if (v === undefined) throw new RangeError(`GridModel.voltage: bad phase ${phase}`);
    return v;
  }

  /** Line frequency at the last step, Hz. */
  frequency(): number {
    return this.config.frequencyHz + this.fDrift;
  }
}
