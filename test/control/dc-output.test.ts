/**
 * DcOutput (firmware/control/dc-output.ts) against scripted HAL devices: the power module runs only while the core
 * keeps the output contactor closed with no fault; the cable check ramps first and tests at the voltage; setpoints
 * are clamped into the rating; a refused write turns the module off.
 */
import test from "ava";
import { DcOutput } from "../../firmware/control/dc-output.js";
import { createOutputs } from "../../firmware/iec61851/core.js";
import type { DcSnapshot } from "../../firmware/iso15118/apphandshake/types.js";
import type { DcLimits, DcPowerModuleOptions, DcSample, Hal, IsolationMonitorOptions, IsolationSample } from "../../hal/index.js";
import { ISOLATION_FAULT, ISOLATION_RUNNING, ISOLATION_VALID } from "../../hal/index.js";

interface Rig {
  hal: Hal;
  calls: string[];
  module: { limits: DcLimits; sample: DcSample; options: DcPowerModuleOptions; self: unknown };
  imd: { status: number; options: IsolationMonitorOptions; self: unknown } | null;
  logs: Array<[string, Record<string, unknown>]>;
}

function rig(withImd = true): Rig {
  const calls: string[] = [];
  const logs: Array<[string, Record<string, unknown>]> = [];
  const limits: DcLimits = { maxVoltage: 500, minVoltage: 150, maxCurrent: 125, minCurrent: 1, maxPower: 50_000 };
  const r = { calls, logs, module: { limits, sample: { voltage: 0, current: 0, enabled: false, fault: 0 }, options: {} as DcPowerModuleOptions, self: null as unknown }, imd: null as Rig["imd"] } as Rig;
  class Module {
    readonly limits = limits;
    constructor(o: DcPowerModuleOptions) {
      r.module.options = o;
      r.module.self = this;
    }
    write(sp: { voltage: number; current: number }): void {
      if (sp.voltage > limits.maxVoltage || sp.voltage < limits.minVoltage || sp.current > limits.maxCurrent || (sp.current !== 0 && sp.current < limits.minCurrent)) throw new RangeError("setpoint out of range");
      calls.push(`write ${sp.voltage} ${sp.current}`);
    }
    enable(on: 0 | 1): void {
      calls.push(`enable ${on}`);
      r.module.sample.enabled = on === 1;
    }
    read(into: DcSample): DcSample {
      Object.assign(into, r.module.sample);
      return into;
    }
    close(): void {
      calls.push("module close");
    }
  }
  class Imd {
    constructor(o: IsolationMonitorOptions) {
      r.imd = { status: 0, options: o, self: this };
    }
    start(v: number): void {
      calls.push(`imd start ${v}`);
      r.imd!.status = ISOLATION_RUNNING;
    }
    stop(): void {
      calls.push("imd stop");
      r.imd!.status = 0;
    }
    read(into: IsolationSample): IsolationSample {
      into.status = r.imd!.status;
      into.resistance = 5e6;
      return into;
    }
    close(): void {}
  }
  r.hal = {
    io: { DcPowerModule: Module, ...(withImd ? { IsolationMonitor: Imd } : {}) },
    log: { event: (e: string, f: Record<string, unknown>) => logs.push([e, f]) },
  } as unknown as Hal;
  return r;
}

/** The module reports a new sample (its onReadable). */
function sample(r: Rig, patch: Partial<DcSample>): void {
  Object.assign(r.module.sample, patch);
  r.module.options.onReadable!.call(r.module.self as never);
}

function imdResult(r: Rig, status: number): void {
  r.imd!.status = status;
  r.imd!.options.onReadable!.call(r.imd!.self as never);
}

const snap = (): DcSnapshot => ({ presentVoltage: 0, presentCurrent: 0, maxVoltage: 0, minVoltage: 0, maxCurrent: 0, minCurrent: 0, maxPower: 0, isolation: "Invalid", isolationRunning: false, fault: false });

test("the module runs only while the contactor is closed and the core has no fault", (t) => {
  const r = rig();
  const dc = new DcOutput(r.hal, 2);
  const out = createOutputs();
  dc.output(true, 400, 50);
  dc.afterTick(out);
  t.deepEqual(r.calls, [], "contactor open: nothing happens");
  out.contactor0 = 1;
  dc.afterTick(out);
  t.deepEqual(r.calls, ["write 400 50", "enable 1"]);
  dc.output(true, 400, 50);
  dc.afterTick(out);
  t.is(r.calls.length, 2, "unchanged setpoints cost no write");
  out.fault = "rcd";
  dc.afterTick(out);
  t.deepEqual(r.calls.slice(2), ["enable 0"], "a fault turns it off in the same tick");
  out.fault = "";
  out.contactor0 = 0;
  dc.afterTick(out);
  out.contactor0 = 1;
  dc.afterTick(out);
  t.deepEqual(r.calls.slice(3), ["write 400 50", "enable 1"]);
  dc.off();
  t.deepEqual(r.calls.slice(5), ["enable 0"]);
  t.is(dc.stats.enables, 2);
  t.is(dc.stats.disables, 2);
});

