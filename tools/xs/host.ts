/**
 * The Node side of the XS bridge: runs the firmware bundle (dist/xs-guest.js) in a real XS engine
 * (@agoric/xsnap worker) and serves its HAL calls from the simulator's HAL.
 *
 * Must run in a process where SES is already locked down (`import "@endo/init"` first), i.e. the child
 * process tools/xs/run.ts or a test child — never an ava worker.
 *
 *  - XS → host: the guest's synchronous issueCommand lands in xsnap's handleCommand here; it is served at
 *    once from an id → instance table over the attached Node HAL (see the protocol in guest.ts).
 *  - host → XS: every callback option and timer is replaced by a Node function that sends {op:"cb"} /
 *    {op:"timer"} through worker.issueCommand and RETURNS that promise, so the simulator's scheduler waits
 *    for the firmware to finish before the next event, as on the device.
 *  - meters: each host → XS command reports XS's deterministic `compute` and `currentHeapCount`.
 * One worker per boot: a power cut or reboot closes the worker; the next boot launches a fresh one.
 *
 * Closed instances (see guest.ts): the host marks an instance ended when the firmware's close() returned or when it
 * forwards a terminal callback (TERMINAL: a stream client's onError / onClose, after which the HAL contract sends
 * nothing more; that callback carries `end: 1` so the guest releases the instance's callbacks once it has run).
 * A callback for an ended or released instance is dropped here (meters.droppedCallbacks; the simulator's HAL posts
 * none after close(), so the Node run has none either). The table entry itself stays while XS may still hold the
 * stand-in (a call after close must reach the HAL and throw its own error, as on Node): it goes when the guest
 * reports the stand-in collected (`rel: [ids]` on a request or a reply).
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import { type as osType } from "node:os";
import { xsnap } from "@agoric/xsnap";
import type { Hal } from "../../hal/index.js";
import type { Descriptor, HalShape } from "./guest.js";
import { DeadHalError } from "../../simulator/core/devices.js";
import { PowerCutError } from "../../simulator/storage/power.js";
import { bytesOf, decodeMessage, encodeMessage, isPlain, makeError, type Json, type WireHooks } from "./wire.js";

/**
 * Simulator error classes that cross XS and come back: rebuilt as the same class on the host, so the
 * simulator's `instanceof DeadHalError` / `instanceof PowerCutError` checks behave as on Node.
 */
const HOST_ERRORS: Record<string, new (message?: string) => Error> = {
  DeadHalError: DeadHalError as unknown as new (message?: string) => Error,
  PowerCutError,
};

function hostError(x: { [key: string]: Json }): Error {
  const C = typeof x.name === "string" ? HOST_ERRORS[x.name] : undefined;
  if (C) {
    const e = new C(typeof x.message === "string" ? x.message : undefined);
    if (typeof x.message === "string") e.message = x.message;
    return e;
  }
  return makeError(x);
}

type Worker = Awaited<ReturnType<typeof xsnap>>;

export interface MeterUsage {
  compute: number;
  currentHeapCount: number;
}

export interface MeterStat {
  count: number;
  compute: number;
  computeMax: number;
}

export interface XsMeters {
  /** host → XS commands (evaluate, start, callbacks, timers) run so far. */
  commands: number;
  /** Sum and max of `compute` over all commands. */
  compute: number;
  computeMax: number;
  /** currentHeapCount after the last command, and its maximum. */
  heapCount: number;
  heapMax: number;
  /** XS → host HAL requests served. */
  halRequests: number;
  /** Callbacks the Node HAL invoked while an XS → host request was being served (re-entrant: should be 0). */
  reentrantCallbacks: number;
  /** Callbacks the Node HAL invoked for an instance closed, ended or released (dropped; should be 0). */
  droppedCallbacks: number;
  /** Instances whose table entry was dropped because XS collected their stand-in. */
  released: number;
  /** Per kind of command ("eval", "start", "cb:ControlPilot.onReadable", "timer", ...). */
  byKind: Record<string, MeterStat>;
  /** The last `historyLimit` commands with their meters. */
  history: Array<{ kind: string } & MeterUsage>;
}

