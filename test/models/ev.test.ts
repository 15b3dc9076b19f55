import test from "ava";
import {
  EvModel,
  IEC_MAX_RESPONSE_MS,
  evConfig,
  isDigitalCommunication,
  signalledCurrent,
} from "../../simulator/models/ev.js";
import type { EvConfig } from "../../simulator/models/ev.js";

const V3 = [230, 230, 230];
const OFF = [0, 0, 0];
const STEP = 10;

/** Drives an EV from `from` to `to` (exclusive start) in 10 ms steps with fixed inputs. */
function run(ev: EvModel, from: number, to: number, duty: number, volts: number[], phases: 1 | 3 = 3): void {
  for (let t = from + STEP; t <= to; t += STEP) ev.step(t, { duty, acVolts: volts, phasesAvailable: phases });
}

/** Plugs, offers `duty` and closes the "contactor" once the EV is in C; returns the time at which it is at full current. */
function charging(cfg: Partial<EvConfig>, duty = 267): { ev: EvModel; t: number } {
  const ev = new EvModel(cfg, 0);
  ev.step(0, { duty, acVolts: OFF, phasesAvailable: 3 });
  run(ev, 0, 2000, duty, OFF);
  run(ev, 2000, 30000, duty, V3);
  return { ev, t: 30000 };
}

test("signalledCurrent follows IEC 61851-1 Annex A", (t) => {
  const cases: Array<[number, number]> = [
    [-1, 0], [0, 0], [1000, 0], [20, 0], [50, 0], [75, 0], [80, 6], [99, 6], [100, 6], [160, 9.6],
    [250, 15], [267, 16.02], [500, 30], [533, 31.98], [850, 51], [860, 55], [900, 65], [960, 80], [965, 80], [970, 80], [975, 0], [999, 0],
  ];
  for (const [d, a] of cases) t.true(Math.abs(signalledCurrent(d) - a) < 1e-9, `duty ${d}: ${signalledCurrent(d)} ≠ ${a}`);
  t.true(isDigitalCommunication(50));
  t.false(isDigitalCommunication(100));
});

test("plug-in is state B; PWM ≥ 6 A makes it close S2 after wakeDelayMs; 5 % (HLC) does not", (t) => {
  const ev = new EvModel({ wakeDelayMs: 400 }, 0);
  t.is(ev.state(), "B");
  t.is(ev.pilotLoad()?.ohms, 2740);
  run(ev, 0, 3000, 50, OFF); // 5 %: ignored
  t.is(ev.state(), "B");
  ev.step(3000, { duty: 267, acVolts: OFF, phasesAvailable: 3 });
  run(ev, 3000, 3390, 267, OFF);
  t.is(ev.state(), "B");
  run(ev, 3390, 3400, 267, OFF);
  t.is(ev.state(), "C");
  t.true(Math.abs(ev.pilotLoad()!.ohms - (2740 * 1300) / 4040) < 1e-9);
  t.deepEqual(ev.current(), [0, 0, 0], "no current without AC voltage");
});

test("ventilation request gives state D", (t) => {
  const { ev } = charging({ ventilation: true });
  t.is(ev.state(), "D");
  t.true(ev.current()[0] > 0);
});

test("current ramps at rampAPerS once voltage is there and settles at the signalled limit", (t) => {
  const ev = new EvModel({ rampAPerS: 8, maxCurrent: 32 }, 0);
  ev.step(0, { duty: 267, acVolts: OFF, phasesAvailable: 3 });
  run(ev, 0, 2000, 267, OFF);
  t.is(ev.state(), "C");
  run(ev, 2000, 3000, 267, V3); // 1 s of voltage: 8 A
  t.true(Math.abs(ev.current()[0] - 8) < 1e-9, `${ev.current()[0]}`);
  t.deepEqual(ev.current()[1], ev.current()[0]);
  run(ev, 3000, 6000, 267, V3);
  t.true(Math.abs(ev.current()[0] - 16.02) < 1e-9);
});

