/**
 * The simulated HAL devices, platform-neutral: they drive the physical models of simulator/models through
 * an event queue, so they run on Node (with the Scheduler and real sockets) and inside XS (with SyncQueue,
 * for benchmarks) alike.
 *
 * One DeviceHal per boot. A power cut or a restart kills it: every later call throws, its timers never
 * fire and its callbacks are never called again, as a dead MCU would behave; the next boot gets a new one
 * over the same world, flash and RTC.
 */
import type {
  Board,
  BootReason,
  ConnectorLock,
  ConnectorLockOptions,
  Contactor,
  ContactorOptions,
  ControlPilot,
  ControlPilotOptions,
  Crypto,
  DcLimits,
  DcPowerModule,
  DcPowerModuleOptions,
  DcSample,
  FirmwareSlot,
  Hal,
  IdReader,
  IdReaderOptions,
  Interlock,
  InterlockOptions,
  IsolationMonitor,
  IsolationMonitorOptions,
  IsolationSample,
  Log,
  LogFields,
  Meter,
  MeterOptions,
  MeterReading,
  Network,
  PilotSample,
  Proximity,
  ProximityOptions,
  ResidualCurrentMonitor,
  ResidualCurrentMonitorOptions,
  Storage,
  System,
  Temperature,
  TemperatureOptions,
  TimerId,
} from "../../hal/index.js";
import type { World } from "../models/world.js";

export type Task = () => unknown;

/** What the devices need from a scheduler (simulator/scheduler.ts and SyncQueue implement it). */
export interface EventQueue {
  readonly now: number;
  at(t: number, fn: Task): number;
  cancel(id: number): void;
  post(fn: Task): void;
}

export interface DeviceHalOptions {
  queue: EventQueue;
  world: World;
  board: Board;
  storage: Storage;
  crypto: Crypto;
  network: Network;
  /** Wall clock (ms since epoch) at virtual time 0, as the board's RTC has it; 0 = RTC lost. */
  rtcAtZero: number;
  bootReason: BootReason;
  /** Firmware log events (hal.log). */
  log: (kind: string, fields: LogFields) => void;
  /** Hardware-side observations (pwm, contactor) for the trace. */
  observe: (kind: string, fields: Record<string, unknown>) => void;
  /** system.restart() was called. */
  onRestart: (reason: string) => void;
  /** Watchdog period, ms (0 = off). A loop that stops feeding it resets the board. */
  watchdogMs: number;
  /** A firmware callback threw (or its promise rejected): on the device that is a bug report. */
  onFirmwareError?: (error: unknown) => void;
  /** The board's A/B update slots (kept across boots by the caller); absent: no system.firmware. */
  firmwareSlots?: FirmwareSlots;
  /** Events kept in RAM for hal.log.recent() (default 0: none, and no recent()). */
  logRing?: number;
}

/** Period of the DC power module's measurement (DcPowerModule onReadable), ms of virtual time. */
export const DC_SAMPLE_MS = 100;

/** Magic of a simulated firmware image: "SIMFW1" and two zero bytes, then the SHA-256 of the payload. */
export const FIRMWARE_IMAGE_MAGIC = [0x53, 0x49, 0x4d, 0x46, 0x57, 0x31, 0, 0] as const;
/** Header bytes of a simulated firmware image: magic (8), SHA-256 of the payload (32). */
export const FIRMWARE_HEADER_BYTES = 40;

/** Builds a simulated firmware image: magic, SHA-256 of the payload, payload. */
export function makeFirmwareImage(payload: Uint8Array, sha256: (data: Uint8Array) => ArrayBuffer): Uint8Array {
  const out = new Uint8Array(FIRMWARE_HEADER_BYTES + payload.length);
  out.set(FIRMWARE_IMAGE_MAGIC, 0);
  out.set(new Uint8Array(sha256(payload)), 8);
  out.set(payload, FIRMWARE_HEADER_BYTES);
  return out;
}

/**
 * The board's two firmware slots, as an ESP32 OTA layout has them: the running one and the inactive one the
 * update writes. commit() verifies the image (magic and the SHA-256 of its header); a verified image boots at
 * the next power-on (`bootNext()`), which makes it the running one. Survives reboots (the simulation keeps it).
 */