export interface XsLaunchOptions {
  /** Path of the guest bundle (dist/xs-guest.js). */
  bundle: string;
  /** Worker name (shows in xsnap's errors). */
  name?: string;
  /** Per-command compute limit (xsnap's meteringLimit). Default 1e8. */
  meteringLimit?: number;
  /** Forward XS's print() / stderr to this process. Default "inherit". */
  stdout?: "ignore" | "inherit";
  stderr?: "ignore" | "inherit";
  /** Keep the last N commands in meters.history. Default 10,000. */
  historyLimit?: number;
}

/** w: buffer arguments the host filled in place, [index, bytes] (see guest.ts); rel: stand-ins XS collected. */
type Reply = { r?: unknown; x?: { [key: string]: Json }; a?: number; w?: Array<[number, Uint8Array]>; rel?: unknown };

/**
 * Terminal callbacks by class (hal/network.ts: for every stream client onError means the instance is dead, onClose
 * that the peer closed): after one of them the instance sends nothing more.
 */
const TERMINAL: Record<string, readonly string[]> = {
  "network.TCP": ["onError"],
  "network.WebSocketClient": ["onError", "onClose"],
  "network.MQTTClient": ["onError", "onClose"],
};

const xsFs = { ...fsp, createReadStream };

function describe(obj: object): Descriptor {
  const methods = new Set<string>();
  const props = new Set<string>();
  for (let o: object | null = obj; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Reflect.ownKeys(o)) {
      if (typeof key !== "string" || key === "constructor") continue;
      if (methods.has(key) || props.has(key)) continue;
      const d = Reflect.getOwnPropertyDescriptor(o, key)!;
      if (typeof d.value === "function") methods.add(key);
      else props.add(key);
    }
  }
  return { methods: [...methods], props: [...props] };
}

function hasFunctions(obj: object): boolean {
  for (const key of Object.keys(obj)) {
    const d = Reflect.getOwnPropertyDescriptor(obj, key);
    if (d && (typeof d.value === "function" || d.get)) return true;
  }
  return false;
}

export class XsFirmware {
  readonly meters: XsMeters = {
    commands: 0,
    compute: 0,
    computeMax: 0,
    heapCount: 0,
    heapMax: 0,
    halRequests: 0,
    reentrantCallbacks: 0,
    droppedCallbacks: 0,
    released: 0,
    byKind: {},
    history: [],
  };
  private hal: Hal | null = null;
  private services = new Map<string, object>();
  private readonly table = new Map<number, object>();
  private readonly idOf = new Map<object, number>();
  private readonly keyOfProto = new Map<object, string>();
  private readonly keyOfId = new Map<number, string>();
  private readonly described = new Set<string>();
  /** Instances closed by the firmware or ended by a terminal callback: their callbacks are dropped. */
  private readonly ended = new Set<number>();
  private nextId = 1;
  private serving = 0;
  private closed = false;
  private readonly historyLimit: number;
  private readonly hooks: WireHooks;

  private constructor(private readonly worker: Worker, historyLimit: number) {
    this.historyLimit = historyLimit;
    this.hooks = {
      ref: (value: object): Json | undefined => {
        let id = this.idOf.get(value);
        if (id === undefined) {
          // Plain data crosses as a copy; a frozen plain object is a handle the HAL wants back by identity
          // (Listener.read()'s accepted socket for `new TCP({from})`): it crosses as a reference (see guest.ts).
          if (isPlain(value) && !hasFunctions(value) && !Object.isFrozen(value)) return undefined;
          id = this.register(value, this.keyFor(value));
        }
        return this.tag(id);
      },
      deref: (tag): unknown => {
        const id = tag.$r;
        const obj = typeof id === "string" ? this.services.get(id) : this.table.get(id as number);
        if (!obj) throw new ReferenceError(`bridge: unknown instance ${String(id)}`);
        return obj;
      },
    };
  }

  /** Spawns an XS worker and evaluates the guest bundle in it. */
  static async launch(options: XsLaunchOptions): Promise<XsFirmware> {
    const code = await fsp.readFile(options.bundle, "utf8");
    let self: XsFirmware | null = null;
    const worker = await xsnap({
      os: osType(),
      spawn,
      fs: xsFs as never,
      name: options.name ?? "xs-firmware",
      meteringLimit: options.meteringLimit ?? 1e8,
      stdout: options.stdout ?? "inherit",
      stderr: options.stderr ?? "inherit",
      handleCommand: async (request: Uint8Array): Promise<Uint8Array> => self!.serve(request),
    });
    self = new XsFirmware(worker, options.historyLimit ?? 10_000);
    await self.evaluate(code, "eval");
    return self;
  }

