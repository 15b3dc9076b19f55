/**
 * XS benchmark guest: the firmware AND the simulator's platform-neutral device layer (simulator/core +
 * models) in the same XS engine, on a synchronous virtual-time queue, so a control tick is measured
 * without the bridge. Bundled by tools/xs/bench-xs.ts into dist/xs-bench.js; driven through
 * handleCommand with JSON-over-wire commands:
 *   {op:"start", config, ev?, leakEveryTicks?}  build world + HAL, start the firmware (leakEveryTicks: the
 *                              harness retains one small object every that many control ticks: a deliberate
 *                              leak, so that the alloc test can show its check catches one)
 *   {op:"plug", ev?} / {op:"unplug"}
 *   {op:"run", ms}             run every event for `ms` virtual ms
 *   {op:"toTick"}              run events up to the next control-loop tick (and integrate the physics to it),
 *                              without running the tick itself
 *   {op:"tick"}                run just that tick (firmware + the device calls it makes); replies
 *                              {compute, device, calls}: compute = the tick alone, metered inside XS (the
 *                              command's decode/encode excluded, the bracket's own cost subtracted); with
 *                              `split`, device = the compute spent inside HAL calls and calls = how many
 *   {op:"calibrate", n}        per-call cost of the split wrappers (see below)
 *   {op:"status"} {op:"gc"} {op:"stats"}
 * The control loop is recognised as the repeating timer whose period is config.controlPeriodMs.
 *
 * Split mode ({op:"start", split:true}): every function of the Hal the firmware gets (clock, timers, system,
 * log, every method of every hal.io instance it creates) is wrapped so that the compute spent inside it is
 * counted apart and REWOUND from the engine's meter (xsnap's resetMeter), i.e. the device layer's compute —
 * on the board those are native driver calls — is measured separately from the firmware's own. The wrappers
 * change nothing else, so a split session goes through exactly the same states as a plain one (same seed,
 * same commands): the bench pairs tick i of both.
 * Network: TCP/UDP/MQTT are offline (every connection is refused after 1 s). The OCPP WebSocket follows
 * `net` in the start command: {periodMs, onlineMs} makes the link online during the last onlineMs of every
 * periodMs (connections are refused before, and an open socket is closed by the "CSMS" when a window ends);
 * online, a minimal in-XS CSMS answers every CALL with a schema-valid CALLRESULT after LINK_LATENCY_MS.
 * Without `net` the link is always offline. Crypto: seeded randomBytes only.
 */
import type { Board, BufferLike, Crypto, Flash, Hal, KeyValue, Network } from "../../hal/index.js";
import { DeviceHal } from "../../simulator/core/devices.js";
import { SyncQueue } from "../../simulator/core/sync-queue.js";
import { World } from "../../simulator/models/world.js";
import { Rng } from "../../simulator/rng.js";
import { SimKeyValue } from "../../simulator/storage/kv.js";
import { ChargingCore } from "../../firmware/iec61851/core.js";
import { LimitArbiter } from "../../firmware/control/arbiter.js";
import { ChargingHardware } from "../../firmware/control/hardware.js";
import { ConnectorLockControl } from "../../firmware/control/lock.js";
import { ControlLoop } from "../../firmware/control/loop.js";
import { Session } from "../../firmware/session/session.js";
import { utf8Decode, utf8Encode } from "../../firmware/util/utf8.js";
import { decodeMessage, encodeMessage } from "./wire.js";
import type { StartFunction, GuestFirmwareHandle } from "./guest.js";

interface MeterGlobals {
  /** xsnap: sets the current meter to `index` and returns the previous value. */
  resetMeter?: (limit: number, index: number) => number;
  /** xsnap: the command's metering limit. */
  currentMeterLimit?: () => number;
  gc?: () => void;
}
const G = globalThis as unknown as MeterGlobals;

/** Compute (XS meter units) spent inside wrapped HAL calls, and their number, since the last reset. */
const dev = { compute: 0, calls: 0, limit: 0 };

/** Wraps obj[name] so that its compute is counted in `dev` and rewound from the engine's meter. */
function wrapMeter(obj: Record<string, unknown>, name: string): void {
  const orig = obj[name] as (this: unknown, a?: unknown, b?: unknown, c?: unknown) => unknown;
  if (typeof orig !== "function") return;
  const reset = G.resetMeter!;
  obj[name] = function (this: unknown, a?: unknown, b?: unknown, c?: unknown): unknown {
    const m0 = reset(dev.limit, 0);
    let r: unknown;
    try {
      r = arguments.length > 2 ? orig.call(this, a, b, c) : arguments.length > 1 ? orig.call(this, a, b) : orig.call(this, a);
    } finally {
      dev.compute += reset(dev.limit, m0);
      dev.calls++;
    }
    return r;
  };
}

