import test from "ava";
import { RCM_SELF_TEST_FAILED, RCM_SELF_TEST_RUNNING, RCM_TRIP_AC, RCM_TRIP_DC } from "../../hal/charging.js";
import type { MeterReading } from "../../hal/metering.js";
import { Rng } from "../../simulator/rng.js";
import { GridModel } from "../../simulator/models/grid.js";
import { MeterModel } from "../../simulator/models/meter.js";
import { RcdModel } from "../../simulator/models/rcd.js";
import { RelayModel } from "../../simulator/models/relay.js";
import { ThermalModel, defaultThermalSensors } from "../../simulator/models/thermal.js";

function reading(): MeterReading {
  return { voltage: [], current: [], power: [], frequency: 0, energyImport: 0, energyExport: 0 };
}

// ---------------------------------------------------------------- relay

test("relay: closes after 30 ms, opens after 15 ms, mirror follows the contacts", (t) => {
  const r = new RelayModel();
  r.command(1, 100);
  t.false(r.step(129));
  t.is(r.mirror(), 0);
  t.true(r.step(130));
  t.is(r.mirror(), 1);
  t.true(r.closed);
  r.command(0, 200);
  t.false(r.step(214, 10));
  t.is(r.mirror(), 1);
  t.true(r.step(215, 10));
  t.is(r.mirror(), 0);
  t.is(r.operations, 2);
  t.is(r.operationsUnderLoad, 1, "opened with 10 A flowing");
});

test("relay: a command reversed within its delay never moves the contacts", (t) => {
  const r = new RelayModel({ closeDelayMs: 30, openDelayMs: 15 });
  r.command(1, 0);
  r.step(20);
  r.command(0, 20);
  for (let tt = 30; tt <= 100; tt += 10) r.step(tt);
  t.false(r.closed);
  t.is(r.operations, 0);
});

test("relay: opening with ≤ 0.5 A is not under load", (t) => {
  const r = new RelayModel();
  r.command(1, 0);
  r.step(30);
  r.command(0, 40);
  r.step(60, 0.5);
  t.is(r.operations, 2);
  t.is(r.operationsUnderLoad, 0);
});

test("relay: welded contacts stay closed when commanded open, and the mirror says closed", (t) => {
  const r = new RelayModel();
  r.weld(); // armed: welds at the next closing
  t.false(r.welded);
  r.command(1, 0);
  r.step(30);
  t.true(r.welded);
  r.command(0, 50);
  r.step(100, 16);
  t.true(r.closed);
  t.is(r.mirror(), 1);
  t.is(r.coil, 0);
  t.is(r.operationsUnderLoad, 0);
  r.repair(100);
  r.step(115);
  t.false(r.closed);
});

test("relay: stuck open never closes while the fault lasts", (t) => {
  const r = new RelayModel();
  r.setStuckOpen(true, 0);
  r.command(1, 0);
  r.step(1000);
  t.false(r.closed);
  t.is(r.mirror(), 0);
  r.setStuckOpen(false, 1000);
  r.step(1030);
  t.true(r.closed);
});

test("relay: bad config and values throw", (t) => {
  t.throws(() => new RelayModel({ closeDelayMs: -1 }), { instanceOf: RangeError });
  t.throws(() => new RelayModel().command(2 as 1, 0), { instanceOf: RangeError });
});

// ---------------------------------------------------------------- grid

test("grid: defaults stay within EN 50160 (230 V ± 10 %, 50 Hz ± 1 %) over a day; the same seed is the same grid", (t) => {
  const seed = 77;
  const a = new GridModel({}, new Rng(seed));
  const b = new GridModel({}, new Rng(seed));
  for (let tt = 0; tt <= 86400000; tt += 60000) {
    a.step(tt);
    b.step(tt);
    for (let i = 0; i < 3; i++) {
      const v = a.voltage(i);
      if (v < 207 || v > 253) t.fail(`seed ${seed}: ${v} V at ${tt}`);
      if (v !== b.voltage(i)) t.fail(`seed ${seed}: not deterministic`);
    }
    const f = a.frequency();
    if (f < 49.5 || f > 50.5) t.fail(`seed ${seed}: ${f} Hz`);
  }
  t.not(a.voltage(0), a.voltage(1), "phases differ");
  t.not(new GridModel({}, new Rng(seed + 1)).voltage(0), new GridModel({}, new Rng(seed)).voltage(0));
});