  /** The Node-side HAL of the current boot (recorded or not) that the firmware's requests are served from. */
  attach(hal: Hal): void {
    this.hal = hal;
    const entries: Array<[string, object | undefined]> = [
      ["clock", hal.clock],
      ["timers", hal.timers],
      ["crypto", hal.crypto],
      ["log", hal.log],
      ["system", hal.system],
      ["storage.flash", hal.storage?.flash],
      ["storage.keyValue", hal.storage?.keyValue],
    ];
    this.services = new Map(entries.filter((e): e is [string, object] => e[1] !== undefined));
  }

  /** Calls the firmware's start(hal, config) inside XS. */
  async start(config: Record<string, unknown> = {}): Promise<void> {
    if (!this.hal) throw new Error("XsFirmware.start: attach(hal) first");
    await this.command({ op: "start", config }, "start");
  }

  /** The firmware handle's status() (as data). */
  status(): Promise<unknown> {
    return this.command({ op: "status" }, "status");
  }

  /** The firmware handle's stop(). */
  stop(): Promise<unknown> {
    return this.command({ op: "stop" }, "stop");
  }

  /** Runs XS's garbage collector (so currentHeapCount counts live slots only). */
  gc(): Promise<MeterUsage> {
    return this.commandMeters({ op: "gc" }, "gc");
  }

  /** Sends any guest command (the extra ops a bundle installs); resolves with its result. */
  command(message: Record<string, unknown>, kind = String(message.op)): Promise<unknown> {
    return this.send(message, kind).then((r) => r.value);
  }

  /** Like command() but resolves with the command's meters. */
  commandMeters(message: Record<string, unknown>, kind = String(message.op)): Promise<MeterUsage & { value: unknown }> {
    return this.send(message, kind);
  }

