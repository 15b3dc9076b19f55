import test from "ava";
import type { Board, DcPowerModule, DcSample, HalError, IsolationMonitor, IsolationSample } from "../../hal/index.js";
import { INTERLOCK_FORBIDDEN_CLOSE, INTERLOCK_PILOT, ISOLATION_FAULT, ISOLATION_RUNNING, ISOLATION_VALID } from "../../hal/index.js";
import { DC_SAMPLE_MS, DeviceHal } from "../../simulator/core/devices.js";
import { SyncQueue } from "../../simulator/core/sync-queue.js";
import { DC_FAULT_SHORT_CIRCUIT } from "../../simulator/models/dc.js";
import type { DcLoad } from "../../simulator/models/dc-load.js";
import { World } from "../../simulator/models/world.js";
import type { WorldConfig } from "../../simulator/models/world.js";
import { Rng } from "../../simulator/rng.js";
import { DEFAULT_BOARD } from "../../simulator/scenario.js";

class FakeLoad implements DcLoad {
  dcContactorClosed = false;
  batteryOhms = 0.1;
  ocv = 400;
  wh = 0;
  batteryVoltage(): number {
    return this.ocv;
  }
  dcCurrentLimit(): number {
    return 200;
  }
  acceptDcWh(wh: number): void {
    this.wh += wh;
  }
}

function rig(world: Partial<WorldConfig> = { dc: { minVoltage: 150, maxVoltage: 1000, minCurrent: 1, maxCurrent: 125, maxPower: 50000 } }) {
  const q = new SyncQueue();
  const w = new World(world, new Rng(3));
  const observed: Array<[string, Record<string, unknown>]> = [];
  const board: Board = { ...DEFAULT_BOARD };
  const device = new DeviceHal({
    queue: q,
    world: w,
    board,
    storage: {} as never,
    crypto: {} as never,
    network: {} as never,
    rtcAtZero: 0,
    bootReason: "power-on",
    log: () => {},
    observe: (kind, fields) => observed.push([kind, fields]),
    onRestart: () => {},
    watchdogMs: 0,
  });
  return { q, w, device, hal: device.hal, observed };
}

function dcSample(): DcSample {
  return { voltage: 0, current: 0, enabled: false, fault: 0 };
}

test("an AC board has neither DC class; a DC board has both, with the board's rating as limits", (t) => {
  const ac = rig({});
  t.is(ac.hal.io.DcPowerModule, undefined);
  t.is(ac.hal.io.IsolationMonitor, undefined);
  const dc = rig();
  const M = dc.hal.io.DcPowerModule!;
  t.truthy(dc.hal.io.IsolationMonitor);
  const m = new M({});
  t.deepEqual({ ...m.limits }, { minVoltage: 150, maxVoltage: 1000, minCurrent: 1, maxCurrent: 125, maxPower: 50000 });
  t.deepEqual(Object.keys(m), ["limits"], "the instance shows the HAL shape only (the XS bridge describes it)");
  t.deepEqual(Object.getOwnPropertyNames(Object.getPrototypeOf(m)).sort(), ["close", "constructor", "enable", "read", "write"]);
});

test("DcPowerModule: RangeError on setpoints outside the limits (current 0 always allowed) and on a bad enable; nothing changes", (t) => {
  const { hal, w } = rig();
  const m = new hal.io.DcPowerModule!({});
  m.write({ voltage: 400, current: 10 });
  for (const sp of [{ voltage: 149, current: 10 }, { voltage: 1001, current: 10 }, { voltage: 400, current: 0.5 }, { voltage: 400, current: 126 }, { voltage: NaN, current: 10 }, { voltage: 400, current: -1 }, { voltage: "400", current: 10 }]) {
    t.throws(() => m.write(sp as never), { instanceOf: RangeError }, JSON.stringify(sp));
  }
  t.throws(() => m.write(null as never), { instanceOf: TypeError });
  t.is(w.dc!.module.setpointVoltage, 400);
  t.is(w.dc!.module.setpointCurrent, 10);
  m.write({ voltage: 150, current: 0 });
  m.write({ voltage: 1000, current: 125 });
  t.throws(() => m.enable(2 as never), { instanceOf: RangeError });
  t.throws(() => m.enable(true as never), { instanceOf: RangeError });
  t.false(w.dc!.module.enabled);
  m.close();
  t.throws(() => m.read(dcSample()), { message: "closed" });
  t.throws(() => m.enable(1), { message: "closed" });
  m.close();
});