export class FirmwareSlots {
  /** SHA-256 (hex) of the running image's payload; "factory" before any update. */
  running = "factory";
  /** Images installed by an update, in order (hex SHA-256). */
  readonly installed: string[] = [];
  readonly stats = { begun: 0, committed: 0, rejected: 0, aborted: 0, bytes: 0 };
  private buf: Uint8Array | null = null;
  private len = 0;
  private pending: string | null = null;

  constructor(readonly capacity: number, private readonly sha256: (data: Uint8Array) => ArrayBuffer) {}

  /** The image to boot at the next power-on, if one was committed. */
  get next(): string | null {
    return this.pending;
  }

  /** Power-on: a committed image becomes the running one. Returns true if one was installed. */
  bootNext(): boolean {
    if (!this.pending) return false;
    this.running = this.pending;
    this.installed.push(this.pending);
    this.pending = null;
    return true;
  }

  slot(check: () => void): FirmwareSlot {
    const self = this;
    return {
      get capacity() {
        return self.capacity;
      },
      begin(byteLength: number): void {
        check();
        if (typeof byteLength !== "number" || !Number.isInteger(byteLength) || byteLength <= 0 || byteLength > self.capacity) {
          throw new RangeError(`firmware image length must be 1..${self.capacity}`);
        }
        self.buf = new Uint8Array(byteLength);
        self.len = 0;
        self.pending = null;
        self.stats.begun++;
      },
      write(buffer): void {
        check();
        if (!self.buf) throw new Error("firmware slot: begin() first");
        const bytes =
          buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : buffer instanceof Uint8Array ? buffer : buffer instanceof DataView ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : null;
        if (!bytes) throw new TypeError("buffer must be an ArrayBuffer, Uint8Array or DataView");
        if (self.len + bytes.length > self.buf.length) throw new RangeError("firmware image longer than begin() announced");
        self.buf.set(bytes, self.len);
        self.len += bytes.length;
        self.stats.bytes += bytes.length;
      },
      commit(): boolean {
        check();
        const buf = self.buf;
        self.buf = null;
        if (!buf) throw new Error("firmware slot: begin() first");
        const ok = self.len === buf.length && buf.length > FIRMWARE_HEADER_BYTES && FIRMWARE_IMAGE_MAGIC.every((b, i) => buf[i] === b) && sameBytes(new Uint8Array(self.sha256(buf.subarray(FIRMWARE_HEADER_BYTES))), buf.subarray(8, FIRMWARE_HEADER_BYTES));
        if (!ok) {
          self.stats.rejected++;
          return false;
        }
        self.stats.committed++;
        self.pending = hexOf(buf.subarray(8, FIRMWARE_HEADER_BYTES));
        return true;
      },
      abort(): void {
        check();
        if (self.buf) self.stats.aborted++;
        self.buf = null;
        self.len = 0;
      },
    };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexOf(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
  return s;
}

/** Thrown by every call into a dead HAL (after a power cut or a restart). */
export class DeadHalError extends Error {
  constructor() {
    super("the board is powered off");
    this.name = "DeadHalError";
  }
}

export class DeviceHal {
  readonly hal: Hal;
  private dead = false;
  private readonly timers = new Map<number, number>();
  private timerIds = 0;
  /** Keys of device-internal timers in `timers` (negative: never a firmware TimerId). */
  private deviceTimerIds = 0;
  private wallOffset: number;
  private synced = false;
  private lastFeed = 0;
  private readonly cards: string[] = [];
  /** The physical pilot band at the last pilot sample ("" before the first), for the "ev" trace event. */
  private lastBand = "";
  private readers: Array<{ inst: IdReader; cb: ((this: IdReader) => void) | undefined }> = [];
  private readonly q: EventQueue;
  private readonly world: World;
  /** The RAM ring behind hal.log.recent(). */
  private readonly logLines: Array<[number, string, LogFields]> = [];
  /** Counters for tests and the bench. */
  readonly stats = { halCalls: 0, watchdogResets: 0, timersFired: 0 };

  constructor(private readonly o: DeviceHalOptions) {
    this.q = o.queue;
    this.world = o.world;
    this.wallOffset = o.rtcAtZero;
    this.lastFeed = o.queue.now;
    this.hal = this.build();
    if (o.watchdogMs > 0) this.armWatchdog();
  }

  /** Powers the board off: nothing of this boot runs again. */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    for (const id of this.timers.values()) this.q.cancel(id);
    this.timers.clear();
    this.world.onChange = undefined;
    // The MCU that drives the DC power module and the isolation monitor is gone: the module's enable line drops.
    if (this.world.dc !== null) {
      this.world.advance(this.q.now);
      this.world.dcEnable(0);
      this.world.imdStop();
    }
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** The wall clock as this boot's RTC has it (for the next boot's rtcAtZero). */
  rtcAtZero(): number {
    return this.wallOffset;
  }

  /** A card is held to the reader. */
  presentCard(id: string): void {
    this.cards.push(id);
    for (const r of this.readers) {
      const cb = r.cb;
      if (cb) this.q.post(() => (this.dead ? undefined : this.guard(() => cb.call(r.inst))));
    }
  }

  private check(): void {
    if (this.dead) throw new DeadHalError();
    this.stats.halCalls++;
  }

  /** Runs a firmware callback later, unless the board died meanwhile. Returns its result (a promise on XS). */
  private deliver<T>(inst: T, cb: ((this: T, ...args: never[]) => unknown) | undefined, ...args: unknown[]): void {
    if (!cb) return;
    this.q.post(() => (this.dead ? undefined : this.guard(() => (cb as (this: T, ...a: unknown[]) => unknown).apply(inst, args))));
  }

  /** Calls into the firmware, routing its exceptions (sync or async) to onFirmwareError. */
  guard(fn: () => unknown): unknown {
    const report = (e: unknown) => {
      if (e instanceof DeadHalError) return;
      if (this.o.onFirmwareError) this.o.onFirmwareError(e);
      else throw e;
    };
    try {
      const r = fn() as { then?: unknown } | undefined;
      if (r && typeof r.then === "function") return (r as Promise<unknown>).then(undefined, report);
      return r;
    } catch (e) {
      report(e);
      return undefined;
    }
  }

  private armWatchdog(): void {
    const period = this.o.watchdogMs;
    const check = () => {
      if (this.dead) return;
      if (this.q.now - this.lastFeed > period) {
        this.stats.watchdogResets++;
        this.o.observe("watchdog", { starvedMs: this.q.now - this.lastFeed });
        this.o.onRestart("watchdog");
        return;
      }
      this.q.at(this.q.now + period, check);
    };
    this.q.at(this.q.now + period, check);
  }

  private build(): Hal {
    const self = this;
    const q = this.q;
    const world = this.world;
    const o = this.o;

    const clock = {
      now(): number {
        self.check();
        return Math.floor(q.now);
      },
      wall(): number {
        self.check();
        return self.wallOffset === 0 ? 0 : Math.floor(self.wallOffset + q.now);
      },
      get synchronized(): boolean {
        return self.synced;
      },
      setWall(epochMs: number): void {
        self.check();
        if (typeof epochMs !== "number" || !Number.isFinite(epochMs) || epochMs < 0) throw new RangeError(`bad wall time ${epochMs}`);
        self.wallOffset = epochMs - q.now;
        self.synced = true;
      },
    };

    const timers = {
      set(callback: (id: TimerId) => void, delay: number, repeat = 0): TimerId {
        self.check();
        if (typeof callback !== "function") throw new TypeError("timer callback must be a function");
        if (!(delay >= 0) || !Number.isFinite(delay) || !(repeat >= 0) || !Number.isFinite(repeat)) throw new RangeError("bad timer delay or repeat");
        const id = ++self.timerIds;
        const fire = (due: number) => {
          self.timers.delete(id);
          if (self.dead) return undefined;
          if (repeat > 0) self.timers.set(id, q.at(due + repeat, () => fire(due + repeat)));
          self.stats.timersFired++;
          return self.guard(() => callback(id));
        };
        const due = q.now + delay;
        self.timers.set(id, q.at(due, () => fire(due)));
        return id;
      },
      clear(id: TimerId): void {
        self.check();
        const ev = self.timers.get(id);
        if (ev !== undefined) {
          q.cancel(ev);
          self.timers.delete(id);
        }
      },
    };

    class SimControlPilot implements ControlPilot {
      private closed = false;
      private _duty = 1000;
      constructor(options: ControlPilotOptions) {
        self.check();
        if (options.hz !== undefined && options.hz !== 1000) throw new RangeError("the control pilot runs at 1000 Hz");
        world.setPilotDuty(1000);
      }
      write(duty: number): void {
        self.check();
        if (this.closed) throw new Error("closed");
        if (typeof duty !== "number" || !Number.isInteger(duty) || duty < -1 || duty > 1000) throw new RangeError(`bad pilot duty ${duty}`);
        world.advance(q.now);
        world.setPilotDuty(duty);
        if (duty !== this._duty) {
          this._duty = duty;
          o.observe("pwm", { duty: duty < 0 ? 0 : duty / 10, level: duty === 1000 ? "+12V" : duty === 0 ? "-12V" : duty < 0 ? "off" : "pwm" });
        }
      }
      read(into: PilotSample): PilotSample {
        self.check();
        if (this.closed) throw new Error("closed");
        world.advance(q.now);
        world.samplePilot(into);
        // Trace the physical pilot (noise-free band) at the first sample that sees it change: the moment
        // the firmware could first know, which is what reaction times are measured from.
        const band = world.pilotState() ?? "invalid";
        if (band !== self.lastBand) {
          self.lastBand = band;
          const ev = world.ev;
          o.observe("ev", { state: band, ev: ev === null ? "A" : ev.state() });
        }
        return into;
      }
      get duty(): number {
        return this._duty;
      }
      close(): void {
        this.closed = true;
      }
    }

    class SimProximity implements Proximity {
      private closed = false;
      constructor(_options: ProximityOptions) {
        self.check();
      }
      read(): number {
        self.check();
        if (this.closed) throw new Error("closed");
        world.advance(q.now);
        return world.proximityOhms();
      }
      close(): void {
        this.closed = true;
      }
    }

    const contactorCallbacks: Array<{ inst: Contactor; cb: ContactorOptions["onReadable"] } | undefined> = [];
    const rcmCallbacks: Array<{ inst: ResidualCurrentMonitor; cb: ResidualCurrentMonitorOptions["onReadable"] }> = [];
    const interlockCallbacks: Array<{ inst: Interlock; cb: InterlockOptions["onReadable"] }> = [];
    const lockCallbacks: Array<{ inst: ConnectorLock; cb: ConnectorLockOptions["onReadable"] }> = [];
    const imdCallbacks: Array<{ inst: IsolationMonitor; cb: IsolationMonitorOptions["onReadable"] }> = [];
    world.onChange = (what, index) => {
      if (self.dead) return;
      if (what === "mirror") {
        const c = contactorCallbacks[index];
        if (c) self.deliver(c.inst, c.cb);
      } else if (what === "rcm") {
        o.observe("rcm", { status: world.rcmStatus() });
        for (const r of rcmCallbacks) self.deliver(r.inst, r.cb);
      } else if (what === "lock") {
        o.observe("lock", { locked: world.lockPosition() === 1, commanded: world.lockCommand === 1, jammed: world.lockJammed });
        for (const r of lockCallbacks) self.deliver(r.inst, r.cb);
      } else if (what === "interlock") {
        o.observe("interlock", { trips: world.interlockTrips, cause: world.lastInterlockCause });
        for (const r of interlockCallbacks) self.deliver(r.inst, r.cb);
      } else if (what === "dc") {
        const m = world.dc!.module;
        o.observe("dc", { fault: m.fault });
        dcReportFault(m.fault);
      } else if (what === "imd") {
        const imd = world.dc!.imd;
        o.observe("imd", { status: imd.status, resistance: imd.resistance, reason: imd.reason });
        for (const r of imdCallbacks) self.deliver(r.inst, r.cb);
      }
    };

    class SimContactor implements Contactor {
      private closed = false;
      private _commanded: 0 | 1 = 0;
      private readonly index: 0 | 1;
      constructor(options: ContactorOptions) {
        self.check();
        if (options.contactor !== 0 && options.contactor !== 1) throw new RangeError("contactor must be 0 or 1");
        if (options.contactor >= o.board.contactors) throw new RangeError(`this board has ${o.board.contactors} contactor(s)`);
        this.index = options.contactor;
        contactorCallbacks[this.index] = { inst: this, cb: options.onReadable };
      }
      write(value: 0 | 1): void {
        self.check();
        if (this.closed) throw new Error("closed");
        if (value !== 0 && value !== 1) throw new RangeError(`bad contactor value ${String(value)}`);
        world.advance(q.now);
        world.setContactor(this.index, value);
        if (value !== this._commanded) {
          this._commanded = value;
          o.observe("contactor", { index: this.index, closed: value === 1 });
        }
      }
      read(): 0 | 1 {
        self.check();
        world.advance(q.now);
        return world.mirror(this.index);
      }
      get commanded(): 0 | 1 {
        return this._commanded;
      }
      close(): void {
        this.closed = true;
        contactorCallbacks[this.index] = undefined;
      }
    }

    class SimConnectorLock implements ConnectorLock {
      private closed = false;
      private _commanded: 0 | 1 = 0;
      constructor(options: ConnectorLockOptions) {
        self.check();
        if (o.board.tetheredCable) throw new RangeError("a board with a fixed cable has no socket lock");
        this._commanded = world.lockCommand;
        lockCallbacks.push({ inst: this, cb: options.onReadable });
      }
      write(value: 0 | 1): void {
        self.check();
        if (this.closed) throw new Error("closed");
        if (value !== 0 && value !== 1) throw new RangeError(`bad lock value ${String(value)}`);
        world.advance(q.now);
        this._commanded = value;
        const moved = world.setLock(value);
        if (!moved && world.lockJammed) o.observe("lock", { locked: world.lockPosition() === 1, commanded: value === 1, jammed: true });
      }
      read(): 0 | 1 {
        self.check();
        if (this.closed) throw new Error("closed");
        return world.lockPosition();
      }
      get commanded(): 0 | 1 {
        return this._commanded;
      }
      close(): void {
        this.closed = true;
      }
    }

    class SimRcm implements ResidualCurrentMonitor {
      constructor(options: ResidualCurrentMonitorOptions) {
        self.check();
        rcmCallbacks.push({ inst: this, cb: options.onReadable });
      }
      read(): number {
        self.check();
        world.advance(q.now);
        return world.rcmStatus();
      }
      selfTest(): void {
        self.check();
        world.advance(q.now);
        world.rcmSelfTest();
      }
      reset(): void {
        self.check();
        world.advance(q.now);
        world.rcmReset();
      }
      close(): void {}
    }

    class SimInterlock implements Interlock {
      constructor(options: InterlockOptions) {
        self.check();
        interlockCallbacks.push({ inst: this, cb: options.onReadable });
      }
      read(): number {
        self.check();
        return world.interlockTrips;
      }
      get cause(): number {
        return world.lastInterlockCause;
      }
      close(): void {}
    }

    class SimMeter implements Meter {
      private closed = false;
      constructor(_options: MeterOptions) {
        self.check();
      }
      read(into: MeterReading): MeterReading {
        self.check();
        if (this.closed) throw new Error("closed");
        world.advance(q.now);
        world.readMeter(into);
        return into;
      }
      close(): void {
        this.closed = true;
      }
    }

    class SimTemperature implements Temperature {
      private readonly sensor: string;
      constructor(options: TemperatureOptions) {
        self.check();
        if (!o.board.temperatureSensors.includes(options.sensor)) throw new RangeError(`no temperature sensor "${options.sensor}"`);
        this.sensor = options.sensor;
      }
      read(): number {
        self.check();
        world.advance(q.now);
        return world.temperature(this.sensor);
      }
      close(): void {}
    }

    /**
     * The DC power module (hal/dc.ts). Its output contactor is the board's contactor 0 (hal.io.Contactor, with the
     * interlock); enable() runs the converter. onReadable every DC_SAMPLE_MS while there is something to see
     * (enabled, voltage ≥ 1 V or current flowing) and once more when it settles; onError({code: "dc-fault"}) when
     * the module latches a fault.
     */
    interface DcState {
      inst: DcPowerModule;
      closed: boolean;
      enabled: 0 | 1;
      onReadable: DcPowerModuleOptions["onReadable"];
      onError: DcPowerModuleOptions["onError"];
      timerKey: number;
      last: DcSample;
      scratch: DcSample;
    }
    // Per-instance state lives here, not on the instance: the instance shows exactly the HAL shape (the XS bridge
    // describes classes by their own keys).
    const dcStates = new Map<DcPowerModule, DcState>();
    const dcState = (inst: DcPowerModule): DcState => {
      const st = dcStates.get(inst);
      if (st === undefined || st.closed) throw new Error("closed");
      return st;
    };
    const dcSchedule = (st: DcState): void => {
      const key = --self.deviceTimerIds;
      st.timerKey = key;
      self.timers.set(key, q.at(q.now + DC_SAMPLE_MS, () => {
        self.timers.delete(key);
        if (self.dead || st.closed) return;
        dcSample(st);
        dcSchedule(st);
      }));
    };
    const dcSample = (st: DcState): void => {
      world.advance(q.now);
      const s = world.dc!.module.read(st.scratch);
      const l = st.last;
      const active = s.enabled || s.voltage >= 1 || s.current > 0.05;
      const changed = s.enabled !== l.enabled || s.fault !== l.fault || !(Math.abs(s.voltage - l.voltage) < 0.1) || !(Math.abs(s.current - l.current) < 0.1);
      if (!active && !changed) return;
      l.voltage = s.voltage;
      l.current = s.current;
      l.enabled = s.enabled;
      l.fault = s.fault;
      self.deliver(st.inst, st.onReadable);
    };
    const dcReportFault = (code: number): void => {
      if (code === 0) return;
      for (const st of dcStates.values()) {
        if (!st.closed) self.deliver(st.inst, st.onError, { code: "dc-fault", message: `DC power module fault ${code}` });
      }
    };

    /**
     * The DC power module (hal/dc.ts). Its output contactor is the board's contactor 0 (hal.io.Contactor, with the
     * interlock); enable() runs the converter. onReadable every DC_SAMPLE_MS while there is something to see
     * (enabled, voltage ≥ 1 V or current flowing) and once more when it settles; onError({code: "dc-fault"}) when
     * the module latches a fault.
     */
    class SimDcPowerModule implements DcPowerModule {
      readonly limits: DcLimits;
      constructor(options: DcPowerModuleOptions) {
        self.check();
        const dc = world.dc;
        if (dc === null) throw new RangeError("this board has no DC power module");
        const opts = options ?? {};
        this.limits = { ...dc.module.limits };
        const st: DcState = {
          inst: this,
          closed: false,
          enabled: dc.module.enabled ? 1 : 0,
          onReadable: opts.onReadable,
          onError: opts.onError,
          timerKey: 0,
          last: { voltage: NaN, current: NaN, enabled: false, fault: -1 },
          scratch: { voltage: 0, current: 0, enabled: false, fault: 0 },
        };
        dcStates.set(this, st);
        if (st.onReadable) dcSchedule(st);
      }
      write(setpoint: { voltage: number; current: number }): void {
        self.check();
        dcState(this);
        if (setpoint === null || typeof setpoint !== "object") throw new TypeError("setpoint must be { voltage, current }");
        world.advance(q.now);
        world.dcSetpoint(setpoint.voltage, setpoint.current);
      }
      enable(on: 0 | 1): void {
        self.check();
        const st = dcState(this);
        if (on !== 0 && on !== 1) throw new RangeError(`bad DC enable value ${String(on)}`);
        world.advance(q.now);
        world.dcEnable(on);
        if (on !== st.enabled) {
          st.enabled = on;
          o.observe("dc", { enabled: on === 1 });
        }
      }
      read(into: DcSample): DcSample {
        self.check();
        dcState(this);
        world.advance(q.now);
        return world.dc!.module.read(into);
      }
      close(): void {
        const st = dcStates.get(this);
        if (st === undefined || st.closed) return;
        st.closed = true;
        const ev = self.timers.get(st.timerKey);
        if (ev !== undefined) {
          q.cancel(ev);
          self.timers.delete(st.timerKey);
        }
        dcStates.delete(this);
      }
    }

    // The world integrates only when something reads it: wake it when the isolation monitor has a result due, so
    // onReadable comes at the end of the test (and at each later measurement) without the firmware polling.
    let imdWakeKey = 0;
    let imdWakeAt = -1;
    const imdWake = (): void => {
      const at = world.dc!.imd.nextAt;
      if (at < 0 || at === imdWakeAt) return;
      const old = self.timers.get(imdWakeKey);
      if (old !== undefined) {
        q.cancel(old);
        self.timers.delete(imdWakeKey);
      }
      const key = --self.deviceTimerIds;
      imdWakeKey = key;
      imdWakeAt = at;
      self.timers.set(key, q.at(at, () => {
        self.timers.delete(key);
        imdWakeAt = -1;
        if (self.dead) return;
        world.advance(q.now);
        imdWake();
      }));
    };

    /** The isolation monitor (hal/dc.ts): onReadable when a test finishes and when a later measurement changes. */
    class SimIsolationMonitor implements IsolationMonitor {
      private closed = false;
      private readonly entry: { inst: IsolationMonitor; cb: IsolationMonitorOptions["onReadable"] };
      constructor(options: IsolationMonitorOptions) {
        self.check();
        if (world.dc === null) throw new RangeError("this board has no isolation monitor");
        this.entry = { inst: this, cb: (options ?? {}).onReadable };
        imdCallbacks.push(this.entry);
      }
      start(voltage: number): void {
        self.check();
        if (this.closed) throw new Error("closed");
        const max = world.dc!.module.limits.maxVoltage;
        if (typeof voltage !== "number" || !Number.isFinite(voltage) || voltage <= 0 || voltage > max) throw new RangeError(`isolation test voltage must be in (0, ${max}] V, got ${String(voltage)}`);
        world.advance(q.now);
        world.imdStart(voltage);
        o.observe("imd", { start: voltage });
        imdWake();
      }
      stop(): void {
        self.check();
        if (this.closed) throw new Error("closed");
        world.advance(q.now);
        world.imdStop();
      }
      read(into: IsolationSample): IsolationSample {
        self.check();
        if (this.closed) throw new Error("closed");
        world.advance(q.now);
        return world.dc!.imd.read(into);
      }
      close(): void {
        if (this.closed) return;
        this.closed = true;
        const i = imdCallbacks.indexOf(this.entry);
        if (i >= 0) imdCallbacks.splice(i, 1);
      }
    }

    class SimIdReader implements IdReader {
      private closed = false;
      constructor(options: IdReaderOptions) {
        self.check();
        self.readers.push({ inst: this, cb: options.onReadable });
      }
      read(): string | undefined {
        self.check();
        if (this.closed) throw new Error("closed");
        return self.cards.shift();
      }
      close(): void {
        this.closed = true;
        self.readers = self.readers.filter((r) => r.inst !== this);
      }
    }

    const system: System = {
      bootReason: o.bootReason,
      restart(reason: string): void {
        self.check();
        o.onRestart(reason);
      },
      feedWatchdog(): void {
        self.check();
        self.lastFeed = q.now;
      },
      freeMemory(): number {
        return 0;
      },
      ...(o.firmwareSlots ? { firmware: o.firmwareSlots.slot(() => self.check()) } : {}),
    };

    const ringSize = o.logRing ?? 0;
    const log: Log = {
      event(kind: string, fields: LogFields): void {
        if (self.dead) return;
        if (ringSize > 0 && self.logLines.push([q.now, kind, fields]) > ringSize) self.logLines.shift();
        o.log(kind, fields);
      },
    };
    if (ringSize > 0) {
      log.recent = (): string[] => {
        self.check();
        return self.logLines.map(([t, kind, fields]) => JSON.stringify({ t, kind, ...fields }));
      };
    }

    return {
      board: o.board,
      clock,
      timers,
      io: {
        ControlPilot: SimControlPilot,
        Proximity: SimProximity,
        Contactor: SimContactor,
        ResidualCurrentMonitor: SimRcm,
        Interlock: SimInterlock,
        IdReader: SimIdReader,
        Meter: SimMeter,
        Temperature: SimTemperature,
        ...(o.board.tetheredCable ? {} : { ConnectorLock: SimConnectorLock }),
        ...(world.dc !== null ? { DcPowerModule: SimDcPowerModule, IsolationMonitor: SimIsolationMonitor } : {}),
      },
      storage: o.storage,
      crypto: o.crypto,
      network: o.network,
      system,
      log,
    };
  }
}
