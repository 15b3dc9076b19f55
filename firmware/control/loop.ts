/**
 * The control loop: a fixed-period tick from the HAL clock that owns the pilot PWM and the contactors.
 *
 * Each tick: sample pilot, PP, RCM, mirror contacts, meter and temperature; refresh the claims that come
 * from those inputs (cable, thermal); step the IEC 61851-1 core with the arbiter's effective limit; write
 * PWM and contactors when they change; tell the session what happened. Interrupt-style inputs (an RCM trip)
 * run a tick at once instead of waiting for the next period.
 *
 * A steady-state tick allocates nothing: every record is preallocated and only changes are logged.
 */
import type { Contactor, Hal, Proximity, TimerId } from "../../hal/index.js";
import { PROXIMITY_OPEN } from "../../hal/index.js";
import type { FirmwareConfig } from "../config.js";
import { ChargingCore, createOutputs, type CoreInputs, type CoreOutputs } from "../iec61851/core.js";
import type { Session } from "../session/session.js";
import type { LimitArbiter } from "./arbiter.js";
import type { ConnectorLockControl } from "./lock.js";
import type { ChargingHardware } from "./hardware.js";
import { thermalLimit } from "./thermal.js";

/** Read the meter and temperatures every N ticks (they change slowly; a pilot change must not wait). */
const SLOW_INPUT_PERIOD_MS = 100;
/**
 * A pilot/PP sample that differs from the debounced state is confirmed by re-sampling after this long (ms)
 * rather than at the next period: debouncing over whole periods would make the reaction to C->B or an unplug
 * (debounceSamples - 1) periods late, e.g. 200 ms at 100 ms, and IEC 61851-1 allows 100 ms for C->B. At most
 * debounceSamples such extra ticks per period, so a pilot that keeps flickering cannot raise the tick rate more.
 */
export const PILOT_RESAMPLE_MS = 1;

export class ControlLoop {
  readonly inputs: CoreInputs;
  readonly outputs: CoreOutputs;
  private timer: TimerId | 0 = 0;
  private fastTimer: TimerId | 0 = 0;
  private fastLeft = 0;
  private readonly fastTick = (): void => {
    this.fastTimer = 0;
    this.stats.resampleTicks++;
    this.tick();
  };
  private slowEvery: number;
  private tickCount = 0;
  private lastState = "";
  private lastStatus = "";
  private lastFault = "";
  private lastOpenReason = "";
  private lastLimitVersion = -1;
  private lastDuty = -2;
  private lastCable = -1;
  private lastTemp = NaN;
  private lastPhases = 0;
  /** The meter failed (no answer, garbage): a stop was requested once; the fault stays until reboot. */
  private meterStopped = false;
  private lastLocked: boolean | null = null;
  private lastLockFault = false;
  /** Contactor states last handed to hw.writeContactor (-1: none yet), so unchanged outputs cost no call. */
  private lastC0 = -1;
  private lastC1 = -1;
  /** The devices sampled every tick, looked up once (null: the board has none; mirror 1 then stays 0). */
  private readonly k0: Contactor | null;
  private readonly k1: Contactor | null;
  private readonly pp: Proximity | null;
  private readonly curve: Array<[number, number]>;
  /**
   * Called after a tick in which the debounced pilot state or the written duty changed (the ISO 15118 SECC starts
   * SLAC on 5 % with an EV present and resets on unplug). null: nobody listens.
   */
  onPilot: ((state: string, duty: number) => void) | null = null;
  /**
   * Called at the end of every tick with the core's outputs (the DC output follows the contactor and the faults
   * within the same tick). null: nobody listens.
   */
  afterTick: ((out: CoreOutputs) => void) | null = null;
  /** Ticks run, and the largest lateness of a tick against its schedule (ms). */
  readonly stats = { ticks: 0, maxLateMs: 0, immediateTicks: 0, resampleTicks: 0 };
  private nextDue = 0;

