/**
 * Thermal derating: hottest temperature -> maximum current, piecewise linear through configured points.
 * The result is a CLAIM for the limit arbiter (source "thermal"); the hard cut-off (contactor open) is the
 * IEC 61851 core's job (CoreConfig.overTemperatureC).
 *
 * Curve: [[tempC, amps], ...] with strictly ascending temperatures (the config schema checks ranges; see
 * validateThermalCurve for the firmware-side check). Below the first point the first amps apply, above the last
 * point the last amps apply. Allocation-free.
 */

export type ThermalCurve = ReadonlyArray<readonly [number, number]>;

/** Maximum current (A) at tempC. A non-finite temperature (sensor failure) or an empty curve gives 0 A. */
export function thermalLimit(tempC: number, curve: ThermalCurve): number {
  const n = curve.length;
  if (n === 0 || !Number.isFinite(tempC)) return 0;
  const first = curve[0];
  if (tempC <= first[0]) return first[1];
  for (let i = 1; i < n; i++) {
    const p = curve[i];
    if (tempC <= p[0]) {
      const q = curve[i - 1];
      const a = q[1] + ((p[1] - q[1]) * (tempC - q[0])) / (p[0] - q[0]);
      // The interpolation of two non-negative values stays between them; guard the float edge anyway.
      return a < 0 ? 0 : a;
    }
  }
  return curve[n - 1][1];
}

/** "" when the curve is usable, else why not (at least one point, finite values, ascending temperatures, amps >= 0). */
export function validateThermalCurve(curve: unknown): string {
  if (!Array.isArray(curve) || curve.length === 0) return "curve must be a non-empty array of [tempC, amps]";
  let last = -Infinity;
  for (let i = 0; i < curve.length; i++) {
    const p: unknown = curve[i];
    if (!Array.isArray(p) || p.length !== 2) return "point " + i + " must be [tempC, amps]";
    const t = p[0];
    const a = p[1];
    if (typeof t !== "number" || !Number.isFinite(t)) return "point " + i + ": tempC must be a finite number";
    if (typeof a !== "number" || !Number.isFinite(a) || a < 0) return "point " + i + ": amps must be a finite number >= 0";
    if (!(t > last)) return "point " + i + ": temperatures must be strictly ascending";
    last = t;
  }
  return "";
}