  /** Evaluates a script in the worker; resolves with its meters. */
  async evaluate(code: string, kind = "eval"): Promise<MeterUsage> {
    const { meterUsage } = await this.worker.evaluate(code);
    return this.meter(kind, meterUsage);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.worker.close();
    } catch {
      await this.worker.terminate();
    }
  }

  /** Kills the worker at once (a power cut). */
  async terminate(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The host's instance table: entries (XS may still hold their stand-ins) and how many of them are ended. */
  get tableSize(): { instances: number; ended: number } {
    return { instances: this.table.size, ended: this.ended.size };
  }

  // ---- host → XS ----

  private async send(message: unknown, kind: string): Promise<MeterUsage & { value: unknown }> {
    if (this.closed) throw new Error("XsFirmware: worker closed");
    const { reply, meterUsage } = await this.worker.issueCommand(encodeMessage(message, this.hooks));
    const m = this.meter(kind, meterUsage);
    const rep = decodeMessage(reply, this.hooks) as Reply;
    if (rep.rel !== undefined) this.release(rep.rel);
    if (rep.x) throw hostError(rep.x);
    return { ...m, value: rep.r };
  }

  private meter(kind: string, usage: { compute: number | null; currentHeapCount: number | null }): MeterUsage {
    const compute = usage.compute ?? 0;
    const currentHeapCount = usage.currentHeapCount ?? 0;
    const m = this.meters;
    m.commands++;
    m.compute += compute;
    if (compute > m.computeMax) m.computeMax = compute;
    m.heapCount = currentHeapCount;
    if (currentHeapCount > m.heapMax) m.heapMax = currentHeapCount;
    const s = (m.byKind[kind] ??= { count: 0, compute: 0, computeMax: 0 });
    s.count++;
    s.compute += compute;
    if (compute > s.computeMax) s.computeMax = compute;
    if (this.historyLimit > 0) {
      if (m.history.length >= this.historyLimit) m.history.shift();
      m.history.push({ kind, compute, currentHeapCount });
    }
    return { compute, currentHeapCount };
  }

  private forwarder(message: { op: "cb"; id: number; name: string; end?: 1 }, kind: string): (...args: unknown[]) => Promise<unknown> {
    const id = message.id;
    return (...args: unknown[]): Promise<unknown> => {
      if (this.serving > 0) this.meters.reentrantCallbacks++;
      if (this.closed) return Promise.resolve(undefined); // the VM is gone (power cut): nobody to call
      if (this.ended.has(id) || !this.table.has(id)) {
        // Closed, ended or released: the guest no longer holds its callbacks (see the header).
        this.meters.droppedCallbacks++;
        return Promise.resolve(undefined);
      }
      if (message.end === 1) this.ended.add(id);
      return this.command({ ...message, args }, kind);
    };
  }

  /** Forgets the instances whose stand-ins XS collected (`rel` from the guest). */
  private release(rel: unknown): void {
    if (!Array.isArray(rel)) return;
    for (const id of rel) {
      if (typeof id !== "number") continue;
      const obj = this.table.get(id);
      if (obj === undefined) continue;
      this.table.delete(id);
      this.idOf.delete(obj);
      this.keyOfId.delete(id);
      this.ended.delete(id);
      this.meters.released++;
    }
  }

  // ---- XS → host ----

  private serve(request: Uint8Array): Uint8Array {
    this.serving++;
    this.meters.halRequests++;
    let reply: Reply;
    try {
      const msg = decodeMessage(request, this.hooks) as Record<string, unknown>;
      if (msg.rel !== undefined) this.release(msg.rel);
      reply = this.dispatch(msg);
    } catch (e) {
      reply = { x: errorInfo(e) };
    } finally {
      this.serving--;
    }
    try {
      return encodeMessage(reply, this.hooks);
    } catch (e) {
      return encodeMessage({ x: errorInfo(e) });
    }
  }

  private dispatch(msg: Record<string, unknown>): Reply {
    const hal = this.hal;
    if (!hal) throw new Error("bridge: no HAL attached");
    switch (msg.op) {
      case "hal": {
        const services: Record<string, Descriptor> = {};
        for (const [name, obj] of this.services) services[name] = describe(obj);
        const shape: HalShape = {
          board: hal.board as unknown as Json,
          services,
          io: Object.keys(hal.io),
          network: Object.keys(hal.network),
        };
        return { r: shape };
      }
      case "new": {
        const cls = msg.cls as string;
        const dot = cls.indexOf(".");
        const group = cls.slice(0, dot);
        const name = cls.slice(dot + 1);
        const ns = (group === "io" ? hal.io : group === "network" ? hal.network : undefined) as
          | Record<string, new (options: unknown) => object>
          | undefined;
        const Ctor = ns && Object.prototype.hasOwnProperty.call(ns, name) ? ns[name] : undefined;
        if (!Ctor) throw new TypeError(`bridge: no HAL class ${cls}`);
        const id = this.nextId++;
        let options = msg.opts as Record<string, unknown> | undefined;
        const cbs = (msg.cbs as string[]) ?? [];
        if (cbs.length) {
          options = { ...(options ?? {}) };
          const terminal = TERMINAL[cls] ?? [];
          for (const cb of cbs) {
            options[cb] = this.forwarder(terminal.includes(cb) ? { op: "cb", id, name: cb, end: 1 } : { op: "cb", id, name: cb }, `cb:${name}.${cb}`);
          }
        }
        const instance = new Ctor(options);
        this.register(instance, cls, id);
        return { r: instance };
      }
      case "call": {
        const target = this.target(msg.id);
        const m = msg.m as string;
        const fn = (target as Record<string, unknown>)[m];
        if (typeof fn !== "function") throw new TypeError(`bridge: ${m} is not a method`);
        const args = (msg.a as unknown[]) ?? [];
        // Buffers the method may fill in place (SPI.transfer/read): their bytes as received, to compare after.
        const sent = snapshotBuffers(args);
        let ret: unknown;
        try {
          ret = (fn as (...a: unknown[]) => unknown).apply(target, args);
        } catch (e) {
          const w = sent && changedBuffers(args, sent);
          if (w) return { x: errorInfo(e), w };
          throw e;
        }
        // Closed by the firmware: the guest forgets its callbacks; any later one is dropped here.
        if (m === "close" && typeof msg.id === "number") this.ended.add(msg.id);
        const w = sent && changedBuffers(args, sent);
        if (ret !== null && typeof ret === "object") {
          const i = args.indexOf(ret);
          // A buffer returned as itself: its bytes travel in `w` (if changed), the guest returns its own buffer.
          if (i >= 0) return isBuffer(ret) ? (w ? { a: i, w } : { a: i }) : w ? { a: i, r: ret, w } : { a: i, r: ret };
        }
        return w ? { r: ret, w } : { r: ret };
      }
      case "get": {
        const target = this.target(msg.id);
        return { r: (target as Record<string, unknown>)[msg.p as string] };
      }
      case "timer.set": {
        const a = (msg.a as unknown[]) ?? [];
        const fire = (id: unknown): Promise<unknown> => {
          if (this.serving > 0) this.meters.reentrantCallbacks++;
          if (this.closed) return Promise.resolve(undefined);
          return this.command({ op: "timer", id }, "timer");
        };
        const set = hal.timers.set as (...args: unknown[]) => number;
        return { r: set.call(hal.timers, fire, ...a) };
      }
      default:
        throw new Error(`bridge: unknown op ${String(msg.op)}`);
    }
  }

  private target(id: unknown): object {
    const obj = typeof id === "string" ? this.services.get(id) : this.table.get(id as number);
    if (!obj) throw new ReferenceError(`bridge: unknown instance ${String(id)}`);
    return obj;
  }

  private keyFor(obj: object): string {
    const proto = Object.getPrototypeOf(obj) as object | null;
    if (!proto || proto === Object.prototype) {
      // A plain handle (Listener.read()'s accepted socket): keyed by its shape, so every accepted connection shares
      // one descriptor and one guest prototype (keyed per object, the guest's prototype table grew per connection).
      const d = describe(obj);
      return `plain:${d.methods.join(",")}|${d.props.join(",")}`;
    }
    let key = this.keyOfProto.get(proto);
    if (!key) {
      key = `proto${this.keyOfProto.size + 1}`;
      this.keyOfProto.set(proto, key);
    }
    return key;
  }

  private register(obj: object, key: string, id = this.nextId++): number {
    this.table.set(id, obj);
    this.idOf.set(obj, id);
    this.keyOfId.set(id, key);
    return id;
  }

  /** The wire tag of a registered instance; the first one of each class carries the class's descriptor. */
  private tag(id: number): Json {
    const key = this.keyOfId.get(id)!;
    const tag: { [k: string]: Json } = { $r: id, c: key };
    if (!this.described.has(key)) {
      this.described.add(key);
      tag.d = describe(this.table.get(id)!) as unknown as Json;
    }
    return tag;
  }
}