/** Wraps every method of an instance (own methods first, then its class's; getters are left alone). */
function wrapInstance(inst: object): void {
  const seen = new Set<string>();
  for (let o: object | null = inst; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === "constructor" || seen.has(key)) continue;
      seen.add(key);
      const d = Object.getOwnPropertyDescriptor(o, key)!;
      if (typeof d.value === "function") {
        (inst as Record<string, unknown>)[key] = d.value;
        wrapMeter(inst as Record<string, unknown>, key);
      }
    }
  }
}

/** Wraps the functions of a service object in place (a copy: the device layer's own object is untouched). */
function wrapService<T extends object>(svc: T): T {
  const copy = Object.create(Object.getPrototypeOf(svc) as object | null, Object.getOwnPropertyDescriptors(svc)) as Record<string, unknown>;
  for (const key of Object.keys(copy)) {
    const d = Object.getOwnPropertyDescriptor(copy, key)!;
    if (typeof d.value === "function") wrapMeter(copy, key);
  }
  return copy as T;
}

/** Exclusive compute per profiled function (profile mode), by "Class.method". */
const profile = new Map<string, { compute: number; calls: number }>();

/**
 * Profile mode: wraps methods and getters of the firmware's tick-path classes (on their prototypes, so this
 * engine's instances only) so that each one's EXCLUSIVE compute is counted (a wrapped callee's compute is
 * rewound from its caller's meter). xsnap has no profiler; this is one.
 */
function profileClasses(): void {
  const reset = G.resetMeter!;
  const classes: Array<[string, { prototype: object }]> = [
    ["ControlLoop", ControlLoop],
    ["ChargingCore", ChargingCore],
    ["LimitArbiter", LimitArbiter],
    ["ChargingHardware", ChargingHardware],
    ["Session", Session],
    ["ConnectorLockControl", ConnectorLockControl],
  ];
  const wrap = (label: string, orig: (...a: unknown[]) => unknown) => {
    const rec = { compute: 0, calls: 0 };
    profile.set(label, rec);
    return function (this: unknown, ...args: unknown[]): unknown {
      const m0 = reset(dev.limit, 0);
      try {
        return orig.apply(this, args);
      } finally {
        rec.compute += reset(dev.limit, m0);
        rec.calls++;
      }
    };
  };
  for (const [name, C] of classes) {
    const proto = C.prototype;
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      if (typeof d.value === "function") d.value = wrap(`${name}.${key}`, d.value as (...a: unknown[]) => unknown);
      else if (d.get) d.get = wrap(`${name}.get ${key}`, d.get as (...a: unknown[]) => unknown) as () => unknown;
      else continue;
      Object.defineProperty(proto, key, d);
    }
  }
}

/** Runs fn and returns the compute it took, metered inside XS (minus the bracket's own cost, see `bracketCost`). */
function metered(fn: () => unknown): number {
  const reset = G.resetMeter!;
  const m0 = reset(dev.limit, 0);
  fn();
  const spent = reset(dev.limit, m0);
  return spent;
}

/** One-way latency of the bench's CSMS link, ms. */
const LINK_LATENCY_MS = 20;

/** The online/offline schedule of the bench's OCPP link. */
interface NetSchedule {
  periodMs: number;
  onlineMs: number;
}

/** CALLRESULT payloads of the in-XS CSMS (OCPP 1.6, schema-valid; transaction ids count up). */
function csmsResult(action: string, wallMs: number, txId: () => number): Record<string, unknown> {
  switch (action) {
    case "BootNotification":
      return { status: "Accepted", currentTime: new Date(wallMs).toISOString(), interval: 100 };
    case "Heartbeat":
      return { currentTime: new Date(wallMs).toISOString() };
    case "Authorize":
      return { idTagInfo: { status: "Accepted" } };
    case "StartTransaction":
      return { idTagInfo: { status: "Accepted" }, transactionId: txId() };
    case "DataTransfer":
      return { status: "Accepted" };
    default:
      return {}; // StatusNotification, MeterValues, StopTransaction, *StatusNotification
  }
}

const BOARD: Board = {
  model: "SimWallbox-22",
  vendor: "Sim",
  serialNumber: "XS-BENCH-0001",
  phases: 3,
  contactors: 1,
  ratedCurrent: 32,
  nominalVoltage: 230,
  temperatureSensors: ["connector", "relay", "board"],
  tetheredCable: false,
};

