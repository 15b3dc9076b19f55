/**
 * The DC output of a DC charger: the power module (hal.io.DcPowerModule) and the isolation monitor
 * (hal.io.IsolationMonitor), driven by the ISO 15118 / DIN 70121 session and held by the control loop.
 *
 * Safety (hal/SAFETY.md): the module runs only while the charging core keeps the output contactor (contactor 0)
 * closed and reports no fault. This is checked after every control tick (afterTick), so an unplug, an RCD trip,
 * a weld or any core fault turns the module off in the same tick the core opens the contactor; the session's
 * requests (output(), isolationStart()) are only wishes that afterTick grants or not.
 *
 * Cable check (IEC 61851-23 / DIN 70121 CableCheck): isolationStart(v) ramps the output to the test voltage with a
 * small current limit (dcTestCurrentA); once the contactor is closed and the output is within 5 % of v, the
 * isolation monitor test starts; its result (Valid / Warning / Fault) is what the session reports. A board without
 * an isolation monitor reports Fault: IEC 61851-23 requires one, so such a board never charges on DC.
 *
 * Setpoints are clamped into the module's rating (a current below its minimum becomes 0: never more than asked).
 * Platform-neutral; no allocation after construction.
 */
import type { DcPowerModule, DcSample, Hal, IsolationMonitor, IsolationSample } from "../../hal/index.js";
import { ISOLATION_FAULT, ISOLATION_RUNNING, ISOLATION_VALID, ISOLATION_WARNING } from "../../hal/index.js";
import type { DcSnapshot, IsolationLevel } from "../iso15118/apphandshake/types.js";
import type { CoreOutputs } from "../iec61851/core.js";

/** Within this fraction of the test voltage the isolation test may start. */
const TEST_VOLTAGE_TOLERANCE = 0.05;

export interface DcOutputStats {
  /** Times the module was enabled / disabled, isolation tests started, setpoint writes, writes refused. */
  enables: number;
  disables: number;
  tests: number;
  writes: number;
  refused: number;
}

export class DcOutput {
  readonly sample: DcSample = { voltage: 0, current: 0, enabled: false, fault: 0 };
  readonly isolationSample: IsolationSample = { status: 0, resistance: NaN };
  readonly stats: DcOutputStats = { enables: 0, disables: 0, tests: 0, writes: 0, refused: 0 };
  readonly #module: DcPowerModule;
  readonly #imd: IsolationMonitor | null;
  readonly #testCurrent: number;
  readonly #log: Hal["log"];
  // What the session wants.
  #want = false;
  #wantV = 0;
  #wantI = 0;
  // What the module was told (-1: nothing yet).
  #on = false;
  #setV = -1;
  #setI = -1;
  /** 0 no test, 1 ramping to the test voltage, 2 the monitor is testing. */
  #test = 0;
  #testV = 0;
  #isolation: IsolationLevel = "Invalid";
  #permitted = false;
  #faultLogged = false;

