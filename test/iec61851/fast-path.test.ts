/**
 * ChargingCore.step()'s steady-charging fast path (steadyStep) against the full step: random sequences that
 * mostly charge steadily, with every input the fast path looks at disturbed now and then (one step or for good),
 * drive two cores with the same inputs; the shadow core never takes the fast path (its precondition is cleared
 * before every step). After every step the outputs AND every internal field of the two must be identical. A failure
 * names the seed and the step.
 */
import test from "ava";
import { Rng } from "../../simulator/rng.js";
import { ChargingCore, createOutputs, type CoreConfig } from "../../firmware/iec61851/core.js";
import { PROXIMITY_OPEN, RCM_SELF_TEST_RUNNING, RCM_TRIP_AC } from "../../hal/charging.js";
import { Bench, config } from "./harness.js";

const SEEDS = 40;
const STEPS = 5000;

/** The core's private fast-path hook and flag, for the shadow and the hit counter. */
interface FastPathInternals {
  steady: boolean;
  steadyStep: (i: unknown, o: unknown) => boolean;
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, k) => same(x, b[k]));
  return Object.is(a, b);
}

/** The first field (own enumerable property) in which the two differ, or "". */
function diff(a: object, b: object): string {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if (typeof ra[k] === "function") continue; // the hit counter's wrapper of steadyStep
    if (!same(ra[k], rb[k])) return `${k}: ${String(ra[k])} (fast) vs ${String(rb[k])} (full)`;
  }
  return "";
}

function randomConfig(rng: Rng): CoreConfig {
  const hlc = rng.int(0, 3) === 0;
  const c = config(
    {
      debounceSamples: rng.int(1, 4),
      ventilationAllowed: rng.int(0, 1) === 1,
      evStopTimeoutMs: rng.pick([500, 3000]),
      weldSettleMs: rng.pick([50, 200]),
      overdrawToleranceA: rng.pick([0, 2]),
      overdrawTimeMs: rng.pick([100, 5000]),
      tethered: rng.int(0, 3) === 0,
      hlc,
    },
    { enabled: rng.int(0, 4) === 0, pauseMs: 300, holdMs: 0, maxSwitchesPerSession: 4 },
  );
  if (hlc) c.dcOutput = rng.int(0, 1) === 1;
  return c;
}

interface SeedResult {
  err: string;
  hits: number;
  refusals: number;
}

