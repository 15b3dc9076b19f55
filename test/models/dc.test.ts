import test from "ava";
import { INTERLOCK_FORBIDDEN_CLOSE, INTERLOCK_PILOT } from "../../hal/charging.js";
import { ISOLATION_FAULT, ISOLATION_IDLE, ISOLATION_RUNNING, ISOLATION_VALID, ISOLATION_WARNING } from "../../hal/dc.js";
import type { DcSample, IsolationSample } from "../../hal/dc.js";
import type { MeterReading } from "../../hal/metering.js";
import {
  DC_FAULT_OVER_TEMPERATURE,
  DC_FAULT_SHORT_CIRCUIT,
  DEFAULT_DC_CONFIG,
  DcPowerModuleModel,
  IsolationMonitorModel,
  asDcLoad,
  dcConfig,
} from "../../simulator/models/dc.js";
import type { DcModuleInputs } from "../../simulator/models/dc.js";
import type { DcLoad } from "../../simulator/models/dc-load.js";
import { World, worldConfig } from "../../simulator/models/world.js";
import type { WorldConfig } from "../../simulator/models/world.js";
import { Rng } from "../../simulator/rng.js";

/** A battery behind its contactors: constant OCV (unless told), fixed R, a BMS limit; counts the energy it gets. */
class FakeLoad implements DcLoad {
  dcContactorClosed = true;
  batteryOhms = 0.1;
  ocv = 400;
  limit = 500;
  wh = 0;
  calls = 0;
  batteryVoltage(): number {
    return this.ocv;
  }
  dcCurrentLimit(): number {
    return this.limit;
  }
  acceptDcWh(wh: number): void {
    this.wh += wh;
    this.calls++;
  }
}

function sample(): DcSample {
  return { voltage: 0, current: 0, enabled: false, fault: 0 };
}

/** Steps a module every 10 ms from `from` to `to` (inclusive) with fixed inputs; calls `each` after every step. */
function run(m: DcPowerModuleModel, inputs: DcModuleInputs, from: number, to: number, each?: (t: number) => void): void {
  for (let t = from; t <= to; t += 10) {
    m.step(t, inputs);
    each?.(t);
  }
}

const OPEN: DcModuleInputs = { outputClosed: true, load: null, inputOk: true };

function relClose(t: { true(v: boolean, m?: string): void }, a: number, b: number, rel: number, what: string): void {
  t.true(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);
}

// ---------------------------------------------------------------- power module

test("module: the voltage ramps at 200 V/s into an open output (0 → 500 V in 2.5 s), no current", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  m.setpoint(500, 10);
  m.enable(true);
  const seen: Array<[number, number]> = [];
  run(m, OPEN, 0, 3000, (tt) => {
    if (tt % 500 === 0) seen.push([tt, m.voltage]);
    t.is(m.current, 0);
  });
  t.deepEqual(seen, [[0, 0], [500, 100], [1000, 200], [1500, 300], [2000, 400], [2500, 500], [3000, 500]]);
  t.is(m.moduleVoltage, 500);
});

test("module: the ramps are configurable; the current limit ramps at rampAPerS (CC into a battery)", (t) => {
  const m = new DcPowerModuleModel({ rampVPerS: 1000, rampAPerS: 20 }, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.step(0, inputs);
  t.is(m.voltage, 400, "the battery holds the output");
  m.setpoint(450, 100);
  m.enable(true);
  const amps: Array<[number, number]> = [];
  run(m, inputs, 0, 6000, (tt) => {
    if (tt % 1000 === 0) amps.push([tt, Math.round(m.current * 1e9) / 1e9]);
  });
  t.deepEqual(amps, [[0, 0], [1000, 20], [2000, 40], [3000, 60], [4000, 80], [5000, 100], [6000, 100]]);
});

test("module: CC into a battery — I = the current limit, V = OCV + I·R", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.setpoint(450, 100);
  m.enable(true);
  run(m, inputs, 0, 3000);
  t.is(m.current, 100);
  t.is(m.voltage, 410);
  const s = m.read(sample());
  t.deepEqual(s, { voltage: 410, current: 100, enabled: true, fault: 0 });
});

