/** The EV model's high-level-communication mode (S2 and the AC limit from the car's EVCC) and its DC side (DcLoad). */
import test from "ava";
import { EvModel, evConfig, ocvAt } from "../../simulator/models/ev.js";
import type { EvConfig } from "../../simulator/models/ev.js";
import type { DcLoad } from "../../simulator/models/dc-load.js";

const V3 = [230, 230, 230];
const OFF = [0, 0, 0];
const STEP = 10;
const HLC = 50; // 5 %

function run(ev: EvModel, from: number, to: number, duty: number, volts: number[], phases: 1 | 3 = 3): void {
  for (let t = from + STEP; t <= to; t += STEP) ev.step(t, { duty, acVolts: volts, phasesAvailable: phases });
}

/** An hlc car at 5 %, S2 closed by its controller at 1 s with `limit`, the contactor closed at 2 s; state at `until`. */
function hlcCharging(cfg: Partial<EvConfig>, limit: number, until = 10_000): EvModel {
  const ev = new EvModel({ hlc: true, ...cfg }, 0);
  ev.step(0, { duty: HLC, acVolts: OFF, phasesAvailable: 3 });
  run(ev, 0, 1000, HLC, OFF);
  ev.setHlcLimit(limit);
  ev.setS2(true);
  run(ev, 1000, 2000, HLC, OFF);
  run(ev, 2000, until, HLC, V3);
  return ev;
}

test("an hlc car is not woken by 5 %: S2 is its controller's (setS2), the pilot load changes at once", (t) => {
  const ev = new EvModel({ hlc: true, wakeDelayMs: 100 }, 0);
  run(ev, 0, 5000, HLC, OFF);
  t.is(ev.state(), "B");
  ev.setS2(true);
  t.is(ev.state(), "C", "state C the moment the controller closes S2");
  t.true(ev.hlcActive);
  t.true(Math.abs(ev.pilotLoad()!.ohms - (2740 * 1300) / 4040) < 1e-9);
  run(ev, 5000, 6000, HLC, OFF);
  t.is(ev.state(), "C");
  ev.setS2(false);
  t.is(ev.state(), "B");
  t.false(ev.hlcActive);
});

test("a basic car refuses setS2/setHlcLimit and keeps ignoring 5 %", (t) => {
  const ev = new EvModel({}, 0);
  t.throws(() => ev.setS2(true), { message: /not an hlc car/ });
  t.throws(() => ev.setHlcLimit(16), { message: /not an hlc car/ });
  run(ev, 0, 3000, HLC, V3);
  t.is(ev.state(), "B");
  t.deepEqual(ev.current(), [0, 0, 0]);
});

test("the AC current follows setHlcLimit with the basic ramp: up at rampAPerS, down within response/2, capped by maxCurrent", (t) => {
  const ev = new EvModel({ hlc: true, rampAPerS: 10, responseDelayMs: 1000, maxCurrent: 16 }, 0);
  ev.step(0, { duty: HLC, acVolts: OFF, phasesAvailable: 3 });
  run(ev, 0, 1000, HLC, OFF); // the car has seen the 5 % (after response/2)
  ev.setHlcLimit(12);
  ev.setS2(true);
  run(ev, 1000, 1500, HLC, V3);
  t.true(Math.abs(ev.phaseCurrent(0) - 5) < 1e-6, `ramping at 10 A/s: ${ev.phaseCurrent(0)}`);
  run(ev, 1500, 3000, HLC, V3);
  t.deepEqual(ev.current(), [12, 12, 12]);
  ev.setHlcLimit(40); // above the onboard charger: maxCurrent caps it
  run(ev, 3000, 5000, HLC, V3);
  t.deepEqual(ev.current(), [16, 16, 16]);
  ev.setHlcLimit(8); // down by 8 A within response/2 = 500 ms
  run(ev, 5000, 5250, HLC, V3);
  t.true(ev.phaseCurrent(0) < 16 && ev.phaseCurrent(0) > 8, `${ev.phaseCurrent(0)}`);
  run(ev, 5250, 5500, HLC, V3);
  t.true(Math.abs(ev.phaseCurrent(0) - 8) < 1e-9, `${ev.phaseCurrent(0)}`);
  ev.setHlcLimit(5); // below minCurrent 6 A: nothing
  run(ev, 5500, 6100, HLC, V3);
  t.deepEqual(ev.current(), [0, 0, 0]);
  t.is(ev.state(), "C", "S2 stays the controller's");
});