class MemoryFlash implements Flash {
  constructor(private readonly bytes: Uint8Array, private readonly blockLength: number) {}
  read(byteLength: number, byteOffset: number): ArrayBuffer {
    if (!(byteOffset >= 0 && byteLength >= 0 && byteOffset + byteLength <= this.bytes.length)) throw new RangeError("flash: out of range");
    return this.bytes.slice(byteOffset, byteOffset + byteLength).buffer;
  }
  write(buffer: BufferLike, byteOffset: number): void {
    const src = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (!(byteOffset >= 0 && byteOffset + src.length <= this.bytes.length)) throw new RangeError("flash: out of range");
    for (let i = 0; i < src.length; i++) this.bytes[byteOffset + i]! &= src[i]!;
  }
  eraseBlock(first: number, last = first): void {
    const n = this.bytes.length / this.blockLength;
    if (!(first >= 0 && last >= first && last < n)) throw new RangeError("flash: bad block");
    this.bytes.fill(0xff, first * this.blockLength, (last + 1) * this.blockLength);
  }
  status() {
    return { size: this.bytes.length, blockLength: this.blockLength };
  }
  close(): void {}
}

export function installGuest(start: StartFunction): void {
  let q: SyncQueue | null = null;
  let world: World | null = null;
  let device: DeviceHal | null = null;
  let handle: GuestFirmwareHandle | null = null;
  let period = 10;
  let capture = false;
  let pendingTick: (() => unknown) | null = null;
  let ticks = 0;
  /** set() calls on the "meter" key-value namespace: the energy registers' commits (firmware/metering/energy.ts). */
  let meterSets = 0;
  /** Leak injection (start {leakEveryTicks}): the alloc test's proof that its check sees a leak. */
  let leakEveryTicks = 0;
  const leaked: object[] = [];
  let logs = 0;
  let observed = 0;
  /** CALLs the in-XS CSMS answered. */
  let csmsCalls = 0;
  /** Connection attempts in flight (neither refused nor open yet): their objects are live but transient. */
  let connecting = 0;
  const partitions = new Map<string, Uint8Array>();
  /** metered()'s own cost (its bracket around an empty function), subtracted from every metered figure. */
  let bracket = -1;

  function build(config: Record<string, unknown>, seed: number, split: boolean, net: NetSchedule | null): void {
    const rng = new Rng(seed);
    const queue = new SyncQueue();
    q = queue;
    world = new World({}, rng.fork("world"));
    const kv = new SimKeyValue({});
    const cryptoRng = rng.fork("crypto");
    const crypto: Crypto = {
      sha256() {
        throw new Error("sha256 is not available in the XS bench");
      },
      sign() {
        throw new Error("sign is not available in the XS bench");
      },
      publicKey() {
        throw new Error("publicKey is not available in the XS bench");
      },
      verify() {
        return false;
      },
      randomBytes(n: number) {
        return cryptoRng.bytes(n).buffer as ArrayBuffer;
      },
    };
    const refused = (what: string) =>
      function (this: unknown, options: { onError?: (this: unknown, e: { code: string; message: string }) => void }) {
        const self = this;
        connecting++;
        queue.at(queue.now + 1000, () => {
          connecting--;
          options.onError?.call(self, { code: "ECONNREFUSED", message: `${what}: offline (XS bench)` });
        });
        Object.assign(self as object, {
          read() {
            throw new Error("not connected");
          },
          write() {
            throw new Error("not connected");
          },
          ping() {},
          subscribe() {},
          unsubscribe() {},
          close() {},
          protocol: "",
        });
      };
    const online = (): boolean => net !== null && queue.now % net.periodMs >= net.periodMs - net.onlineMs;
    const open = new Set<{ end(): void }>();
    if (net) {
      // At the end of every online window the CSMS side closes the open sockets.
      const period = net.periodMs;
      const closeAll = (): void => {
        for (const c of [...open]) c.end();
        queue.at(queue.now + period, closeAll);
      };
      queue.at(period, closeAll);
    }
    const refusedWs = refused("WebSocket");
    let txIds = 0;
    /** A WebSocket to the in-XS CSMS (or refused while offline). */
    function BenchWebSocket(this: Record<string, unknown>, options: Record<string, unknown> & { protocols?: string[] }): void {
      if (!online()) {
        (refusedWs as (this: unknown, o: unknown) => void).call(this, options);
        return;
      }
      const self = this;
      const on = (name: string, ...args: unknown[]): void => {
        const cb = options[name] as ((...a: unknown[]) => void) | undefined;
        if (!closed && cb) cb.apply(self, args);
      };
      let closed = false;
      let pending: ArrayBuffer | null = null;
      const link = {
        end(): void {
          on("onClose", 1001, "bench: link offline");
          close();
        },
      };
      const close = (): void => {
        closed = true;
        open.delete(link);
      };
      open.add(link);
      const deliver = (text: string): void => {
        queue.at(queue.now + LINK_LATENCY_MS, () => {
          if (closed) return;
          const bytes = utf8Encode(text);
          pending = bytes.buffer.byteLength === bytes.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
          on("onReadable", bytes.byteLength, { binary: false });
        });
      };
      Object.assign(self, {
        protocol: options.protocols?.[0] ?? "",
        read(): ArrayBuffer {
          const p = pending;
          if (!p) throw new Error("no message pending");
          pending = null;
          return p;
        },
        write(data: ArrayBuffer | ArrayBufferView): void {
          if (closed) throw new Error("closed");
          const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          const frame = JSON.parse(utf8Decode(bytes)) as unknown[];
          // A CALL from the charge point gets its CALLRESULT; its answers to our (no) CALLs are ignored.
          if (frame[0] === 2) csmsCalls++;
          if (frame[0] === 2) deliver(JSON.stringify([3, frame[1], csmsResult(String(frame[2]), 1_700_000_000_000 + queue.now, () => ++txIds)]));
        },
        ping(): void {
          if (closed) throw new Error("closed");
          queue.at(queue.now + 2 * LINK_LATENCY_MS, () => on("onPong"));
        },
        close,
      });
      connecting++;
      queue.at(queue.now + 2 * LINK_LATENCY_MS, () => {
        connecting--;
        on("onWritable", 65536);
      });
    }
    const network = {
      TCP: refused("TCP"),
      UDP: refused("UDP"),
      WebSocketClient: BenchWebSocket,
      MQTTClient: refused("MQTT"),
    } as unknown as Network;
    const storage = {
      flash: {
        open({ path }: { path: string }): Flash {
          let p = partitions.get(path);
          if (!p) partitions.set(path, (p = new Uint8Array(64 * 1024).fill(0xff)));
          return new MemoryFlash(p, 4096);
        },
      },
      keyValue: {
        open(o: { path: string }): KeyValue {
          const store = kv.open(o);
          if (o.path !== "meter") return store;
          // Counts the energy commits (the wrapper is made once, at open: nothing allocated per set).
          const set = store.set;
          store.set = function (key: string, value: string): void {
            set.call(store, key, value);
            meterSets++;
          };
          return store;
        },
      },
    };
    device = new DeviceHal({
      queue,
      world,
      board: BOARD,
      storage,
      crypto,
      network,
      rtcAtZero: 1_700_000_000_000,
      bootReason: "power-on",
      log: () => {
        logs++;
      },
      observe: () => {
        observed++;
      },
      onRestart: () => {},
      watchdogMs: 0,
    });
    const dh = device.hal;
    period = typeof config.controlPeriodMs === "number" ? config.controlPeriodMs : 10;
    const hal: Hal = {
      ...dh,
      timers: {
        set(callback, delay, repeat) {
          const isLoop = repeat === period;
          const cb = isLoop
            ? (id: number): unknown => {
                ticks++;
                if (leakEveryTicks > 0 && ticks % leakEveryTicks === 0) leaked.push({ ticks });
                if (capture) {
                  pendingTick = () => callback(id);
                  queue.stopped = true;
                  return undefined;
                }
                return callback(id);
              }
            : callback;
          return arguments.length > 2 ? dh.timers.set(cb, delay, repeat) : dh.timers.set(cb, delay);
        },
        clear: (id) => dh.timers.clear(id),
      },
    };
    handle = start(split ? splitHal(hal) : hal, config) as GuestFirmwareHandle;
  }

  /** The Hal with every function metered apart (see the header). */
  function splitHal(hal: Hal): Hal {
    if (typeof G.resetMeter !== "function") throw new Error("bench: split mode needs xsnap's resetMeter");
    const io: Record<string, unknown> = {};
    for (const [name, C] of Object.entries(hal.io as unknown as Record<string, new (o: unknown) => object>)) {
      io[name] = function (options: unknown): object {
        const inst = new C(options);
        wrapInstance(inst);
        return inst;
      };
    }
    return {
      ...hal,
      clock: wrapService(hal.clock),
      timers: wrapService(hal.timers),
      system: wrapService(hal.system),
      log: wrapService(hal.log),
      io: io as unknown as Hal["io"],
    };
  }

  const ops: Record<string, (m: Record<string, unknown>) => unknown> = {
    start(m) {
      if (m.profile === true) profileClasses();
      const net = m.net as NetSchedule | undefined;
      if (net !== undefined && !(net.periodMs > 0 && net.onlineMs >= 0 && net.onlineMs <= net.periodMs)) throw new RangeError("bench: bad net schedule");
      leakEveryTicks = typeof m.leakEveryTicks === "number" ? m.leakEveryTicks : 0;
      build({ freeCharging: true, ...((m.config as Record<string, unknown>) ?? {}) }, (m.seed as number) ?? 1, m.split === true, net ?? null);
      return undefined;
    },
    plug(m) {
      world!.advance(q!.now);
      world!.plug((m.ev as Record<string, unknown>) ?? {});
      return undefined;
    },
    unplug() {
      world!.advance(q!.now);
      world!.unplug();
      return undefined;
    },
    run(m) {
      q!.runUntil(q!.now + (m.ms as number));
      if (m.gc) (globalThis as { gc?: () => void }).gc?.();
      return q!.now;
    },
    toTick() {
      capture = true;
      pendingTick = null;
      q!.runUntil(q!.now + 10 * period);
      capture = false;
      if (!pendingTick) throw new Error("no control tick within 10 periods");
      world!.advance(q!.now);
      return q!.now;
    },
    tick() {
      const t = pendingTick;
      pendingTick = null;
      if (!t) throw new Error("toTick first");
      dev.compute = 0;
      dev.calls = 0;
      const compute = metered(t) - bracket;
      return { compute, device: dev.compute, calls: dev.calls };
    },
    /**
     * What the split wrappers themselves cost per call, measured on a method that does nothing:
     * device = compute the wrapper counts as the device's (its call, the host's resetMeter), firmware = what it
     * leaves on the caller's meter beyond a direct call. Subtract calls x these from the split rows.
     */
    calibrate(m) {
      const n = (m.n as number) ?? 1000;
      const plain = { f(_a?: unknown): number { return 0; } };
      const wrapped = { f(_a?: unknown): number { return 0; } };
      wrapMeter(wrapped as unknown as Record<string, unknown>, "f");
      const arg = {};
      const direct = metered(() => {
        for (let i = 0; i < n; i++) plain.f(arg);
      });
      dev.compute = 0;
      dev.calls = 0;
      const viaWrapper = metered(() => {
        for (let i = 0; i < n; i++) wrapped.f(arg);
      });
      return { device: dev.compute / n, firmware: (viaWrapper - direct) / n, bracket };
    },
    status() {
      return handle?.status();
    },
    /** The profile so far (exclusive compute and calls per function), and resets it. */
    profile() {
      const out: Record<string, { compute: number; calls: number }> = {};
      for (const [k, v] of profile) {
        if (v.calls > 0) out[k] = { compute: v.compute, calls: v.calls };
        v.compute = 0;
        v.calls = 0;
      }
      return out;
    },
    gc() {
      (globalThis as { gc?: () => void }).gc?.();
      return undefined;
    },
    stats() {
      return {
        now: q!.now,
        ticks,
        logs,
        observed,
        csmsCalls,
        connecting,
        meterSets,
        interlockTrips: world!.interlockTrips,
        forbiddenCloses: world!.forbiddenCloses,
        contactor: world!.coil(0),
      };
    },
  };

  (globalThis as unknown as { handleCommand: (b: ArrayBuffer) => ArrayBuffer }).handleCommand = (bytes) => {
    if (G.currentMeterLimit) dev.limit = G.currentMeterLimit();
    if (bracket < 0 && G.resetMeter) bracket = metered(() => undefined);
    let reply: unknown;
    try {
      const msg = decodeMessage(bytes) as Record<string, unknown>;
      const fn = ops[msg.op as string];
      if (!fn) throw new Error(`bench: unknown op ${String(msg.op)}`);
      reply = { r: fn(msg) };
    } catch (e) {
      const err = e as Error;
      reply = { x: { name: String(err?.name ?? "Error"), message: String(err?.message ?? e) } };
    }
    const out = encodeMessage(reply);
    return out.buffer.byteLength === out.byteLength ? (out.buffer as ArrayBuffer) : (out.slice().buffer as ArrayBuffer);
  };
}