test("module: CV into a battery — the current is (Vset − OCV)/R, the voltage Vset", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.setpoint(405, 100);
  m.enable(true);
  run(m, inputs, 0, 3000);
  relClose(t, m.current, 50, 1e-12, "current");
  relClose(t, m.voltage, 405, 1e-12, "voltage");
  // The battery's OCV rises past the setpoint: the current stops, it never goes negative.
  load.ocv = 406;
  m.step(3010, inputs);
  t.is(m.current, 0);
  t.is(m.voltage, 406);
});

test("module: the BMS limit and the power rating cap the current; V·I never exceeds maxPower", (t) => {
  const m = new DcPowerModuleModel({ maxPower: 20000 }, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.setpoint(500, 125);
  m.enable(true);
  run(m, inputs, 0, 4000);
  const expected = (Math.sqrt(400 * 400 + 4 * 0.1 * 20000) - 400) / 0.2;
  relClose(t, m.current, expected, 1e-12, "power-limited current");
  relClose(t, m.voltage * m.current, 20000, 1e-12, "power");
  t.true(m.power <= 20000 * (1 + 1e-12));
  load.limit = 30;
  m.step(4010, inputs);
  t.is(m.current, 30, "BMS limit");
  load.batteryOhms = 0;
  load.limit = 500;
  m.step(4020, inputs);
  relClose(t, m.current, 50, 1e-12, "R = 0: P/OCV");
});

test("module: energy — the battery gets exactly the DC energy; AC energy = DC / η", (t) => {
  const m = new DcPowerModuleModel({ efficiency: 0.93 }, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.setpoint(450, 100);
  m.enable(true);
  let expectWh = 0;
  let lastP = 0;
  for (let tt = 0; tt <= 60_000; tt += 10) {
    expectWh += (lastP * 10) / 3600000;
    m.step(tt, inputs);
    lastP = m.power;
    if (tt === 30_000) load.ocv = 401; // the battery's voltage rises: the power changes
  }
  t.true(m.energyWh > 0);
  relClose(t, load.wh, m.energyWh, 1e-12, "battery Wh vs DC Wh");
  relClose(t, m.energyWh, expectWh, 1e-9, "DC Wh vs Σ P·dt");
  relClose(t, m.acEnergyWh, m.energyWh / 0.93, 1e-12, "AC Wh vs DC Wh / η");
  relClose(t, m.acInputPower, m.power / 0.93, 1e-15, "AC W");
});

test("module: disabled, the output bleeds below 60 V in about a second (500 V: 1.08 s with τ = 500 ms, 10 ms steps)", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  m.setpoint(500, 10);
  m.enable(true);
  run(m, OPEN, 0, 3000);
  t.is(m.voltage, 500);
  m.enable(false);
  let below = -1;
  run(m, OPEN, 3000, 10_000, (tt) => {
    if (below < 0 && m.voltage < 60) below = tt - 3000;
  });
  t.is(below, 1080);
  t.is(m.voltage, 0, "snaps to 0 eventually");
  // A bleed time constant of 2 s: four times slower.
  const slow = new DcPowerModuleModel({ bleedTauMs: 2000 }, 0);
  slow.setpoint(500, 10);
  slow.enable(true);
  run(slow, OPEN, 0, 3000);
  slow.enable(false);
  below = -1;
  run(slow, OPEN, 3000, 10_000, (tt) => {
    if (below < 0 && slow.voltage < 60) below = tt - 3000;
  });
  t.true(below > 4000 && below < 4400, `${below}`);
});

test("module: the cable side — output contactor open: the battery's voltage if the car's contactors are closed, else it bleeds", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  const load = new FakeLoad();
  m.setpoint(450, 50);
  m.enable(true);
  run(m, { outputClosed: true, load, inputOk: true }, 0, 3000);
  t.true(m.current > 0);
  // The output contactor opens under load: the cable still sees the battery (WeldingDetection reads it).
  m.step(3010, { outputClosed: false, load, inputOk: true });
  t.is(m.current, 0);
  t.is(m.voltage, 400);
  t.true(m.moduleVoltage >= 400, "the module holds its reference");
  // The car opens its contactors: the cable bleeds down.
  load.dcContactorClosed = false;
  m.enable(false);
  run(m, { outputClosed: false, load, inputOk: true }, 3020, 6000);
  t.true(m.voltage < 60, `${m.voltage}`);
});

