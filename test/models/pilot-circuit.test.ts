import test from "ava";
import { Rng } from "../../simulator/rng.js";
import {
  DEFAULT_PILOT_CIRCUIT,
  PILOT_SHORT,
  R2_OHMS,
  evPilotLoad,
  loadedMv,
  pilotBand,
  pilotLevels,
  samplePilot,
} from "../../simulator/models/pilot-circuit.js";
import type { PilotLoad, PilotState } from "../../simulator/models/pilot-circuit.js";

const PWM_DUTIES = [1, 50, 80, 100, 160, 267, 533, 850, 900, 960, 970, 999];
const ALL_DUTIES = [-1, 0, 1000, ...PWM_DUTIES];

const EVS: Array<[PilotState, PilotLoad | null]> = [
  ["A", null],
  ["B", evPilotLoad("B")],
  ["C", evPilotLoad("C")],
  ["D", evPilotLoad("D")],
];

function expectedHighBand(duty: number, ev: PilotState): PilotState {
  if (duty === -1) return "E";
  if (duty === 0) return "F";
  return ev;
}

test("nominal Annex A levels: A 12 V, B ≈ 9 V, C ≈ 6 V, D ≈ 3 V, negative half -12 V with the diode", (t) => {
  const s = { high: 0, low: 0 };
  pilotLevels(533, null, s);
  t.is(s.high, 12000);
  t.is(s.low, -12000);
  pilotLevels(533, evPilotLoad("B"), s);
  t.true(Math.abs(s.high - 8980) < 10, `B ${s.high}`);
  t.is(s.low, -12000);
  pilotLevels(533, evPilotLoad("C"), s);
  t.true(Math.abs(s.high - 5990) < 10, `C ${s.high}`);
  t.is(s.low, -12000);
  pilotLevels(533, evPilotLoad("D"), s);
  t.true(Math.abs(s.high - 2930) < 10, `D ${s.high}`);
  t.is(s.low, -12000);
});

test("every EV state × every duty: the high half is in its Annex A band, the low half at -12 V (noise-free and noisy)", (t) => {
  const seed = 1234;
  const rng = new Rng(seed);
  const s = { high: 0, low: 0 };
  for (const [state, load] of EVS) {
    for (const duty of ALL_DUTIES) {
      const want = expectedHighBand(duty, state);
      pilotLevels(duty, load, s);
      t.is(pilotBand(s.high), want, `state ${state} duty ${duty} high ${s.high}`);
      const wantLow = duty === -1 ? "E" : duty === 1000 ? want : "F";
      t.is(pilotBand(s.low), wantLow, `state ${state} duty ${duty} low ${s.low}`);
      for (let k = 0; k < 50; k++) {
        samplePilot(duty, load, rng, s);
        t.true(Number.isInteger(s.high) && Number.isInteger(s.low));
        if (pilotBand(s.high) !== want) t.fail(`seed ${seed}: noisy high ${s.high} out of band ${want}`);
      }
    }
  }
});

test("steady +12 V (duty 1000) gives the loaded level in both halves", (t) => {
  const s = { high: 0, low: 0 };
  pilotLevels(1000, evPilotLoad("C"), s);
  t.is(s.high, s.low);
  t.is(pilotBand(s.low), "C");
});

test("missing diode: the negative half is loaded too (not -12 V)", (t) => {
  const s = { high: 0, low: 0 };
  for (const st of ["B", "C", "D"] as const) {
    const load = evPilotLoad(st, false);
    pilotLevels(533, load, s);
    t.not(pilotBand(s.low), "F", `${st}: low ${s.low}`);
    t.true(s.low > -11000);
    // exactly the divider: -12 V · R / (R1 + R)
    t.is(s.low, (-12000 * load.ohms) / (1000 + load.ohms));
  }
  pilotLevels(533, evPilotLoad("B", false), s);
  t.true(Math.abs(s.low - -8791) < 5, `B no diode low ${s.low}`);
});

test("short pilot–PE reads 0 V (state E) on both halves", (t) => {
  const s = { high: 0, low: 0 };
  for (const duty of [1000, 0, 533]) {
    pilotLevels(duty, PILOT_SHORT, s);
    t.is(s.high, 0);
    t.is(s.low, 0);
    t.is(pilotBand(s.high), "E");
  }
});

test("component tolerances of Annex A (generator ±0.6 V, resistors ±3 %, diode ±0.15 V) keep every state in its band", (t) => {
  const s = { high: 0, low: 0 };
  for (const gen of [11400, 12600]) {
    for (const r1 of [970, 1030]) {
      for (const tol of [0.97, 1.03]) {
        for (const vd of [550, 850]) {
          const params = { ...DEFAULT_PILOT_CIRCUIT, plusMv: gen, minusMv: -gen, r1Ohms: r1 };
          for (const st of ["B", "C", "D"] as const) {
            const nominal = evPilotLoad(st, true, vd);
            pilotLevels(533, { ...nominal, ohms: nominal.ohms * tol }, s, params);
            t.is(pilotBand(s.high), st, `gen ${gen} r1 ${r1} tol ${tol} vd ${vd} ${st}: ${s.high}`);
          }
        }
      }
    }
  }
});

test("samplePilot draws exactly two numbers and noise stays within ±noiseMv", (t) => {
  const a = new Rng(9), b = new Rng(9);
  const s = { high: 0, low: 0 };
  const clean = { high: 0, low: 0 };
  pilotLevels(267, evPilotLoad("C"), clean);
  for (let i = 0; i < 1000; i++) {
    samplePilot(267, evPilotLoad("C"), a, s);
    t.true(Math.abs(s.high - clean.high) <= 50.5 && Math.abs(s.low - clean.low) <= 50.5);
    b.float();
    b.float();
  }
  t.is(a.next(), b.next());
  const quiet = { ...DEFAULT_PILOT_CIRCUIT, noiseMv: 0 };
  samplePilot(267, evPilotLoad("C"), a, s, quiet);
  t.is(s.high, Math.round(clean.high));
});

test("invalid duties throw RangeError", (t) => {
  const s = { high: 0, low: 0 };
  for (const d of [-2, 1001, 0.5, NaN]) t.throws(() => pilotLevels(d, null, s), { instanceOf: RangeError });
});

test("loadedMv: the diode blocks below its drop; R2 alone gives the B level", (t) => {
  t.is(loadedMv(500, evPilotLoad("B")), 500);
  t.is(loadedMv(12000, { ohms: R2_OHMS, diode: false, diodeDropMv: 0 }), (12000 * 2740) / 3740);
});
