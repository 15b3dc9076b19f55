/**
 * The control-pilot circuit of IEC 61851-1 Annex A (figure A.1 / tables A.1, A.2, A.3), solved as a DC
 * network for each half of the 1 kHz PWM.
 *
 *   EVSE: generator ±12 V ── R1 (1 kΩ) ──●── pilot wire ──►|── R2 (2.74 kΩ) ──┬── PE
 *                                        │                 diode               └─ S2 ── R3 ── PE
 *                                   measured here          (EV side; R3 = 1.3 kΩ for C, 270 Ω for D)
 *
 * Annex A values used (nominal):
 *  - generator open-circuit voltage +12 V / -12 V (tolerance ±0.6 V), source resistance R1 = 1000 Ω (±3 %);
 *  - EV: R2 = 2740 Ω (state B), R3 = 1300 Ω (state C) or 270 Ω (state D, ventilation), all ±3 %;
 *  - EV diode forward drop Vd = 0.7 V (tolerance ±0.15 V);
 *  - resulting pilot voltages (table A.3, positive half): A 12 V (11..13), B 9 V (8..10), C 6 V (5..7),
 *    D 3 V (2..4), E 0 V, F -12 V (-11..-13). With the diode present the negative half stays at -12 V.
 *
 * Solving: with the diode conducting (positive half), V = Vd + (Vg − Vd)·R/(R1 + R); on the negative half
 * the diode blocks and V = Vg. Without the diode (a faulty EV) both halves are loaded: V = Vg·R/(R1 + R).
 * A short pilot–PE is a load of 0 Ω without diode: 0 V on both halves (state E).
 * Nominal results: B 8.98 V, C 5.99 V, D 2.93 V, A 12 V, negative half -12 V (diode) / -8.79 V (B, no diode).
 *
 * Platform-neutral (no Node imports, only + − × ÷ and rounding: identical results on every IEEE engine).
 */
import type { PilotSample } from "../../hal/charging.js";
import type { Rng } from "../rng.js";

/** EV-side pilot resistors, ohms (IEC 61851-1 table A.2). */
export const R2_OHMS = 2740;
export const R3_C_OHMS = 1300;
export const R3_D_OHMS = 270;
/** EVSE source resistor R1, ohms (table A.1). */
export const R1_OHMS = 1000;
/** Nominal diode forward drop, mV (table A.2). */
export const DIODE_DROP_MV = 700;

/** What the EV (or a fault) connects between the pilot wire and PE. */
export interface PilotLoad {
  /** Total resistance to PE behind the diode, ohms: R2, or R2 ∥ R3 with S2 closed; 0 = short. */
  ohms: number;
  /** True when the EV's series diode is present. */
  diode: boolean;
  /** The diode's forward drop, mV (ignored without diode). */
  diodeDropMv: number;
}

/** A dead short pilot–PE (state E). */
export const PILOT_SHORT: Readonly<PilotLoad> = Object.freeze({ ohms: 0, diode: false, diodeDropMv: 0 });

/** Resistance of two resistors in parallel. */
export function parallel(a: number, b: number): number {
  return (a * b) / (a + b);
}

/** The pilot load of a compliant EV: S2 open (B), closed with R3 = 1.3 kΩ (C) or 270 Ω (D). */
export function evPilotLoad(s2: "B" | "C" | "D", diode = true, diodeDropMv = DIODE_DROP_MV): PilotLoad {
  const ohms = s2 === "B" ? R2_OHMS : parallel(R2_OHMS, s2 === "C" ? R3_C_OHMS : R3_D_OHMS);
  return { ohms, diode, diodeDropMv };
}

export interface PilotCircuitParams {
  /** Generator positive level, mV (12 V ± 0.6 V). */
  plusMv: number;
  /** Generator negative level, mV (-12 V ± 0.6 V). */
  minusMv: number;
  /** Source resistor R1, ohms. */
  r1Ohms: number;
  /** ADC noise: each sample gets a uniform error in ±noiseMv (then rounds to whole mV). */
  noiseMv: number;
}