test("module: at enable the voltage reference starts at the output voltage and the current at 0 (soft start)", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.step(0, inputs);
  m.setpoint(500, 100);
  m.enable(true);
  m.step(0, inputs);
  t.is(m.current, 0);
  m.step(10, inputs);
  t.is(m.current, 0.5, "50 A/s for 10 ms");
});

test("module: a latched fault stops the converter at once; disabling clears it only once its cause is gone", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  const load = new FakeLoad();
  const inputs: DcModuleInputs = { outputClosed: true, load, inputOk: true };
  m.setpoint(450, 100);
  m.enable(true);
  run(m, inputs, 0, 3000);
  t.is(m.current, 100);
  m.injectFault(DC_FAULT_OVER_TEMPERATURE);
  m.step(3000, inputs);
  t.is(m.current, 0);
  t.is(m.read(sample()).fault, DC_FAULT_OVER_TEMPERATURE);
  m.enable(false);
  m.enable(true);
  m.step(3010, inputs);
  t.is(m.fault, DC_FAULT_OVER_TEMPERATURE, "the cause is still there: still latched");
  t.is(m.current, 0);
  m.clearFault();
  m.step(3020, inputs);
  t.is(m.fault, DC_FAULT_OVER_TEMPERATURE, "latched until disabled");
  m.enable(false);
  t.is(m.fault, 0);
  m.enable(true);
  run(m, inputs, 3030, 6000);
  t.is(m.current, 100);
  m.injectFault(DC_FAULT_SHORT_CIRCUIT);
  m.step(6010, inputs);
  t.is(m.fault, DC_FAULT_SHORT_CIRCUIT);
  t.throws(() => m.injectFault(0), { instanceOf: RangeError });
});

test("module: no AC input stops the converter while it lasts (not latched)", (t) => {
  const m = new DcPowerModuleModel({}, 0);
  const load = new FakeLoad();
  m.setpoint(450, 100);
  m.enable(true);
  run(m, { outputClosed: true, load, inputOk: true }, 0, 3000);
  m.step(3010, { outputClosed: true, load, inputOk: false });
  t.is(m.current, 0);
  t.false(m.isRunning);
  t.is(m.fault, 0);
  run(m, { outputClosed: true, load, inputOk: true }, 3020, 6000);
  t.is(m.current, 100);
});

test("module: setpoints outside the rating are RangeErrors and change nothing; current 0 is always allowed", (t) => {
  const m = new DcPowerModuleModel({ minVoltage: 200, maxVoltage: 500, minCurrent: 2, maxCurrent: 100 }, 0);
  m.setpoint(400, 50);
  for (const [v, i] of [[199, 10], [501, 10], [400, 1], [400, 101], [NaN, 10], [400, Infinity], [400, -1]] as const) {
    t.throws(() => m.setpoint(v, i), { instanceOf: RangeError }, `${v} V ${i} A`);
  }
  t.is(m.setpointVoltage, 400);
  t.is(m.setpointCurrent, 50);
  m.setpoint(200, 0);
  m.setpoint(500, 100);
  m.setpoint(300, 2);
  t.is(m.setpointCurrent, 2);
});

test("config: defaults, validation, unknown keys", (t) => {
  t.deepEqual(dcConfig({}), { ...DEFAULT_DC_CONFIG });
  t.is(dcConfig({ maxPower: 150000 }).maxPower, 150000);
  for (const bad of [{ maxVoltage: 0 }, { minVoltage: 1200 }, { minCurrent: -1 }, { efficiency: 1.2 }, { efficiency: 0 }, { rampVPerS: 0 }, { imdTestMs: -5 }, { insulationOhms: 0 }, { maxPower: NaN }, { bogus: 1 }]) {
    t.throws(() => dcConfig(bad as never), { instanceOf: RangeError }, JSON.stringify(bad));
  }
  t.is(asDcLoad(new FakeLoad()) !== null, true);
  t.is(asDcLoad({ batteryVoltage: () => 1 }), null);
  t.is(asDcLoad(null), null);
});

// ---------------------------------------------------------------- isolation monitor

function imdResult(ohms: number, testV: number, cableV = testV): { status: number; resistance: number; reason: string; at: number } {
  const imd = new IsolationMonitorModel({ insulationOhms: ohms }, 0);
  imd.start(testV, 0);
  let at = -1;
  for (let tt = 10; tt <= 3000 && at < 0; tt += 10) if (imd.step(tt, cableV)) at = tt;
  const s = imd.read({ status: 0, resistance: 0 });
  return { status: s.status, resistance: s.resistance, reason: imd.reason, at };
}