function isBuffer(v: unknown): v is ArrayBuffer | ArrayBufferView {
  return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** Copies of the bytes of the buffer arguments (null when there is none: the common case costs nothing). */
function snapshotBuffers(args: unknown[]): Array<Uint8Array | null> | null {
  let out: Array<Uint8Array | null> | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!isBuffer(a)) continue;
    out ??= new Array<Uint8Array | null>(args.length).fill(null);
    out[i] = bytesOf(a).slice();
  }
  return out;
}

/** [index, bytes now] for every buffer argument whose bytes differ from the snapshot; null when none changed. */
function changedBuffers(args: unknown[], sent: Array<Uint8Array | null>): Array<[number, Uint8Array]> | null {
  let out: Array<[number, Uint8Array]> | null = null;
  for (let i = 0; i < sent.length; i++) {
    const before = sent[i];
    const a = args[i];
    if (!before || !isBuffer(a)) continue;
    const now = bytesOf(a);
    let same = now.length === before.length;
    for (let k = 0; same && k < now.length; k++) if (now[k] !== before[k]) same = false;
    if (!same) (out ??= []).push([i, now.slice()]);
  }
  return out;
}

function errorInfo(e: unknown): { [key: string]: Json } {
  if (e instanceof Error) {
    const x: { [key: string]: Json } = { name: String(e.name), message: String(e.message) };
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") x.code = code;
    return x;
  }
  return { name: "Error", message: String(e) };
}
