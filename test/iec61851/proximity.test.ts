import test from "ava";
import { PP_BANDS, PP_INVALID, PP_OPEN, ppCableAmps } from "../../firmware/iec61851/proximity.js";
import { PROXIMITY_OPEN } from "../../hal/charging.js";

const codings: Array<[number, number]> = [
  [1500, 13],
  [680, 20],
  [220, 32],
  [100, 63],
];

for (const [ohms, amps] of codings) {
  test(`PP ${ohms} Ohm -> ${amps} A, including the resistor's ±3 % and a further ±20 % measurement error`, (t) => {
    t.is(ppCableAmps(ohms), amps);
    t.is(ppCableAmps(Math.round(ohms * 0.97)), amps);
    t.is(ppCableAmps(Math.round(ohms * 1.03)), amps);
    t.is(ppCableAmps(Math.round(ohms * 0.97 * 0.8)), amps);
    t.is(ppCableAmps(Math.round(ohms * 1.03 * 1.2)), amps);
  });
}

test("PP band edges: lower inclusive, upper exclusive, contiguous", (t) => {
  for (let k = 0; k < PP_BANDS.length; k++) {
    const [lo, hi, amps] = PP_BANDS[k];
    t.is(ppCableAmps(lo), amps);
    t.is(ppCableAmps(hi - 1), amps);
    if (k + 1 < PP_BANDS.length) t.is(PP_BANDS[k + 1][0], hi);
  }
  t.is(ppCableAmps(147), 63);
  t.is(ppCableAmps(148), 32);
  t.is(ppCableAmps(386), 32);
  t.is(ppCableAmps(387), 20);
  t.is(ppCableAmps(1009), 20);
  t.is(ppCableAmps(1010), 13);
  t.is(ppCableAmps(2227), 13);
});

test("PP open, short and out-of-band readings", (t) => {
  t.is(ppCableAmps(PROXIMITY_OPEN), PP_OPEN);
  t.is(ppCableAmps(0), PP_INVALID);
  t.is(ppCableAmps(67), PP_INVALID);
  t.is(ppCableAmps(2228), PP_INVALID);
  t.is(ppCableAmps(10_000), PP_INVALID);
  t.is(ppCableAmps(-5), PP_INVALID);
  t.is(ppCableAmps(NaN), PP_INVALID);
});

test("a higher resistance never reads as a higher rating (monotonic)", (t) => {
  let prev = Infinity;
  for (let r = 68; r < 2228; r++) {
    const a = ppCableAmps(r);
    t.true(a > 0);
    if (a > prev) t.fail(`r=${r}`);
    prev = a;
  }
});