test("HLC: a single-phase car on a three-phase socket draws on L1 only; no current without voltage", (t) => {
  const ev = hlcCharging({ phases: 1 }, 10);
  t.deepEqual(ev.current(), [10, 0, 0]);
  run(ev, 10_000, 10_100, HLC, OFF);
  t.deepEqual(ev.current(), [0, 0, 0]);
});

test("HLC taper above 80 % and the targetSoc: the charger draws nothing at targetSoc but S2 stays closed", (t) => {
  const ev = hlcCharging({ batteryKWh: 0.2, initialSoc: 85, targetSoc: 95, maxCurrent: 16 }, 16, 2100);
  // taper at 85 %: 16·(100−85)/20 = 12 A.
  run(ev, 2100, 3300, HLC, V3);
  t.true(ev.phaseCurrent(0) <= 16 * (100 - 85) / 20 + 1e-9, `${ev.phaseCurrent(0)} A at ${ev.soc.toFixed(2)} %`);
  t.true(ev.phaseCurrent(0) > 6);
  run(ev, 3300, 600_000, HLC, V3);
  t.true(ev.soc >= 95 && ev.soc < 95.2, `${ev.soc}`);
  t.deepEqual(ev.current(), [0, 0, 0]);
  t.is(ev.state(), "C");
  t.false(ev.isSuspended, "the controller, not the model, ends an HLC session");
});

test("x1 (steady +12 V) while charging under HLC: stop drawing within the response time, then open S2 (and the DC contactors)", (t) => {
  const ev = hlcCharging({ responseDelayMs: 1000 }, 16);
  ev.setDcContactor(true);
  t.deepEqual(ev.current(), [16, 16, 16]);
  ev.step(10_000, { duty: 1000, acVolts: V3, phasesAvailable: 3 });
  run(ev, 10_000, 10_490, 1000, V3);
  t.deepEqual(ev.current(), [16, 16, 16], "not perceived before response/2");
  t.is(ev.state(), "C");
  run(ev, 10_490, 11_000, 1000, V3);
  t.deepEqual(ev.current(), [0, 0, 0], "down by the response time (IEC 61851-1: 5 s at most)");
  t.is(ev.state(), "B");
  t.false(ev.hlcActive);
  t.false(ev.dcContactorClosed);
  // 5 % again: the car does not close S2 by itself.
  run(ev, 11_000, 14_000, HLC, V3);
  t.is(ev.state(), "B");
});

test("a nominal duty while under HLC (the EVSE fell back): basic charging on that duty, S2 kept closed", (t) => {
  const ev = hlcCharging({ responseDelayMs: 1000, maxCurrent: 32 }, 16);
  ev.step(10_000, { duty: 167, acVolts: V3, phasesAvailable: 3 }); // 16.7 % → 10 A
  run(ev, 10_000, 12_000, 167, V3);
  t.false(ev.hlcActive);
  t.is(ev.state(), "C");
  t.true(Math.abs(ev.phaseCurrent(0) - 10.02) < 1e-9, `${ev.phaseCurrent(0)}`);
});

test("misbehaviour overdrawA applies to the negotiated limit too", (t) => {
  const ev = hlcCharging({ misbehaviour: { overdrawA: 3 } }, 10);
  t.deepEqual(ev.current(), [13, 13, 13]);
});

