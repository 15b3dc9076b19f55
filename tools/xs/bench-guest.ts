/**
 * XS benchmark guest: the firmware AND the simulator's platform-neutral device layer (simulator/core +
 * models) in the same XS engine, on a synchronous virtual-time queue, so a control tick is measured
 * without the bridge. Bundled by tools/xs/bench-xs.ts into dist/xs-bench.js; driven through
 * handleCommand with JSON-over-wire commands:
 *   {op:"start", config, ev?}  build world + HAL, start the firmware
 *   {op:"plug", ev?} / {op:"unplug"}
 *   {op:"run", ms}             run every event for `ms` virtual ms
 *   {op:"toTick"}              run events up to the next control-loop tick (and integrate the physics to it),
 *                              without running the tick itself
 *   {op:"tick"}                run just that tick (firmware + the device calls it makes)
 *   {op:"status"} {op:"gc"} {op:"stats"}
 * The control loop is recognised as the repeating timer whose period is config.controlPeriodMs.
 * Network: offline (every connection is refused after 1 s); crypto: seeded randomBytes only.
 */
import type { Board, BufferLike, Crypto, Flash, Hal, KeyValue, Network } from "../../hal/index.js";
import { DeviceHal, type EventQueue, type Task } from "../../simulator/core/devices.js";
import { World } from "../../simulator/models/world.js";
import { Rng } from "../../simulator/rng.js";
import { SimKeyValue } from "../../simulator/storage/kv.js";
import { decodeMessage, encodeMessage } from "./wire.js";
import type { StartFunction, GuestFirmwareHandle } from "./guest.js";

interface Ev {
  t: number;
  seq: number;
  id: number;
  fn: Task;
}

/** A synchronous event queue that can stop after the event in progress. */
class BenchQueue implements EventQueue {
  private events: Ev[] = [];
  private readonly posted: Task[] = [];
  private readonly cancelled = new Set<number>();
  private seq = 0;
  private ids = 0;
  private _now = 0;
  stopped = false;
  get now(): number {
    return this._now;
  }
  at(t: number, fn: Task): number {
    const id = ++this.ids;
    const e: Ev = { t: t < this._now ? this._now : t, seq: this.seq++, id, fn };
    const ev = this.events;
    let i = ev.length;
    while (i > 0 && (ev[i - 1]!.t > e.t || (ev[i - 1]!.t === e.t && ev[i - 1]!.seq > e.seq))) i--;
    ev.splice(i, 0, e);
    return id;
  }
  cancel(id: number): void {
    this.cancelled.add(id);
  }
  post(fn: Task): void {
    this.posted.push(fn);
  }
  runUntil(until: number): void {
    this.stopped = false;
    while (!this.stopped) {
      const p = this.posted.shift();
      if (p) {
        p();
        continue;
      }
      const next = this.events[0];
      if (!next || next.t > until) break;
      this.events.shift();
      if (this.cancelled.delete(next.id)) continue;
      this._now = next.t;
      next.fn();
    }
    if (!this.stopped && this._now < until) this._now = until;
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
  let q: BenchQueue | null = null;
  let world: World | null = null;
  let device: DeviceHal | null = null;
  let handle: GuestFirmwareHandle | null = null;
  let period = 10;
  let capture = false;
  let pendingTick: (() => unknown) | null = null;
  let ticks = 0;
  let logs = 0;
  let observed = 0;
  const partitions = new Map<string, Uint8Array>();

  function build(config: Record<string, unknown>, seed: number): void {
    const rng = new Rng(seed);
    const queue = new BenchQueue();
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
        queue.at(queue.now + 1000, () => options.onError?.call(self, { code: "ECONNREFUSED", message: `${what}: offline (XS bench)` }));
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
    const network = {
      TCP: refused("TCP"),
      UDP: refused("UDP"),
      WebSocketClient: refused("WebSocket"),
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
      keyValue: { open: (o: { path: string }): KeyValue => kv.open(o) },
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
    handle = start(hal, config) as GuestFirmwareHandle;
  }

  const ops: Record<string, (m: Record<string, unknown>) => unknown> = {
    start(m) {
      build({ freeCharging: true, ...((m.config as Record<string, unknown>) ?? {}) }, (m.seed as number) ?? 1);
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
      t();
      return undefined;
    },
    status() {
      return handle?.status();
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
        interlockTrips: world!.interlockTrips,
        forbiddenCloses: world!.forbiddenCloses,
        contactor: world!.coil(0),
      };
    },
  };

  (globalThis as unknown as { handleCommand: (b: ArrayBuffer) => ArrayBuffer }).handleCommand = (bytes) => {
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