  constructor(hal: Hal, testCurrentA: number) {
    const Module = hal.io.DcPowerModule;
    if (Module === undefined) throw new RangeError("DcOutput needs hal.io.DcPowerModule");
    const self = this;
    this.#log = hal.log;
    this.#testCurrent = testCurrentA;
    this.#module = new Module({
      onReadable() {
        this.read(self.sample);
        if (self.sample.fault !== 0 && !self.#faultLogged) {
          self.#faultLogged = true;
          self.#log.event("device-error", { device: "dc-module", code: "fault", message: `power module fault ${self.sample.fault}` });
          self.#apply(); // off at once
        }
      },
      onError(e) {
        self.#log.event("device-error", { device: "dc-module", code: e.code, message: e.message });
      },
    });
    const Imd = hal.io.IsolationMonitor;
    this.#imd =
      Imd === undefined
        ? null
        : new Imd({
            onReadable() {
              this.read(self.isolationSample);
              self.#testDone();
            },
            onError(e) {
              self.#log.event("device-error", { device: "imd", code: e.code, message: e.message });
            },
          });
    if (this.#imd === null) hal.log.event("device-error", { device: "imd", code: "absent", message: "no isolation monitor: DC cable checks fail (IEC 61851-23)" });
  }

  get limits(): DcPowerModule["limits"] {
    return this.#module.limits;
  }

  /** The session's wish: output on with these setpoints (V, A), or off. */
  output(enable: boolean, voltage: number, current: number): void {
    this.#want = enable;
    this.#wantV = voltage;
    this.#wantI = current;
    if (!enable) this.#abortTest();
    this.#apply();
  }

  /** CableCheck: charge the output to `voltage` and run the isolation test there. */
  isolationStart(voltage: number): void {
    this.#abortTest();
    const lim = this.#module.limits;
    const v = voltage > lim.maxVoltage ? lim.maxVoltage : voltage < lim.minVoltage ? lim.minVoltage : voltage;
    this.#isolation = "Invalid";
    this.#test = 1;
    this.#testV = v;
    this.#want = true;
    this.#wantV = v;
    this.#wantI = this.#testCurrent;
    this.#apply();
  }

  /** Everything off: module disabled, a running test stopped (a safe stop, an unplug). */
  off(): void {
    this.#want = false;
    this.#abortTest();
    this.#apply();
  }

  /** The isolation result for a new session starts over. */
  resetIsolation(): void {
    this.#isolation = "Invalid";
  }

  /** After every control tick: the module runs only while the output contactor is closed and nothing is faulted. */
  afterTick(out: CoreOutputs): void {
    const permitted = out.contactor0 === 1 && out.fault === "";
    if (permitted !== this.#permitted) {
      this.#permitted = permitted;
      if (!permitted) this.#abortTest();
      this.#apply();
    }
    if (this.#test === 1 && permitted && this.sample.enabled) {
      const v = this.sample.voltage;
      const tv = this.#testV;
      if (v >= tv * (1 - TEST_VOLTAGE_TOLERANCE) && v <= tv * (1 + TEST_VOLTAGE_TOLERANCE)) this.#startTest();
    }
  }

  /** Fills the session's view of the DC side. */
  snapshot(into: DcSnapshot): DcSnapshot {
    const lim = this.#module.limits;
    const s = this.sample;
    into.presentVoltage = s.voltage;
    into.presentCurrent = s.current;
    into.maxVoltage = lim.maxVoltage;
    into.minVoltage = lim.minVoltage;
    into.maxCurrent = lim.maxCurrent;
    into.minCurrent = lim.minCurrent;
    into.maxPower = lim.maxPower;
    into.isolation = this.#isolation;
    into.isolationRunning = this.#test !== 0;
    into.fault = s.fault !== 0;
    return into;
  }

  close(): void {
    this.off();
    this.#imd?.close();
    this.#module.close();
  }

  #apply(): void {
    const m = this.#module;
    const run = this.#want && this.#permitted && this.sample.fault === 0;
    if (run) {
      const lim = m.limits;
      let v = this.#wantV;
      if (!(v >= lim.minVoltage)) v = lim.minVoltage;
      if (v > lim.maxVoltage) v = lim.maxVoltage;
      let i = this.#wantI;
      if (!(i >= lim.minCurrent) || i <= 0) i = 0;
      if (i > lim.maxCurrent) i = lim.maxCurrent;
      if (v !== this.#setV || i !== this.#setI) {
        try {
          m.write({ voltage: v, current: i });
          this.#setV = v;
          this.#setI = i;
          this.stats.writes++;
        } catch (e) {
          this.stats.refused++;
          this.#log.event("device-error", { device: "dc-module", code: "setpoint", message: (e as Error).message });
          this.#disable();
          return;
        }
      }
      if (!this.#on) {
        m.enable(1);
        this.#on = true;
        this.stats.enables++;
      }
    } else {
      this.#disable();
    }
  }

  #disable(): void {
    if (!this.#on) return;
    this.#module.enable(0);
    this.#on = false;
    this.#setV = -1;
    this.#setI = -1;
    this.stats.disables++;
  }

  #startTest(): void {
    this.#test = 2;
    const imd = this.#imd;
    if (imd === null) {
      this.#test = 0;
      this.#isolation = "Fault";
      return;
    }
    try {
      imd.start(this.#testV);
      this.stats.tests++;
    } catch (e) {
      this.#test = 0;
      this.#isolation = "Fault";
      this.#log.event("device-error", { device: "imd", code: "start", message: (e as Error).message });
    }
  }

  #testDone(): void {
    if (this.#test !== 2) return;
    const st = this.isolationSample.status;
    if (st === ISOLATION_RUNNING) return;
    this.#test = 0;
    this.#isolation = st === ISOLATION_VALID ? "Valid" : st === ISOLATION_WARNING ? "Warning" : st === ISOLATION_FAULT ? "Fault" : "Invalid";
    this.#log.event("hlc", { event: "isolation", result: this.#isolation, ohms: this.isolationSample.resistance });
  }

  #abortTest(): void {
    if (this.#test === 2) this.#imd?.stop();
    this.#test = 0;
  }
}