  constructor(
    private readonly hal: Hal,
    private readonly config: FirmwareConfig,
    private readonly core: ChargingCore,
    private readonly arbiter: LimitArbiter,
    private readonly hw: ChargingHardware,
    private readonly session: Session,
    /** The socket's cable lock (null: a fixed cable or no lock fitted). */
    private readonly lock: ConnectorLockControl | null = null,
  ) {
    this.curve = config.thermalDerating;
    this.slowEvery = Math.max(1, Math.round(SLOW_INPUT_PERIOD_MS / config.controlPeriodMs));
    this.inputs = {
      now: 0,
      pilotHigh: 0,
      pilotLow: 0,
      ppOhms: 0,
      rcm: 0,
      mirror0: 0,
      mirror1: 0,
      current: hw.meterReading.current,
      temperature: 25,
      authorized: false,
      available: true,
      stopRequested: false,
      limit: 0,
      phases: hal.board.phases,
      hlcEnergy: true,
    };
    this.outputs = createOutputs();
    this.k0 = hw.contactors[0] ?? null;
    this.k1 = hw.contactors[1] ?? null;
    this.pp = hw.proximity;
  }

  start(): void {
    if (this.timer) return;
    const period = this.config.controlPeriodMs;
    this.nextDue = this.hal.clock.now() + period;
    this.tick();
    this.timer = this.hal.timers.set(() => this.scheduled(), period, period);
  }

  stop(): void {
    if (this.timer) this.hal.timers.clear(this.timer);
    this.timer = 0;
    if (this.fastTimer) this.hal.timers.clear(this.fastTimer);
    this.fastTimer = 0;
  }

  /** Runs a tick now (an interrupt-style input changed). */
  kick(): void {
    this.stats.immediateTicks++;
    this.tick();
  }

  private scheduled(): void {
    const now = this.hal.clock.now();
    const late = now - this.nextDue;
    if (late > this.stats.maxLateMs) this.stats.maxLateMs = late;
    this.nextDue = now + this.config.controlPeriodMs;
    this.fastLeft = this.config.pilotDebounceSamples;
    this.tick(now);
  }

