/**
 * Proximity pilot (PP) of a type 2 socket: the cable's current rating from its coding resistor Rc between PP
 * and PE (IEC 61851-1 Annex B / IEC 62196-2): 1.5 kOhm 13 A, 680 Ohm 20 A, 220 Ohm 32 A, 100 Ohm 63 A
 * (Rc itself is specified ±3 %).
 *
 * Interpretation bands (ours, documented in README.md): each band runs from the geometric mean of its nominal and
 * the next lower nominal up to (excluding) the geometric mean with the next higher nominal, and the two outer
 * edges mirror the same ratio (~1.48). Contiguous bands mean a worn contact (which adds resistance) reads as the
 * same or a LOWER rating, never a higher one, and a reading is attributed to a higher-current cable only with a
 * measurement error of ~48 %. Below 68 Ohm (a short) or from 2228 Ohm up (but not open) is out of band: no charge.
 */
import { PROXIMITY_OPEN } from "../../hal/charging.js";

/** [minOhms inclusive, maxOhms exclusive, amps] per cable coding. */
export const PP_BANDS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 148, 63], // 100 Ohm: sqrt(100*220) = 148
  [148, 387, 32], // 220 Ohm: sqrt(220*680) = 386.8
  [387, 1010, 20], // 680 Ohm: sqrt(680*1500) = 1009.95
  [1010, 2228, 13], // 1.5 kOhm: 1500 * 1.485 = 2228
];

/** ppCableAmps() result for an open PP (no cable). */
export const PP_OPEN = 0;
/** ppCableAmps() result for a short or an out-of-band / invalid reading. */
export const PP_INVALID = -1;

/** Cable rating in A for a PP reading in ohms; PP_OPEN (0) when open, PP_INVALID (-1) when out of every band. */
export function ppCableAmps(ohms: number): number {
  if (ohms === PROXIMITY_OPEN) return PP_OPEN;
  if (!(ohms >= 68 && ohms < 2228)) return PP_INVALID; // also NaN
  if (ohms < 148) return 63;
  if (ohms < 387) return 32;
  if (ohms < 1010) return 20;
  return 13;
}