test("imd: a test takes 1500 ms (configurable) and is RUNNING meanwhile; 10 MΩ at 500 V is VALID", (t) => {
  const imd = new IsolationMonitorModel({}, 0);
  const s: IsolationSample = { status: -1, resistance: 0 };
  t.is(imd.read(s).status, ISOLATION_IDLE);
  t.true(Number.isNaN(s.resistance), "NaN before the first result");
  imd.start(500, 0);
  t.is(imd.status, ISOLATION_RUNNING);
  t.throws(() => imd.start(500, 100), { message: /already running/ });
  t.false(imd.step(1490, 500));
  t.true(imd.step(1500, 500));
  t.deepEqual(imd.read(s), { status: ISOLATION_VALID, resistance: 10_000_000 });
  const quick = new IsolationMonitorModel({ imdTestMs: 300 }, 0);
  quick.start(400, 0);
  t.false(quick.step(290, 400));
  t.true(quick.step(300, 400));
  t.throws(() => quick.start(0, 400), { instanceOf: RangeError });
  t.throws(() => quick.start(NaN, 400), { instanceOf: RangeError });
});

test("imd: IEC 61851-23 thresholds at their boundaries (> 500 Ω/V valid, 100..500 Ω/V warning, < 100 Ω/V fault)", (t) => {
  const v = 500;
  t.is(imdResult(500 * v + 1, v).status, ISOLATION_VALID);
  t.is(imdResult(500 * v, v).status, ISOLATION_WARNING, "exactly 500 Ω/V is not > 500");
  t.is(imdResult(100 * v, v).status, ISOLATION_WARNING, "exactly 100 Ω/V");
  t.is(imdResult(100 * v - 1, v).status, ISOLATION_FAULT);
  const f = imdResult(10_000, v);
  t.deepEqual(f, { status: ISOLATION_FAULT, resistance: 10_000, reason: "insulation", at: 1500 });
  // The threshold follows the test voltage: 100 kΩ is VALID at 150 V (667 Ω/V), WARNING at 500 V (200 Ω/V).
  t.is(imdResult(100_000, 150).status, ISOLATION_VALID);
  t.is(imdResult(100_000, 500).status, ISOLATION_WARNING);
  t.is(IsolationMonitorModel.judge(250_001, 500), ISOLATION_VALID);
});

test("imd: without the test voltage on the cable (±10 %) at the end of the test: FAULT 'no test voltage'", (t) => {
  t.deepEqual(imdResult(10_000_000, 500, 0), { status: ISOLATION_FAULT, resistance: NaN, reason: "no test voltage", at: 1500 });
  t.is(imdResult(10_000_000, 500, 449).status, ISOLATION_FAULT);
  t.is(imdResult(10_000_000, 500, 450).status, ISOLATION_VALID, "−10 % is in");
  t.is(imdResult(10_000_000, 500, 550).status, ISOLATION_VALID, "+10 % is in");
  t.is(imdResult(10_000_000, 500, 551).status, ISOLATION_FAULT);
});

test("imd: after a result it keeps measuring; an insulation fault mid-charge is a new result; stop() → IDLE", (t) => {
  const imd = new IsolationMonitorModel({}, 0);
  imd.start(500, 0);
  t.true(imd.step(1500, 500));
  t.is(imd.status, ISOLATION_VALID);
  t.false(imd.step(3000, 400), "monitoring: same result, nothing new (the cable voltage no longer matters)");
  imd.insulationOhms = 150_000; // 300 Ω/V: warning
  t.false(imd.step(4000, 400));
  t.true(imd.step(4500, 400));
  t.is(imd.status, ISOLATION_WARNING);
  t.is(imd.resistance, 150_000);
  imd.insulationOhms = 20_000;
  t.true(imd.step(6000, 400));
  t.is(imd.status, ISOLATION_FAULT);
  t.is(imd.reason, "insulation");
  imd.insulationOhms = 10_000_000;
  t.false(imd.step(9000, 400), "a FAULT ends the measurement: it stays until start() or stop()");
  t.is(imd.status, ISOLATION_FAULT);
  imd.stop();
  t.is(imd.status, ISOLATION_IDLE);
  t.throws(() => {
    imd.insulationOhms = -1;
  }, { instanceOf: RangeError });
});