test("DcPowerModule: onReadable every 100 ms while active, silent when idle; the voltage ramps; enable traced", (t) => {
  const { q, w, hal, observed } = rig();
  w.plug({});
  w.setDcLoad(new FakeLoad()); // the car's contactors open: the cable is the module's alone
  w.setPilotDuty(267);
  q.runUntil(2000);
  new hal.io.Contactor({ contactor: 0 }).write(1);
  const t0 = q.now;
  const times: number[] = [];
  const volts: number[] = [];
  const m: DcPowerModule = new hal.io.DcPowerModule!({
    onReadable(this: DcPowerModule) {
      t.is(this, m);
      times.push(q.now);
      volts.push(this.read(dcSample()).voltage);
    },
  });
  q.runUntil(t0 + 1000);
  t.deepEqual(times, [t0 + DC_SAMPLE_MS], "one sample at start (from 'never read'), then silence while idle");
  times.length = 0;
  volts.length = 0;
  m.write({ voltage: 500, current: 2 });
  m.enable(1);
  q.runUntil(t0 + 4000);
  t.is(times.length, 30);
  t.is(times[0], t0 + 1100);
  t.is(volts[4], 100, "200 V/s: 100 V after 0.5 s");
  t.is(volts[volts.length - 1], 500);
  t.deepEqual(observed.filter(([k]) => k === "dc"), [["dc", { enabled: true }]]);
  m.enable(0);
  times.length = 0;
  q.runUntil(t0 + 20_000);
  t.true(times.length > 5 && times.length < 40, `bleed-down samples ${times.length}`);
  t.true(m.read(dcSample()).voltage < 1);
  const n = times.length;
  q.runUntil(t0 + 30_000);
  t.is(times.length, n, "idle again: no more callbacks");
});

test("IsolationMonitor: a test needs the module at the test voltage; result VALID after 1500 ms; onReadable; RUNNING meanwhile", (t) => {
  const { q, w, hal, observed } = rig();
  const load = new FakeLoad();
  w.plug({});
  w.setDcLoad(load);
  w.setPilotDuty(267);
  q.runUntil(3000);
  const k = new hal.io.Contactor({ contactor: 0 });
  k.write(1);
  const m = new hal.io.DcPowerModule!({});
  const results: Array<[number, number]> = [];
  const imd: IsolationMonitor = new hal.io.IsolationMonitor!({
    onReadable(this: IsolationMonitor) {
      results.push([q.now, this.read({ status: 0, resistance: 0 }).status]);
    },
  });
  // Started before the module is up: FAULT "no test voltage".
  imd.start(500);
  const s: IsolationSample = { status: 0, resistance: 0 };
  t.is(imd.read(s).status, ISOLATION_RUNNING);
  t.throws(() => imd.start(500), { message: /already running/ });
  q.runUntil(4600);
  t.deepEqual(results, [[4500, ISOLATION_FAULT]]);
  t.true(Number.isNaN(imd.read(s).resistance));
  t.is(w.dc!.imd.reason, "no test voltage");
  // Ramp first, then test.
  m.write({ voltage: 500, current: 2 });
  m.enable(1);
  q.runUntil(7200);
  t.is(m.read(dcSample()).voltage, 500);
  imd.start(500);
  q.runUntil(9000);
  t.deepEqual(results[1], [8700, ISOLATION_VALID]);
  t.deepEqual(imd.read(s), { status: ISOLATION_VALID, resistance: 10_000_000 });
  t.throws(() => imd.start(0), { instanceOf: RangeError });
  t.throws(() => imd.start(1001), { instanceOf: RangeError }, "above the module's rating");
  t.true(observed.some(([kind, f]) => kind === "imd" && f["status"] === ISOLATION_VALID));
  // An insulation fault mid-charge: the next measurement reports it.
  w.advance(q.now);
  w.setInsulationOhms(20_000);
  q.runUntil(12_000);
  t.is(results[results.length - 1]![1], ISOLATION_FAULT);
  imd.stop();
  t.is(imd.read(s).status, 0);
  imd.close();
  t.throws(() => imd.start(500), { message: "closed" });
});

test("DcPowerModule: a latched module fault reaches onError and the sample; the interlock still refuses a close out of C/D", (t) => {
  const { q, w, hal } = rig();
  const errors: HalError[] = [];
  const m = new hal.io.DcPowerModule!({
    onError(this: DcPowerModule, e: HalError) {
      errors.push(e);
    },
  });
  w.plug({});
  w.setDcLoad(new FakeLoad());
  w.setPilotDuty(1000);
  q.runUntil(1000);
  const k = new hal.io.Contactor({ contactor: 0 });
  k.write(1);
  t.is(w.coil(0), 0);
  t.is(w.forbiddenCloses, 1);
  t.is(w.lastInterlockCause, INTERLOCK_FORBIDDEN_CLOSE | INTERLOCK_PILOT);
  m.write({ voltage: 400, current: 10 });
  m.enable(1);
  q.runUntil(2000);
  w.advance(q.now);
  w.dcFault(DC_FAULT_SHORT_CIRCUIT);
  q.runUntil(2100);
  t.deepEqual(errors, [{ code: "dc-fault", message: `DC power module fault ${DC_FAULT_SHORT_CIRCUIT}` }]);
  t.is(m.read(dcSample()).fault, DC_FAULT_SHORT_CIRCUIT);
});

test("a dead board (power cut, restart) drops the module's enable and stops the isolation monitor", (t) => {
  const { q, w, hal, device } = rig();
  const m = new hal.io.DcPowerModule!({});
  const imd = new hal.io.IsolationMonitor!({});
  m.write({ voltage: 500, current: 2 });
  m.enable(1);
  q.runUntil(3000);
  imd.start(500);
  q.runUntil(3500);
  t.true(w.dc!.module.enabled);
  device.kill();
  t.false(w.dc!.module.enabled);
  t.is(w.dc!.imd.status, 0);
  t.throws(() => m.read(dcSample()), { name: "DeadHalError" });
});