function runSeed(seed: number): SeedResult {
  const rng = new Rng(seed);
  const cfg = randomConfig(rng);
  const b = new Bench(cfg);
  const shadow = new ChargingCore(cfg);
  const shadowOut = createOutputs();
  b.inp.phases = rng.pick<1 | 3>([1, 3]);
  b.inp.hlcEnergy = true;
  b.inp.locked = true;
  b.inp.limit = rng.pick([10, 16, 32]);
  const fast = b.core as unknown as FastPathInternals;
  let hits = 0;
  let refusals = 0;
  const orig = fast.steadyStep;
  fast.steadyStep = function (this: unknown, i: unknown, o: unknown): boolean {
    const r = orig.call(this, i, o);
    if (r) hits++;
    else refusals++;
    return r;
  };
  b.ev = "C";
  b.evDraw = rng.pick([6, 16, 32]);

  let replugAt = -1;
  for (let k = 0; k < STEPS; k++) {
    const i = b.inp;
    i.now = (k + 1) * b.dt; // (a disturbance below may set it backwards, NaN or Infinity for one step)
    if (k === replugAt) b.ev = "C";
    b.prepare();
    // ---- lasting changes (rare), then one-step disturbances of the inputs the fast path checks
    if (rng.int(0, 399) === 0) {
      // Back to nominal (unplugging for a moment clears the session's latched faults): the next steady stretch.
      b.ev = "none";
      replugAt = k + 20;
      i.limit = rng.pick([10, 16, 32]);
      i.authorized = i.available = true;
      i.stopRequested = false;
      i.ppOhms = 220;
      i.temperature = 25;
      i.hlcEnergy = true;
      i.rcm = 0;
      b.forceMirror0 = b.forceMirror1 = null;
      b.evDraw = 16;
      b.evFollows = true;
      b.core.clearFault();
      shadow.clearFault();
      b.core.setHlc(cfg.hlc);
      shadow.setHlc(cfg.hlc);
    }
    if (rng.int(0, 149) === 0) {
      switch (rng.int(0, 15)) {
        case 0: b.ev = rng.pick(["B", "none", "D", "C", "C"] as const); break;
        case 1: i.limit = rng.pick([0, 5.9, 6, 10, 16, 16.5, 32, 80, NaN, -1]); break;
        case 2: i.authorized = rng.int(0, 3) !== 0; break;
        case 3: i.available = rng.int(0, 3) !== 0; break;
        case 4: i.stopRequested = rng.int(0, 3) === 0; break;
        case 5: i.ppOhms = rng.pick([100, 220, 220, 680, PROXIMITY_OPEN, 30, NaN]); break;
        case 6: i.temperature = rng.pick([25, 25, 60, 89.9, 90, NaN]); break;
        case 7: i.hlcEnergy = rng.pick([true, true, false, undefined]); break;
        case 8: b.forceMirror0 = rng.pick<0 | 1 | null>([null, null, 0, 1]); break;
        case 9: b.forceMirror1 = rng.pick<0 | 1 | null>([null, null, 0, 1]); break;
        case 10: b.evDraw = rng.pick([0, 6, 16, 32, 40]); break;
        case 11: b.evFollows = rng.int(0, 2) !== 0; break;
        case 12: b.core.clearFault(); shadow.clearFault(); break;
        case 13: { const on = rng.int(0, 1) === 1; b.core.setHlc(on); shadow.setHlc(on); break; }
        case 14: i.locked = rng.pick([true, true, false, undefined]); break;
        case 15: i.rcm = rng.pick([0, 0, 0, RCM_SELF_TEST_RUNNING, RCM_TRIP_AC]); break;
      }
    }
    if (rng.int(0, 29) === 0) {
      switch (rng.int(0, 9)) {
        case 0: i.pilotHigh = rng.pick([4999, 5000, 6000, 7000, 7001, 9000, NaN]); break;
        case 1: i.pilotLow = rng.pick([-13001, -13000, -12000, -11000, -10999, 0, NaN]); break;
        case 2: i.now = rng.pick([i.now - b.dt * 2, i.now, NaN, Infinity]); break;
        case 3: i.rcm = rng.pick([RCM_SELF_TEST_RUNNING, RCM_TRIP_AC, NaN, 0.5, -1]); break;
        case 4: i.mirror0 = rng.pick([0, 1, 2 as 1]); break;
        case 5: i.mirror1 = rng.pick([0, 1, 2 as 1]); break;
        case 6: { const c = i.current; c[rng.int(0, 2)] = rng.pick([0, 17.9, 18, 18.1, 40, NaN]); break; }
        case 7: i.current = rng.pick([[], [16], [16, 16, 16, 50], [NaN, 16, 16]]); break;
        case 8: i.phases = rng.pick<1 | 3>([1, 3]); break;
        case 9: i.ppOhms = rng.pick([221, PROXIMITY_OPEN, NaN]); break;
      }
    }
    const snapshot = { ...i, current: i.current.slice() };
    (shadow as unknown as FastPathInternals).steady = false; // the shadow always runs the full step
    shadow.step(snapshot, shadowOut);
    b.commit();
    if (i.current.length !== 3) i.current = [0, 0, 0]; // the bench's EV model writes three phases
    const d = diff(b.out, shadowOut) || diff(b.core, shadow);
    if (d) return { err: `seed ${seed} step ${k}: ${d}\n  inputs ${JSON.stringify(snapshot)}\n  config ${JSON.stringify(cfg)}`, hits, refusals };
  }
  return { err: "", hits, refusals };
}

test(`the steady-charging fast path gives the full step's outputs and state (${SEEDS} seeds x ${STEPS} steps)`, (t) => {
  let hits = 0;
  let refusals = 0;
  for (let s = 0; s < SEEDS; s++) {
    const r = runSeed((0x5eed + s * 104729) >>> 0);
    if (r.err) return t.fail(r.err);
    hits += r.hits;
    refusals += r.refusals;
  }
  // The run must exercise both: the fast path taken, and refused (the full step then runs).
  t.true(hits > SEEDS * 500, `fast path taken ${hits} times`);
  t.true(refusals > SEEDS * 20, `fast path refused ${refusals} times`);
});
