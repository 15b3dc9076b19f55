/**
 * Control pilot per IEC 61851-1 Annex A: voltage bands, the diode check, and the PWM duty <-> current tables.
 *
 * Pure functions, no allocation, no HAL calls. Duty values use the HAL encoding (hal/charging.ts): an integer
 * in 0.1 % steps, 1..999 = PWM at 1 kHz, PILOT_PLUS_12V (1000) = steady +12 V, PILOT_MINUS_12V (0) = steady
 * -12 V, PILOT_OFF (-1) = driver off.
 */
import { PILOT_MINUS_12V, PILOT_PLUS_12V } from "../../hal/charging.js";

/** Pilot classification codes (the debounced state uses the first six). */
export const CLS_A = 0;
export const CLS_B = 1;
export const CLS_C = 2;
export const CLS_D = 3;
export const CLS_E = 4;
export const CLS_F = 5;
/** Outside every band (or not a finite number). */
export const CLS_INVALID = 6;
/** A valid A..D level in the positive half while the negative half did not reach -12 V (missing/shorted diode). */
export const CLS_DIODE = 7;

/** The state letters, indexed by CLS_A..CLS_F (string constants, so lookups allocate nothing). */
export const STATE_NAMES = ["A", "B", "C", "D", "E", "F"] as const;

/**
 * Band edges in mV, inclusive: nominal ±1 V (IEC 61851-1 Annex A, EVSE-side detection).
 * A +12 V, B +9 V, C +6 V, D +3 V, E 0 V, F -12 V. The 1 V gaps between bands are "invalid".
 */
export const PILOT_BAND_MV: ReadonlyArray<readonly [number, number]> = [
  [11000, 13000], // A
  [8000, 10000], // B
  [5000, 7000], // C
  [2000, 4000], // D
  [-1000, 1000], // E
  [-13000, -11000], // F
];

/** Band of one voltage (mV): CLS_A..CLS_F, or CLS_INVALID. */
export function pilotBand(mv: number): number {
  // Written out (no loop over the table) so that it is branch-cheap on XS.
  if (!(mv >= -13000 && mv <= 13000)) return CLS_INVALID; // also NaN
  if (mv >= 11000) return CLS_A;
  if (mv >= 8000) return mv <= 10000 ? CLS_B : CLS_INVALID;
  if (mv >= 5000) return mv <= 7000 ? CLS_C : CLS_INVALID;
  if (mv >= 2000) return mv <= 4000 ? CLS_D : CLS_INVALID;
  if (mv >= -1000) return mv <= 1000 ? CLS_E : CLS_INVALID;
  if (mv <= -11000) return CLS_F;
  return CLS_INVALID;
}

/**
 * Classifies one sample pair. `pwm` says whether the pilot was oscillating when the sample was taken:
 * then the negative half must sit in the -12 V band for any A..D level (diode check), else CLS_DIODE.
 * Without PWM the low half is the steady level and is not looked at.
 */
export function classifyPilot(highMv: number, lowMv: number, pwm: boolean): number {
  // Charging (C, 6 V) is the steady state: its band is tested first (same result as pilotBand(highMv)).
  const hb = highMv >= 5000 && highMv <= 7000 ? CLS_C : pilotBand(highMv);
  if (hb === CLS_INVALID) return CLS_INVALID;
  // pilotBand(lowMv) === CLS_F exactly when -13000 <= lowMv <= -11000 (NaN: not F), written out: no second call.
  if (pwm && hb <= CLS_D && !(lowMv >= -13000 && lowMv <= -11000)) return CLS_DIODE;
  return hb;
}

/** True for a duty that oscillates (1..999). */
export function isPwmDuty(duty: number): boolean {
  return duty >= 1 && duty <= 999;
}

/** The nominal 5 % duty that asks for high-level communication (ISO 15118), in 0.1 %. */
export const DUTY_HLC = 50;
/** Lowest current PWM can signal (10 % duty), A. */
export const PWM_MIN_AMPS = 6;
/** Highest current PWM can signal (96 % duty), A. */
export const PWM_MAX_AMPS = 80;
const DUTY_6A = 100; // 10 %
const DUTY_51A = 850; // 85 %
const DUTY_80A = 960; // 96 %

/**
 * The current an EV reads from a duty (IEC 61851-1 Table A.8, EV side), A. 0 means "no current signalled by
 * PWM": steady levels, < 3 %, 3..7 % (digital communication: the current comes from ISO 15118), 7..8 %, > 97 %.
 *   8 % <= d < 10 %  -> 6 A
 *  10 % <= d <= 85 % -> d x 0.6 A
 *  85 % <  d <= 96 % -> (d - 64) x 2.5 A
 *  96 % <  d <= 97 % -> 80 A
 * Exact for integer duties: d*6/100 and (d-640)/4 are correctly rounded doubles of the decimal value.
 */
export function currentForDuty(duty: number): number {
  if (!(duty >= 80 && duty <= 970) || duty !== Math.floor(duty)) return 0;
  if (duty < DUTY_6A) return 6;
  if (duty <= DUTY_51A) return (duty * 6) / 100;
  if (duty <= DUTY_80A) return (duty - 640) / 4;
  return 80;
}

/**
 * The duty (0.1 % steps) that signals the largest current not above `amps` (IEC 61851-1 Table A.7, EVSE side:
 * 6..51 A -> I / 0.6 %, 51..80 A -> I / 2.5 + 64 %), rounded DOWN so the EV never reads more than `amps`.
 * Below 6 A (or NaN) it returns PILOT_PLUS_12V: no PWM, the charge pauses. Above 80 A it signals 80 A.
 *
 * Between 51 A and 52.75 A the second formula would give 84.4..85.1 %, which an EV reads with the first formula
 * as less than 51 A (the two segments do not meet); we return 85 % (51 A), the largest safe value, so the
 * mapping is monotonic and currentForDuty(dutyForCurrent(a)) <= a holds everywhere.
 */
export function dutyForCurrent(amps: number): number {
  if (!(amps >= PWM_MIN_AMPS)) return PILOT_PLUS_12V;
  if (amps >= PWM_MAX_AMPS) return DUTY_80A;
  let d: number;
  let lo: number;
  let hi: number;
  if (amps < 52.75) {
    d = Math.floor((amps * 50) / 3);
    lo = DUTY_6A;
    hi = DUTY_51A;
  } else {
    d = Math.floor(amps * 4) + 640;
    lo = DUTY_51A + 1;
    hi = DUTY_80A;
  }
  if (d < lo) d = lo;
  if (d > hi) d = hi;
  // Correct the one-ulp errors of the float arithmetic against the exact table.
  while (d < hi && currentForDuty(d + 1) <= amps) d++;
  while (d > lo && currentForDuty(d) > amps) d--;
  return d;
}

/** True for a duty the core may write: PWM 1..999 or one of the steady levels. */
export function isValidDuty(duty: number): boolean {
  return duty === PILOT_PLUS_12V || duty === PILOT_MINUS_12V || duty === -1 || (isPwmDuty(duty) && duty === Math.floor(duty));
}