test("cable check: ramps to the test voltage with the test current, tests within 5 %, reports the result", (t) => {
  const r = rig();
  const dc = new DcOutput(r.hal, 2);
  const out = createOutputs();
  out.contactor0 = 1;
  dc.isolationStart(450);
  t.deepEqual(r.calls, [], "waits for the contactor (its first afterTick)");
  dc.afterTick(out);
  t.deepEqual(r.calls, ["write 450 2", "enable 1"]);
  const s = dc.snapshot(snap());
  t.true(s.isolationRunning);
  t.is(s.isolation, "Invalid");
  sample(r, { voltage: 300, enabled: true });
  dc.afterTick(out);
  t.false(r.calls.includes("imd start 450"), "not at 300 V");
  sample(r, { voltage: 430, enabled: true });
  dc.afterTick(out);
  t.true(r.calls.includes("imd start 450"));
  imdResult(r, ISOLATION_VALID);
  const s2 = dc.snapshot(snap());
  t.false(s2.isolationRunning);
  t.is(s2.isolation, "Valid");
  t.is(s2.presentVoltage, 430);
  t.is(s2.maxPower, 50_000);
});

test("cable check: a fault result, an unplug during the test (test stopped), no monitor fitted (Fault)", (t) => {
  const r = rig();
  const dc = new DcOutput(r.hal, 2);
  const out = createOutputs();
  out.contactor0 = 1;
  dc.isolationStart(400);
  dc.afterTick(out);
  sample(r, { voltage: 400, enabled: true });
  dc.afterTick(out);
  imdResult(r, ISOLATION_FAULT);
  t.is(dc.snapshot(snap()).isolation, "Fault");
  dc.isolationStart(400);
  dc.afterTick(out);
  t.true(dc.snapshot(snap()).isolationRunning);
  out.contactor0 = 0; // the core opened
  dc.afterTick(out);
  t.true(r.calls.includes("imd stop"));
  t.false(dc.snapshot(snap()).isolationRunning);
  t.false(r.module.sample.enabled);

  const bare = rig(false);
  const dc2 = new DcOutput(bare.hal, 2);
  t.true(bare.logs.some(([e, f]) => e === "device-error" && f["device"] === "imd"));
  const o2 = createOutputs();
  o2.contactor0 = 1;
  dc2.isolationStart(400);
  dc2.afterTick(o2);
  sample(bare, { voltage: 400, enabled: true });
  dc2.afterTick(o2);
  t.is(dc2.snapshot(snap()).isolation, "Fault", "IEC 61851-23 requires a monitor");
});

test("setpoints are clamped into the rating; a current below the minimum becomes 0; a refused write turns the module off", (t) => {
  const r = rig();
  const dc = new DcOutput(r.hal, 2);
  const out = createOutputs();
  out.contactor0 = 1;
  dc.afterTick(out);
  dc.output(true, 900, 400);
  t.deepEqual(r.calls, ["write 500 125", "enable 1"]);
  dc.output(true, 50, 0.5);
  t.deepEqual(r.calls.slice(2), ["write 150 0"]);
  dc.output(true, NaN, NaN);
  t.deepEqual(r.calls.slice(3), [], "NaN -> minimum voltage, 0 A: already set");
  // A module that refuses what its own limits allow: logged, off.
  r.module.limits.maxVoltage = 100;
  dc.output(true, 450, 10);
  t.is(dc.stats.refused, 1);
  t.is(r.calls[r.calls.length - 1], "enable 0");
  t.true(r.logs.some(([e, f]) => e === "device-error" && f["code"] === "setpoint"));
});

test("a module fault is reported once and keeps the module off", (t) => {
  const r = rig();
  const dc = new DcOutput(r.hal, 2);
  const out = createOutputs();
  out.contactor0 = 1;
  dc.afterTick(out);
  dc.output(true, 400, 10);
  t.is(r.calls[r.calls.length - 1], "enable 1");
  sample(r, { fault: 7 });
  t.is(r.calls[r.calls.length - 1], "enable 0", "off at the fault's first sample");
  r.calls.length = 0;
  sample(r, { fault: 7 });
  t.is(r.logs.filter(([e, f]) => e === "device-error" && f["code"] === "fault").length, 1);
  t.true(dc.snapshot(snap()).fault);
  dc.output(true, 400, 10);
  t.false(r.calls.includes("enable 1"));
});