test("a lower PWM limit is followed within responseDelayMs (compliant EV), not before the reaction time", (t) => {
  for (const responseDelayMs of [0, 200, 1000, 3000, IEC_MAX_RESPONSE_MS]) {
    const { ev, t: t0 } = charging({ responseDelayMs, rampAPerS: 2, maxCurrent: 32 }, 533);
    t.true(Math.abs(ev.current()[0] - 31.98) < 1e-9, `settled ${ev.current()[0]}`);
    t.true(ev.compliant);
    ev.step(t0, { duty: 100, acVolts: V3, phasesAvailable: 3 }); // → 6 A
    let reachedAt = -1;
    for (let tt = t0 + STEP; tt <= t0 + 8000; tt += STEP) {
      ev.step(tt, { duty: 100, acVolts: V3, phasesAvailable: 3 });
      if (tt < t0 + responseDelayMs / 2) t.true(ev.current()[0] > 31, `still old current before reaction (${responseDelayMs})`);
      if (reachedAt < 0 && ev.current()[0] <= 6 + 1e-9) reachedAt = tt;
    }
    t.true(reachedAt >= 0 && reachedAt <= t0 + Math.max(responseDelayMs, STEP), `delay ${responseDelayMs}: reached at ${reachedAt - t0} ms`);
    t.true(Math.abs(ev.current()[0] - 6) < 1e-9);
  }
});

test("slowResponseMs > 5 s: non-compliant and still above the new limit at 5 s", (t) => {
  const { ev, t: t0 } = charging({ misbehaviour: { slowResponseMs: 9000 } }, 267);
  t.false(ev.compliant);
  ev.step(t0, { duty: 100, acVolts: V3, phasesAvailable: 3 });
  run(ev, t0, t0 + IEC_MAX_RESPONSE_MS, 100, V3);
  t.true(ev.current()[0] > 6.5, `${ev.current()[0]}`);
  run(ev, t0 + IEC_MAX_RESPONSE_MS, t0 + 9000, 100, V3);
  t.true(Math.abs(ev.current()[0] - 6) < 1e-9);
});

test("PWM stopped (+12 V steady): current to 0 within the response time, then S2 opens (B)", (t) => {
  const { ev, t: t0 } = charging({ responseDelayMs: 2000 }, 267);
  ev.step(t0, { duty: 1000, acVolts: V3, phasesAvailable: 3 });
  run(ev, t0, t0 + 2000, 1000, V3);
  t.deepEqual(ev.current(), [0, 0, 0]);
  t.is(ev.state(), "B");
});

test("ignorePwmOff: stays in C (drawing nothing) when the PWM stops", (t) => {
  const { ev, t: t0 } = charging({ misbehaviour: { ignorePwmOff: true } }, 267);
  run(ev, t0, t0 + 6000, 1000, V3);
  t.is(ev.state(), "C");
  t.deepEqual(ev.current(), [0, 0, 0]);
  t.false(ev.compliant);
});

test("overdraw: draws overdrawA above the allowed current", (t) => {
  const { ev } = charging({ misbehaviour: { overdrawA: 3 }, maxCurrent: 32 }, 267);
  t.true(Math.abs(ev.current()[0] - 19.02) < 1e-9, `${ev.current()[0]}`);
});

test("missing diode shows in the pilot load", (t) => {
  const ev = new EvModel({ misbehaviour: { missingDiode: true } });
  t.false(ev.pilotLoad()!.diode);
  t.true(new EvModel().pilotLoad()!.diode);
});

test("phases: a 1-phase EV draws on L1 only; a 3-phase EV on a 1-phase supply draws on L1 only", (t) => {
  const { ev } = charging({ phases: 1 });
  t.true(ev.current()[0] > 15);
  t.is(ev.current()[1], 0);
  t.is(ev.current()[2], 0);
  const ev3 = new EvModel({}, 0);
  run(ev3, 0, 2000, 267, OFF, 1);
  run(ev3, 2000, 6000, 267, [230, 0, 0], 1);
  t.true(ev3.current()[0] > 15);
  t.deepEqual([ev3.current()[1], ev3.current()[2]], [0, 0]);
});