export const DEFAULT_PILOT_CIRCUIT: Readonly<PilotCircuitParams> = Object.freeze({
  plusMv: 12000,
  minusMv: -12000,
  r1Ohms: R1_OHMS,
  noiseMv: 50,
});

/** True when `duty` is a value the pilot driver accepts (hal/charging.ts): an integer in -1..1000. */
export function isValidDuty(duty: number): boolean {
  return Number.isInteger(duty) && duty >= -1 && duty <= 1000;
}

/** True when the generator oscillates (1..999 = 0.1 %..99.9 %). */
export function isPwm(duty: number): boolean {
  return duty >= 1 && duty <= 999;
}

/** Voltage at the measuring point for one generator level `vgMv` and load (no noise). */
export function loadedMv(vgMv: number, load: PilotLoad | null, r1Ohms: number = R1_OHMS): number {
  if (load === null || vgMv === 0) return vgMv; // open circuit (state A) or driver off
  const r = load.ohms;
  if (load.diode) {
    const vd = load.diodeDropMv;
    if (vgMv <= vd) return vgMv; // diode blocks: no current flows
    return vd + ((vgMv - vd) * r) / (r1Ohms + r);
  }
  return (vgMv * r) / (r1Ohms + r) + 0; // + 0: never report -0
}

/**
 * Noise-free voltages of the two PWM halves, mV. Steady levels (duty 1000, 0, -1) give the same value in
 * both halves, as the HAL's PilotSample documents. Throws RangeError for an invalid duty.
 */
export function pilotLevels(
  duty: number,
  load: PilotLoad | null,
  into: PilotSample,
  params: Readonly<PilotCircuitParams> = DEFAULT_PILOT_CIRCUIT,
): PilotSample {
  if (!isValidDuty(duty)) throw new RangeError(`pilot duty must be an integer in -1..1000, got ${duty}`);
  let hiGen: number;
  let loGen: number;
  if (duty === -1) hiGen = loGen = 0;
  else if (duty === 1000) hiGen = loGen = params.plusMv;
  else if (duty === 0) hiGen = loGen = params.minusMv;
  else { hiGen = params.plusMv; loGen = params.minusMv; }
  into.high = loadedMv(hiGen, load, params.r1Ohms);
  into.low = loadedMv(loGen, load, params.r1Ohms);
  return into;
}

/**
 * One ADC sample pair of the pilot, mV (integers): the noise-free levels plus a uniform error in
 * ±params.noiseMv per half. Always draws exactly two numbers from `rng`, so the stream does not depend
 * on the duty or the load.
 */
export function samplePilot(
  duty: number,
  ev: PilotLoad | null,
  rng: Rng,
  into: PilotSample,
  params: Readonly<PilotCircuitParams> = DEFAULT_PILOT_CIRCUIT,
): PilotSample {
  pilotLevels(duty, ev, into, params);
  const n1 = rng.float() * 2 - 1;
  const n2 = rng.float() * 2 - 1;
  into.high = Math.round(into.high + n1 * params.noiseMv) + 0; // + 0 turns -0 into 0
  into.low = Math.round(into.low + n2 * params.noiseMv) + 0;
  return into;
}

export type PilotState = "A" | "B" | "C" | "D" | "E" | "F";

/**
 * Which IEC 61851-1 table A.3 band a positive-half (or steady) voltage falls in, or null between bands:
 * A 11..13 V, B 8..10 V, C 5..7 V, D 2..4 V, E -1..1 V, F -13..-11 V (limits inclusive).
 */
export function pilotBand(mv: number): PilotState | null {
  if (mv >= 11000 && mv <= 13000) return "A";
  if (mv >= 8000 && mv <= 10000) return "B";
  if (mv >= 5000 && mv <= 7000) return "C";
  if (mv >= 2000 && mv <= 4000) return "D";
  if (mv >= -1000 && mv <= 1000) return "E";
  if (mv >= -13000 && mv <= -11000) return "F";
  return null;
}