test("grid: zero variation gives exactly nominal; a sag dips the chosen phases for its duration", (t) => {
  const g = new GridModel({ phaseOffsetPct: 0, driftPct: 0, frequencyDriftHz: 0, sags: [{ atMs: 1000, durationMs: 500, depth: 0.3, phases: 1 }] }, new Rng(1));
  g.step(999);
  t.deepEqual([g.voltage(0), g.voltage(1), g.voltage(2)], [230, 230, 230]);
  t.is(g.frequency(), 50);
  g.step(1000);
  t.true(Math.abs(g.voltage(0) - 161) < 1e-9);
  t.is(g.voltage(1), 230);
  g.step(1500);
  t.is(g.voltage(0), 230);
  g.sag(2000, 100, 1);
  g.step(2050);
  t.deepEqual([g.voltage(0), g.voltage(1), g.voltage(2)], [0, 0, 0]);
  t.throws(() => g.sag(0, 10, 1.5), { instanceOf: RangeError });
  t.throws(() => g.step(10), { instanceOf: RangeError });
});

// ---------------------------------------------------------------- meter

test("meter: energy of a constant-current segment equals the analytic V·I·PF·t", (t) => {
  const m = new MeterModel();
  m.step(0, [230, 230, 230], [16, 16, 16], 0.99, 50);
  for (let tt = 10; tt <= 3600000; tt += 10) m.step(tt, [230, 230, 230], [16, 16, 16], 0.99, 50);
  const analytic = 3 * 230 * 16 * 0.99; // W for one hour = Wh
  t.true(Math.abs(m.energyImport - analytic) < 1e-6 * analytic, `${m.energyImport} vs ${analytic}`);
  t.is(m.energyExport, 0);
  // a single long step gives the same
  const m2 = new MeterModel();
  m2.step(0, [230, 230, 230], [16, 16, 16], 0.99, 50);
  m2.step(3600000, [230, 230, 230], [16, 16, 16], 0.99, 50);
  t.true(Math.abs(m2.energyImport - analytic) < 1e-12 * analytic);
});

test("meter: P = V·I·PF per phase at every reading; export with negative current", (t) => {
  const m = new MeterModel({ energyImportWh: 100 });
  const r = reading();
  const rng = new Rng(5);
  let last = 0;
  let manual = 100;
  let pHeld = 0;
  for (let k = 1; k <= 500; k++) {
    const tt = k * 37;
    manual += (pHeld * (tt - last)) / 3600000;
    const v = [220 + rng.float() * 20, 220 + rng.float() * 20, 220 + rng.float() * 20];
    const i = [rng.float() * 32, rng.float() * 32, 0];
    m.step(tt, v, i, 0.95, 50);
    last = tt;
    pHeld = (v[0] * i[0] + v[1] * i[1]) * 0.95;
    m.read(r);
    for (let p = 0; p < 3; p++) {
      t.is(r.power[p], r.voltage[p] * r.current[p] * 0.95);
      t.true(r.current[p] >= 0);
    }
  }
  t.true(Math.abs(m.energyImport - manual) < 1e-9 * manual);
  m.step(20000, [230, 0, 0], [-10, 0, 0], 1, 50);
  m.step(20000 + 3600000, [230, 0, 0], [-10, 0, 0], 1, 50);
  m.read(r);
  t.is(r.current[0], 10);
  t.is(r.power[0], -2300);
  t.true(Math.abs(m.energyExport - 2300) < 1e-9);
  t.throws(() => m.step(0, [0, 0, 0], [0, 0, 0], 1, 50), { instanceOf: RangeError });
  t.throws(() => m.step(1e9, [0, 0, 0], [0, 0, 0], 1.5, 50), { instanceOf: RangeError });
});

// ---------------------------------------------------------------- thermal

