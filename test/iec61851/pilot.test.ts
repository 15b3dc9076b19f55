import test from "ava";
import {
  CLS_A, CLS_B, CLS_C, CLS_D, CLS_DIODE, CLS_E, CLS_F, CLS_INVALID,
  classifyPilot, currentForDuty, dutyForCurrent, isPwmDuty, pilotBand,
} from "../../firmware/iec61851/pilot.js";
import { PILOT_MINUS_12V, PILOT_OFF, PILOT_PLUS_12V } from "../../hal/charging.js";

const bands: Array<[string, number, number, number]> = [
  ["A", CLS_A, 11000, 13000],
  ["B", CLS_B, 8000, 10000],
  ["C", CLS_C, 5000, 7000],
  ["D", CLS_D, 2000, 4000],
  ["E", CLS_E, -1000, 1000],
  ["F", CLS_F, -13000, -11000],
];

for (const [name, cls, lo, hi] of bands) {
  test(`band ${name}: nominal, both edges inclusive, 1 mV outside is invalid`, (t) => {
    t.is(pilotBand((lo + hi) / 2), cls);
    t.is(pilotBand(lo), cls);
    t.is(pilotBand(hi), cls);
    t.is(pilotBand(lo - 1), CLS_INVALID);
    t.is(pilotBand(hi + 1), CLS_INVALID);
  });
}

test("gaps between bands, out of range and non-numbers are invalid", (t) => {
  for (const mv of [10500, 7500, 4500, 1500, -5000, -10500, 13500, -13500, NaN, Infinity, -Infinity]) {
    t.is(pilotBand(mv), CLS_INVALID, String(mv));
  }
});

test("diode check: with PWM the negative half must be at -12 V for A..D", (t) => {
  t.is(classifyPilot(9000, -12000, true), CLS_B);
  t.is(classifyPilot(6000, -11000, true), CLS_C);
  t.is(classifyPilot(6000, -10900, true), CLS_DIODE);
  t.is(classifyPilot(6000, -6000, true), CLS_DIODE);
  t.is(classifyPilot(3000, 0, true), CLS_DIODE);
  t.is(classifyPilot(12000, -9000, true), CLS_DIODE);
  t.is(classifyPilot(0, 0, true), CLS_E);
  t.is(classifyPilot(-12000, -12000, true), CLS_F);
  t.is(classifyPilot(7500, -12000, true), CLS_INVALID);
  // steady +12 V: the low half is the same level and is not checked
  t.is(classifyPilot(9000, 9000, false), CLS_B);
  t.is(classifyPilot(6000, 1234, false), CLS_C);
});

test("duty table edges (EVSE side, rounded down)", (t) => {
  t.is(dutyForCurrent(5.9), PILOT_PLUS_12V);
  t.is(dutyForCurrent(5.999999), PILOT_PLUS_12V);
  t.is(dutyForCurrent(0), PILOT_PLUS_12V);
  t.is(dutyForCurrent(-3), PILOT_PLUS_12V);
  t.is(dutyForCurrent(NaN), PILOT_PLUS_12V);
  t.is(dutyForCurrent(6), 100); // 10 %
  t.is(dutyForCurrent(6.05), 100);
  t.is(dutyForCurrent(6.06), 101);
  t.is(dutyForCurrent(10), 166); // 16.67 % rounded down
  t.is(dutyForCurrent(16), 266);
  t.is(dutyForCurrent(32), 533);
  t.is(dutyForCurrent(51), 850); // 85 %
  t.is(dutyForCurrent(51.1), 850); // 51.1/2.5+64 = 84.44 % would read as 50.66 A; 85 % (51 A) is the largest safe
  t.is(dutyForCurrent(52.74), 850);
  t.is(dutyForCurrent(52.75), 851);
  t.is(dutyForCurrent(63), 892); // 63/2.5+64 = 89.2 %
  t.is(dutyForCurrent(70), 920);
  t.is(dutyForCurrent(80), 960); // 96 %
  t.is(dutyForCurrent(80.1), 960);
  t.is(dutyForCurrent(500), 960);
  t.is(dutyForCurrent(Infinity), 960);
});

test("the two Annex A formulas hold exactly where they produce whole 0.1 % steps", (t) => {
  for (let k = 60; k <= 510; k += 3) {
    const a = k / 10; // 6.0, 6.3, ... 51.0 A: I / 0.6 % is a whole 0.1 % step
    t.is(dutyForCurrent(a), (k * 10) / 6, `a=${a}`);
  }
  for (let a = 53; a <= 80; a += 0.25) t.is(dutyForCurrent(a), Math.round((a / 2.5 + 64) * 10), `a=${a}`);
});

test("EV-side reading of duties (Table A.8)", (t) => {
  t.is(currentForDuty(PILOT_PLUS_12V), 0);
  t.is(currentForDuty(PILOT_MINUS_12V), 0);
  t.is(currentForDuty(PILOT_OFF), 0);
  t.is(currentForDuty(29), 0);
  t.is(currentForDuty(50), 0); // 5 %: digital communication, no PWM current
  t.is(currentForDuty(75), 0);
  t.is(currentForDuty(80), 6);
  t.is(currentForDuty(99), 6);
  t.is(currentForDuty(100), 6);
  t.is(currentForDuty(533), 31.98);
  t.is(currentForDuty(850), 51);
  t.is(currentForDuty(851), 52.75);
  t.is(currentForDuty(960), 80);
  t.is(currentForDuty(970), 80);
  t.is(currentForDuty(971), 0);
  t.is(currentForDuty(500.5), 0);
});

test("exact inverse: dutyForCurrent(currentForDuty(d)) === d for every signalling duty 10..96 %", (t) => {
  for (let d = 100; d <= 960; d++) t.is(dutyForCurrent(currentForDuty(d)), d, `d=${d}`);
});

test("over the whole range the signalled current never exceeds the request and is the largest possible", (t) => {
  let prev = -1;
  let checks = 0;
  for (let k = 0; k <= 100_00; k++) {
    const a = k / 100; // 0.00 .. 100.00 A
    const d = dutyForCurrent(a);
    if (a < 6) {
      t.is(d, PILOT_PLUS_12V);
      continue;
    }
    t.true(isPwmDuty(d));
    const got = currentForDuty(d);
    if (got > a) t.fail(`a=${a} signals ${got}`);
    // the next duty up would signal more than asked (or there is none)
    if (d < 960 && currentForDuty(d + 1) <= a) t.fail(`a=${a}: duty ${d + 1} also fits`);
    if (d < prev) t.fail(`not monotonic at a=${a}`);
    prev = d;
    checks++;
  }
  t.is(checks, 9401);
});