test("current stops at once when the supply disappears (contactor opened under load)", (t) => {
  const { ev, t: t0 } = charging({});
  t.true(ev.current()[0] > 0);
  ev.step(t0 + STEP, { duty: 267, acVolts: OFF, phasesAvailable: 3 });
  t.deepEqual(ev.current(), [0, 0, 0]);
  t.is(ev.state(), "C");
});

test("SoC integrates the energy: ΔSoC · capacity = η · ∫V·I·PF dt", (t) => {
  const cfg = { batteryKWh: 40, initialSoc: 20, efficiency: 0.88, powerFactor: 0.97 };
  const { ev, t: t0 } = charging(cfg);
  const e0 = ev.energyWh;
  let manual = 0;
  let prevI = ev.current();
  for (let tt = t0 + STEP; tt <= t0 + 600000; tt += STEP) {
    manual += ((230 * (prevI[0] + prevI[1] + prevI[2]) * 0.97) * STEP) / 3600000;
    ev.step(tt, { duty: 267, acVolts: V3, phasesAvailable: 3 });
    prevI = ev.current();
  }
  const sinceT0 = ev.energyWh - e0;
  t.true(manual > 1000, `${manual}`);
  t.true(Math.abs(sinceT0 - manual) < 1e-9 * manual, `${sinceT0} vs ${manual}`);
  t.true(Math.abs(ev.batteryWh - 0.88 * ev.energyWh) < 1e-9);
  t.true(Math.abs((ev.soc - 20) * 40 * 10 - ev.batteryWh) < 1e-6, `soc ${ev.soc} batteryWh ${ev.batteryWh}`);
});

test("tapers above 80 % SoC and stops at targetSoc (S2 open, suspended)", (t) => {
  const { ev, t: t0 } = charging({ batteryKWh: 5, initialSoc: 79, targetSoc: 95, maxCurrent: 16 }, 533);
  let tt = t0;
  while (ev.soc < 90 && tt < t0 + 3600000) {
    tt += STEP;
    ev.step(tt, { duty: 533, acVolts: V3, phasesAvailable: 3 });
  }
  t.true(ev.current()[0] < 16 - 1, `taper at ${ev.soc}: ${ev.current()[0]}`);
  t.true(ev.current()[0] >= 6);
  while (ev.state() === "C" && tt < t0 + 7200000) {
    tt += STEP;
    ev.step(tt, { duty: 533, acVolts: V3, phasesAvailable: 3 });
  }
  t.is(ev.state(), "B");
  t.true(ev.isSuspended);
  t.true(ev.soc >= 95 && ev.soc < 95.1);
  t.deepEqual(ev.current(), [0, 0, 0]);
  run(ev, tt, tt + 10000, 533, V3);
  t.is(ev.state(), "B", "does not wake again when full");
});

test("unplug: state A at once, no pilot load, no current", (t) => {
  const { ev, t: t0 } = charging({});
  ev.unplug(t0);
  t.is(ev.state(), "A");
  t.is(ev.pilotLoad(), null);
  t.deepEqual(ev.current(), [0, 0, 0]);
});

test("config validation", (t) => {
  t.throws(() => evConfig({ phases: 2 as 1 }), { instanceOf: RangeError });
  t.throws(() => evConfig({ efficiency: 1.2 }), { instanceOf: RangeError });
  t.throws(() => evConfig({ initialSoc: -1 }), { instanceOf: RangeError });
  t.throws(() => evConfig({ minCurrent: 40, maxCurrent: 16 }), { instanceOf: RangeError });
  t.throws(() => evConfig({ misbehaviour: { overdrawA: NaN } }), { instanceOf: RangeError });
  t.is(evConfig({}).phases, 3);
  const ev = new EvModel();
  t.throws(() => ev.step(10, { duty: 5000, acVolts: V3, phasesAvailable: 3 }), { instanceOf: RangeError });
  ev.step(100, { duty: 1000, acVolts: OFF, phasesAvailable: 3 });
  t.throws(() => ev.step(50, { duty: 1000, acVolts: OFF, phasesAvailable: 3 }), { instanceOf: RangeError });
});