// ---------------------------------------------------------------- the World on a DC board

function reading(): MeterReading {
  return { voltage: [], current: [], power: [], frequency: 0, energyImport: 0, energyExport: 0 };
}

function dcWorld(cfg: Partial<WorldConfig> = {}): World {
  return new World({ dc: {}, ...cfg }, new Rng(7));
}

/** An EV for the pilot (C at 16 % PWM), a fake battery at the inlet, the contactor closed. */
function connected(w: World, load: FakeLoad): void {
  w.plug({});
  w.setDcLoad(load);
  w.setPilotDuty(267);
  let t = w.now;
  while (w.pilotState() !== "C") {
    t += 10;
    w.advance(t);
    if (t > 60000) throw new Error("EV never went to C");
  }
  w.setContactor(0, 1);
  w.advance(t + 100);
}

test("world: an AC board has no DC side and behaves as before", (t) => {
  const w = new World({}, new Rng(1));
  t.is(w.dc, null);
  t.throws(() => w.dcEnable(1), { instanceOf: RangeError });
  t.is(worldConfig({}).dc, undefined);
});

test("world: a DC board — CC charge through contactor 0; battery Wh = DC Wh, meter (AC) Wh = DC Wh / η", (t) => {
  const w = dcWorld({ dc: { efficiency: 0.95 } });
  const load = new FakeLoad();
  connected(w, load);
  t.is(w.socketVoltage(0), 0, "no AC on a DC connector");
  const dc = w.dc!;
  w.dcSetpoint(450, 100);
  w.dcEnable(1);
  w.advance(w.now + 10 * 60_000);
  t.is(dc.module.current, 100);
  t.is(w.ev!.phaseCurrent(0), 0, "the onboard charger draws nothing");
  const m = w.readMeter(reading());
  relClose(t, load.wh, dc.module.energyWh, 1e-6, "battery Wh = DC Wh");
  relClose(t, m.energyImport, dc.module.energyWh / 0.95, 1e-6, "AC Wh = DC Wh / η");
  relClose(t, m.power[0] + m.power[1] + m.power[2], (410 * 100) / 0.95, 1e-9, "AC W");
  relClose(t, dc.module.energyWh, (41000 * (10 * 60_000 - 2000)) / 3600000, 2e-3, "about 41 kW for 10 min");
  const perPhase = (41000 / 0.95) / (3 * 0.99);
  for (let i = 0; i < 3; i++) relClose(t, m.current[i] * m.voltage[i], perPhase, 1e-9, `phase ${i} V·I`);
  t.is(w.interlockTrips, 0);
  t.is(w.forbiddenCloses, 0);
});

test("world: the interlock refuses closing the DC output contactor out of C/D, and trips it when the pilot leaves C", (t) => {
  const w = dcWorld();
  w.plug({});
  w.setDcLoad(new FakeLoad());
  w.setPilotDuty(1000);
  w.advance(100);
  t.is(w.pilotState(), "B");
  w.setContactor(0, 1);
  t.is(w.coil(0), 0);
  t.is(w.forbiddenCloses, 1);
  t.is(w.lastInterlockCause, INTERLOCK_FORBIDDEN_CLOSE | INTERLOCK_PILOT);
  const load = new FakeLoad();
  const w2 = dcWorld();
  connected(w2, load);
  w2.dcSetpoint(450, 50);
  w2.dcEnable(1);
  w2.advance(w2.now + 3000);
  t.is(w2.dc!.module.current, 50);
  w2.setPilotDuty(1000); // +12 V: the EV opens S2 (C → B) after its response time; the firmware never opens
  w2.advance(w2.now + 10_000);
  t.is(w2.interlockTrips, 1);
  t.is(w2.lastInterlockCause, INTERLOCK_PILOT);
  t.is(w2.mirror(0), 0);
  t.is(w2.dc!.module.current, 0);
  t.is(w2.dc!.module.voltage, 400, "the battery is still on the cable");
  t.is(w2.relays[0].operationsUnderLoad, 1, "the interlock broke 50 A DC");
});