test("DcLoad: the default OCV curve is 330..410 V over 0..100 % (370 V nominal), scaled by dcNominalVoltage; a custom curve is piecewise linear", (t) => {
  const c = evConfig({});
  t.is(ocvAt(c, 0), 330);
  t.is(ocvAt(c, 50), 370);
  t.is(ocvAt(c, 100), 410);
  t.is(ocvAt(c, 120), 410);
  const big = evConfig({ dcNominalVoltage: 740, dcMaxVoltage: 900 });
  t.is(ocvAt(big, 0), 660);
  t.is(ocvAt(big, 100), 820);
  const curve = evConfig({ dcOcvCurve: [[0, 300], [10, 350], [90, 390], [100, 420]] });
  t.is(ocvAt(curve, 5), 325);
  t.is(ocvAt(curve, 50), 370);
  t.is(ocvAt(curve, 95), 405);
  const ev: DcLoad = new EvModel({ initialSoc: 25 }, 0);
  t.is(ev.batteryVoltage(), 350);
  t.is(ev.batteryOhms, 0.1);
});

test("DcLoad: BMS limit dcMaxCurrent up to 80 %, then linear to 0 A at 100 %", (t) => {
  const at = (soc: number) => new EvModel({ initialSoc: soc, dcMaxCurrent: 200 }, 0).dcCurrentLimit();
  t.is(at(10), 200);
  t.is(at(80), 200);
  t.is(at(90), 100);
  t.is(at(95), 50);
  t.is(at(100), 0);
});

test("DcLoad: acceptDcWh raises the SoC by exactly Wh / capacity; the car's DC contactors open with the plug", (t) => {
  const ev = new EvModel({ batteryKWh: 60, initialSoc: 30 }, 0);
  t.false(ev.dcContactorClosed);
  ev.setDcContactor(true);
  t.true(ev.dcContactorClosed);
  ev.acceptDcWh(600);
  t.is(ev.soc, 31);
  for (let i = 0; i < 100; i++) ev.acceptDcWh(60);
  t.true(Math.abs(ev.soc - 41) < 1e-9, `${ev.soc}`);
  t.true(Math.abs(ev.dcEnergyWh - 6600) < 1e-9);
  t.true(Math.abs(ev.batteryWh - 6600) < 1e-9);
  t.is(ev.energyWh, 0, "no AC energy");
  t.is(ev.batteryVoltage(), 330 + 0.8 * ev.soc);
  ev.acceptDcWh(1e9);
  t.is(ev.soc, 100);
  t.throws(() => ev.acceptDcWh(-1), { instanceOf: RangeError });
  t.throws(() => ev.acceptDcWh(NaN), { instanceOf: RangeError });
  ev.unplug(0);
  t.false(ev.dcContactorClosed);
  ev.setDcContactor(true);
  t.false(ev.dcContactorClosed, "nothing to close once unplugged");
});

test("config validation: hlc, DC figures and the OCV curve", (t) => {
  t.throws(() => evConfig({ hlc: 1 as unknown as boolean }), { message: /hlc/ });
  t.throws(() => evConfig({ dcOhms: -1 }), { message: /dcOhms/ });
  t.throws(() => evConfig({ dcMaxCurrent: 0 }), { message: /dcMaxCurrent/ });
  t.throws(() => evConfig({ dcOcvCurve: [[0, 300]] }), { message: /dcOcvCurve/ });
  t.throws(() => evConfig({ dcOcvCurve: [[0, 300], [0, 310], [100, 400]] }), { message: /dcOcvCurve/ });
  t.throws(() => evConfig({ dcOcvCurve: [[10, 300], [100, 400]] }), { message: /dcOcvCurve/ });
  t.throws(() => evConfig({ dcMaxVoltage: 400 }), { message: /dcMaxVoltage/ });
  t.throws(() => new EvModel({ hlc: true }, 0).setHlcLimit(-1), { instanceOf: RangeError });
  t.notThrows(() => evConfig({ hlc: true, dcOcvCurve: [[0, 300], [100, 400]] }));
});