  /** One control step; `now` is the clock's time (the scheduled tick passes the one it just read). */
  tick(now: number = this.hal.clock.now()): void {
    const hal = this.hal;
    const hw = this.hw;
    const inp = this.inputs;
    const out = this.outputs;
    inp.now = now;
    hw.pilot.read(hw.pilotSample);
    inp.pilotHigh = hw.pilotSample.high;
    inp.pilotLow = hw.pilotSample.low;
    // Same reads as hw.readProximity() / hw.readMirror(i), without the calls.
    const pp = this.pp;
    inp.ppOhms = pp !== null ? pp.read() : PROXIMITY_OPEN;
    inp.rcm = hw.rcm.read();
    const k0 = this.k0;
    inp.mirror0 = k0 !== null ? k0.read() : 0;
    const k1 = this.k1;
    if (k1 !== null) inp.mirror1 = k1.read();
    if (this.tickCount % this.slowEvery === 0) {
      hw.meter.read(hw.meterReading);
      // A failed meter (its driver's onError set the fault): latch the stop, checked with the meter reads.
      if (!this.meterStopped && hw.meterFault !== "") {
        this.meterStopped = true;
        this.session.requestStop("Other");
      }
      const t = hw.readTemperature();
      if (t !== this.lastTemp) {
        this.lastTemp = t;
        inp.temperature = t;
        this.arbiter.set("thermal", thermalLimit(t, this.curve), "derating");
      }
    }
    this.tickCount++;
    inp.authorized = this.session.authorized;
    inp.available = this.session.available;
    inp.stopRequested = this.session.stopRequested;
    inp.limit = this.arbiter.amps;
    const lock = this.lock;
    let engaged = true;
    if (lock !== null) {
      // Locked while a session is authorized with the EV plugged, and whenever the contactor is closed.
      // (inp.authorized / inp.stopRequested: the session's values, read just above.)
      const plugged = this.core.sessionActive;
      lock.update(now, plugged, plugged && ((inp.authorized && !inp.stopRequested) || out.contactor0 === 1));
      inp.locked = engaged = lock.engaged;
    }

    // A failed meter: charging stops the normal way (PWM off, contactor open once the EV is in B or after
    // evStopTimeoutMs) and stays stopped; the connector reports fault "meter" (OCPP PowerMeterFailure).
    const meterStopped = this.meterStopped;
    if (meterStopped) inp.stopRequested = true;

    this.core.step(inp, out);
    if (meterStopped && out.fault === "") out.fault = "meter";

    // hw.writeContactor writes only on change anyway; the loop is its only caller, so skip the call as well.
    if (out.contactor0 !== this.lastC0) {
      this.lastC0 = out.contactor0;
      hw.writeContactor(0, out.contactor0);
    }
    if (out.contactor1 !== this.lastC1) {
      this.lastC1 = out.contactor1;
      hw.writeContactor(1, out.contactor1);
    }
    let pilotChanged = false;
    if (out.duty !== this.lastDuty) {
      this.lastDuty = out.duty;
      hw.pilot.write(out.duty);
      pilotChanged = true;
    }
    if (out.phasesActive !== this.lastPhases) {
      this.lastPhases = out.phasesActive;
      this.arbiter.setPhases(out.phasesActive);
    }
    if (out.cableAmps !== this.lastCable) {
      this.lastCable = out.cableAmps;
      if (out.cableAmps > 0) this.arbiter.set("cable", out.cableAmps, "proximity");
      else this.arbiter.clear("cable");
    }
    // A pilot/PP change is being debounced: confirm it within milliseconds, not periods.
    if (this.fastTimer === 0 && this.fastLeft > 0 && this.timer !== 0 && this.core.inputPending) {
      this.fastLeft--;
      this.fastTimer = hal.timers.set(this.fastTick, PILOT_RESAMPLE_MS);
    }
    hal.system.feedWatchdog();
    this.stats.ticks++;

    // Report changes (allocates only when something changed).
    if (out.state !== this.lastState) {
      this.lastState = out.state;
      hal.log.event("pilot", { state: out.state, high: inp.pilotHigh, low: inp.pilotLow });
      pilotChanged = true;
    }
    if (pilotChanged && this.onPilot !== null) this.onPilot(out.state, out.duty);
    if (this.afterTick !== null) this.afterTick(out);
    if (this.arbiter.version !== this.lastLimitVersion) {
      this.lastLimitVersion = this.arbiter.version;
      const w = this.arbiter.winner;
      hal.log.event("limit", { amps: this.arbiter.amps, source: w ? w.source : "none", reason: w ? w.reason : "" });
    }
    if (out.openReason !== this.lastOpenReason) {
      this.lastOpenReason = out.openReason;
      if (out.openReason) hal.log.event("open", { reason: out.openReason });
    }
    if (out.fault !== this.lastFault) {
      this.lastFault = out.fault;
      hal.log.event("fault", { fault: out.fault });
    }
    if (out.status !== this.lastStatus) {
      this.lastStatus = out.status;
      hal.log.event("core", { status: out.status, amps: out.signalledAmps, phases: out.phasesActive });
    }
    if (lock !== null) {
      if (engaged !== this.lastLocked) {
        this.lastLocked = engaged;
        this.session.setLocked(engaged);
      }
      // The lock's fault read once (one getter call less: XS ~3 units).
      const lockFault = lock.fault;
      if (lockFault !== this.lastLockFault) {
        this.lastLockFault = lockFault;
        hal.log.event("lock", { fault: lockFault, position: lock.position });
      }
      this.session.update(out.state === "B" || out.state === "C" || out.state === "D", out.status, out.fault === "" && lockFault ? "lock" : out.fault);
      return;
    }
    this.session.update(out.state === "B" || out.state === "C" || out.state === "D", out.status, out.fault);
  }
}