test("world: a welded output contactor shows in the cable voltage after a stop (WeldingDetection physics)", (t) => {
  const w = dcWorld();
  const load = new FakeLoad();
  connected(w, load);
  w.dcSetpoint(450, 20);
  w.dcEnable(1);
  w.advance(w.now + 3000);
  w.dcEnable(0);
  w.advance(w.now + 100);
  w.weld(0);
  w.setContactor(0, 0);
  load.dcContactorClosed = false; // the car opens its side
  w.advance(w.now + 3000);
  t.is(w.mirror(0), 1);
  t.true(w.dc!.module.voltage < 60, "welded, but nothing holds the voltage: it bled down");
  t.is(w.dc!.module.current, 0);
});

test("world: contactor 0 opening with DC current flowing counts under load; unplugging under DC load counts", (t) => {
  const w = dcWorld();
  const load = new FakeLoad();
  connected(w, load);
  w.dcSetpoint(450, 40);
  w.dcEnable(1);
  w.advance(w.now + 3000);
  w.setContactor(0, 0);
  w.advance(w.now + 100);
  t.is(w.relays[0].operationsUnderLoad, 1);
  w.setContactor(0, 1);
  w.advance(w.now + 3000);
  t.is(w.dc!.module.current, 40);
  w.setDcLoad(undefined); // back to the plugged EV's own (a basic AC car has no DC side)
  t.is(w.dc!.module.current, 0);
  w.setDcLoad(load);
  w.advance(w.now + 1000);
  t.true(w.dc!.module.current > 0);
  w.unplug();
  t.is(w.unplugsUnderLoad, 1);
});

test("world: IMD result through onChange('imd'); insulation fault injected; module fault through onChange('dc')", (t) => {
  const w = dcWorld({ dc: { imdTestMs: 1000 } });
  const load = new FakeLoad();
  load.dcContactorClosed = false; // CableCheck: the car's contactors are open
  connected(w, load);
  const changes: string[] = [];
  w.onChange = (what) => {
    if (what === "imd" || what === "dc") changes.push(`${what}@${w.now}`);
  };
  const t0 = w.now;
  w.dcSetpoint(500, 2);
  w.dcEnable(1);
  w.advance(t0 + 2500);
  t.is(w.dc!.module.voltage, 500);
  w.imdStart(500);
  w.advance(t0 + 3500);
  t.deepEqual(changes, [`imd@${t0 + 3500}`]);
  t.is(w.dc!.imd.status, ISOLATION_VALID);
  w.setInsulationOhms(40_000); // 80 Ω/V
  w.advance(t0 + 4500);
  t.is(w.dc!.imd.status, ISOLATION_FAULT);
  t.is(changes.length, 2);
  w.dcFault(DC_FAULT_OVER_TEMPERATURE);
  t.is(changes[2], `dc@${w.now}`);
  t.is(w.dc!.module.fault, DC_FAULT_OVER_TEMPERATURE);
  w.dcFault(0);
  w.dcEnable(0);
  t.is(w.dc!.module.fault, 0);
});

test("world: a grid outage stops the module (nothing drawn, nothing delivered) until the supply is back", (t) => {
  const w = dcWorld({ grid: { sags: [{ atMs: 20_000, durationMs: 5_000, depth: 1 }] } });
  const load = new FakeLoad();
  connected(w, load);
  w.dcSetpoint(450, 100);
  w.dcEnable(1);
  w.advance(19_990);
  t.is(w.dc!.module.current, 100);
  w.advance(20_000);
  t.is(w.dc!.module.current, 0);
  t.is(w.meter.totalPower, 0);
  const wh = w.dc!.module.energyWh;
  w.advance(24_990);
  t.is(w.dc!.module.energyWh, wh);
  w.advance(40_000);
  t.is(w.dc!.module.current, 100, "soft start again after the outage");
  relClose(t, w.readMeter(reading()).energyImport, w.dc!.module.energyWh / 0.95, 1e-6, "AC Wh = DC Wh / η");
});

test("world: config — a DC board has one contactor; the rating is validated", (t) => {
  t.throws(() => worldConfig({ dc: {}, contactors: 2 }), { instanceOf: RangeError, message: /contactors/ });
  t.throws(() => worldConfig({ dc: { maxVoltage: -1 } }), { instanceOf: RangeError, message: /maxVoltage/ });
  t.is(worldConfig({ dc: { maxPower: 30000 } }).dc!.maxPower, 30000);
  t.is(worldConfig({ dc: {} }).dc!.imdTestMs, 1500);
});