test("thermal: first-order rise toward ambient + k·ΣI² with time constant τ", (t) => {
  const sensors = defaultThermalSensors(32, 3);
  const th = new ThermalModel(20, sensors);
  const amps = [32, 32, 32];
  t.is(th.temperature("connector"), 20);
  t.is(th.temperature("board"), 28);
  t.true(Math.abs(th.steadyState("connector", amps) - 50) < 1e-9);
  for (let tt = 10; tt <= 600000; tt += 10) th.step(tt, amps); // one τ of the connector
  const rise = th.temperature("connector") - 20;
  t.true(Math.abs(rise - 30 * (1 - Math.exp(-1))) < 0.01, `rise after τ: ${rise}`);
  for (let tt = 600010; tt <= 6000000; tt += 1000) th.step(tt, amps);
  t.true(Math.abs(th.temperature("connector") - 50) < 0.01);
  t.true(Math.abs(th.temperature("relay") - 45) < 0.01);
  t.throws(() => th.temperature("nope"), { instanceOf: RangeError });
});

test("thermal: a loose terminal (overheat) multiplies the heating; ambient changes are followed", (t) => {
  const th = new ThermalModel(25, defaultThermalSensors(32, 1));
  th.overheat("connector", 4);
  for (let tt = 1000; tt <= 7200000; tt += 1000) th.step(tt, [32, 0, 0]);
  t.true(th.temperature("connector") > 25 + 110, `${th.temperature("connector")}`);
  t.true(th.temperature("relay") < 25 + 26);
  th.overheat("connector", 1);
  th.setAmbient(40);
  for (let tt = 7201000; tt <= 20000000; tt += 1000) th.step(tt, [0, 0, 0]);
  t.true(Math.abs(th.temperature("connector") - 40) < 0.01);
  t.throws(() => th.overheat("connector", 0.5), { instanceOf: RangeError });
});

// ---------------------------------------------------------------- RCD

test("RCD: 30 mA AC trips after 300 ms, 150 mA after 40 ms; 29 mA never; the trip latches", (t) => {
  const r = new RcdModel();
  r.inject(29, 0, 0);
  t.false(r.step(100000));
  t.is(r.status(), 0);
  r.inject(30, 0, 100000);
  t.false(r.step(100299));
  t.true(r.step(100300));
  t.is(r.status(), RCM_TRIP_AC);
  r.inject(0, 0, 100400);
  r.step(100500);
  t.is(r.status(), RCM_TRIP_AC, "latched");
  t.true(r.reset());
  t.is(r.status(), 0);
  r.inject(150, 0, 200000);
  t.false(r.step(200039));
  t.true(r.step(200040));
});

test("RCD: 6 mA DC trips after 10 s, 60 mA DC after 300 ms, 200 mA DC after 100 ms; 5.9 mA never", (t) => {
  const cases: Array<[number, number]> = [[6, 10000], [60, 300], [200, 100]];
  for (const [ma, ms] of cases) {
    const r = new RcdModel();
    r.inject(0, ma, 0);
    t.false(r.step(ms - 1), `${ma} mA early`);
    t.true(r.step(ms), `${ma} mA at ${ms} ms`);
    t.is(r.status(), RCM_TRIP_DC);
  }
  const r = new RcdModel();
  r.inject(0, 5.9, 0);
  t.false(r.step(1e7));
});

test("RCD: reset is refused while residual current persists", (t) => {
  const r = new RcdModel();
  r.inject(0, 10, 0);
  r.step(10000);
  t.true(r.tripped);
  t.false(r.reset());
  t.true(r.tripped);
  r.inject(0, 2, 10001);
  t.true(r.reset());
  t.false(r.tripped);
});

test("RCD: self-test runs, passes or fails (fault injected), and refuses to start twice", (t) => {
  const r = new RcdModel({ selfTestMs: 300 });
  r.selfTest(0);
  t.is(r.status(), RCM_SELF_TEST_RUNNING);
  t.throws(() => r.selfTest(10));
  t.false(r.step(299));
  t.true(r.step(300));
  t.is(r.status(), 0);
  r.setSelfTestFault(true);
  r.selfTest(400);
  r.step(700);
  t.is(r.status(), RCM_SELF_TEST_FAILED);
  r.setSelfTestFault(false);
  r.selfTest(800);
  t.is(r.status(), RCM_SELF_TEST_FAILED | RCM_SELF_TEST_RUNNING);
  r.step(1100);
  t.is(r.status(), 0);
  t.throws(() => r.inject(-1, 0), { instanceOf: RangeError });
});
