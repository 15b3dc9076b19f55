/**
 * The XS side of the HAL bridge (bundled with the firmware into dist/xs-guest.js; platform-neutral).
 *
 * It builds a `Hal` whose devices and services are stand-ins: each constructor, method call and property
 * read becomes one synchronous `issueCommand` to the Node host (tools/xs/host.ts), which performs it on the
 * simulator's HAL and answers. Callbacks given in options stay here; the host triggers them with
 * {op:"cb", id, name, args} through the XS global `handleCommand`, and timers with {op:"timer", id}.
 * Errors the host HAL throws are re-thrown here as the same class with the same message.
 *
 * Protocol (XS → host):
 *   {op:"hal"}                                   → {board, services:{name: Descriptor}, io:[cls], network:[cls]}
 *   {op:"new", cls:"io.X"|"network.X", opts, cbs:[names]} → {$r:id, c:cls, d?:Descriptor}
 *   {op:"call", id, m, a:[args]}                 → result ({a:i} when the result is argument i: copied into it)
 *   {op:"get", id, p}                            → property value
 *   {op:"timer.set", a:[delay, repeat?]}         → host timer id
 * where `id` is a number (an instance) or a service name ("clock", "timers", "storage.flash", ...).
 * Host → XS: {op:"start", config}, {op:"cb", id, name, args, end?: 1}, {op:"timer", id}, {op:"status"}, {op:"stop"},
 * {op:"handle", m, a} (another method of the firmware handle), {op:"gc"}, {op:"stats"}. Replies both ways: {r: value} | {x: {name, message, code?}} (| {a: i} for out-parameters).
 * Any XS → host request and any reply of the guest may carry `rel: [ids]`: stand-ins XS collected (see below).
 *
 * Closed instances are forgotten (so a finished connection's stand-in, its callbacks and the firmware objects they
 * capture can be collected, as on the device where the HAL releases a closed instance):
 *  - the guest holds an instance's callbacks (and its stand-in, their `this`) strongly only while the instance is
 *    live: until the firmware's close() returns, or until the host delivers a callback tagged `end: 1` (a terminal
 *    callback of the HAL contract: a stream client's onError / onClose, hal/network.ts) and it has run;
 *  - stand-ins are otherwise held weakly (id → WeakRef; the stand-in → id WeakMap lets the firmware keep using one
 *    it still holds: a call after close reaches the host, which throws the HAL's own error, as on Node);
 *  - a stand-in the XS collector reclaimed (FinalizationRegistry) is reported to the host as `rel: [ids]` on the next
 *    request or reply, and the host drops its table entry; a reference the host sends again later gets a new id;
 *  - a callback for an instance that is no longer live is dropped (counted in stats.dropped), deterministically: the
 *    simulator's HAL posts no callback after close() or after a terminal one, so neither runtime runs it.
 *
 * Values the host hands over cross as copies, except objects with methods (devices, storage files: stand-ins)
 * and frozen plain objects: those are handles the HAL wants back by identity (Listener.read()'s accepted
 * connection, passed to `new TCP({from})`), so they cross as references too (stand-ins whose properties are
 * read from the host), and the host gets its own object back.
 *
 * Buffers filled in place (ECMA-419 `SPI.transfer(buffer)`, `SPI.read(buffer)`, any `read(into)` of bytes):
 * a call's arguments reach the host as copies, so the host compares, after the call, every argument that is an
 * ArrayBuffer or an ArrayBufferView with the bytes it received, and a reply to {op:"call"} carries
 * `w: [[i, bytes], ...]` for the arguments whose bytes changed (also with an {x} reply: a method that filled
 * part of the buffer and then threw leaves it so on Node too). The guest copies those bytes into the caller's
 * own buffer (the view's range; other views over the same memory see them). Chosen over a list of in-place
 * methods: nothing to declare, and a write(buffer) the host only reads sends nothing back. Only top-level
 * arguments are compared (no HAL method fills a buffer nested in an object), and only during the call (a host
 * that keeps the buffer and fills it later is not seen).
 */
import type { Hal } from "../../hal/index.js";
import { assignInto, bytesOf, decodeMessage, encodeMessage, makeError, type Json, type WireHooks } from "./wire.js";

export interface Descriptor {
  methods: string[];
  props: string[];
}

export interface HalShape {
  board: Json;
  services: Record<string, Descriptor>;
  io: string[];
  network: string[];
}

export interface GuestFirmwareHandle {
  stop(): void;
  status(): object;
}

export type StartFunction = (hal: Hal, config: Record<string, unknown>) => GuestFirmwareHandle | unknown;

interface XsGlobals {
  issueCommand(message: ArrayBuffer): ArrayBuffer;
  handleCommand?: (message: ArrayBuffer) => ArrayBuffer;
  gc?: () => void;
}

const g = globalThis as unknown as XsGlobals;

/** Bridged instance (stand-in or service) → its host id. */
const ids = new WeakMap<object, number | string>();
/** Live instances: host id → the stand-in and the callbacks given at construction (until closed or ended). */
const live = new Map<number, { obj: object; cbs: Record<string, (...args: unknown[]) => unknown> }>();
/** Class key → prototype with the bridged methods and getters. */
const protos = new Map<string, object>();
/** Host timer id → callback. */
const timers = new Map<number, { cb: (id: number) => unknown; repeat: boolean }>();

/**
 * Host id → its stand-in, held weakly so a closed instance the firmware dropped can be collected (strongly where
 * the engine has no WeakRef / FinalizationRegistry: then nothing is reported to the host either).
 */
const weak = typeof WeakRef === "function" && typeof FinalizationRegistry === "function";
const standIns = new Map<number, { deref(): object | undefined }>();
/** Ids of collected stand-ins not yet reported to the host (sent as `rel`). */
const released = new Set<number>();
const collected = weak
  ? new FinalizationRegistry<number>((id) => {
      if (id < 0) return; // a copy made by the memory bench (cloneBridge)
      // A newer stand-in for the same id (the host sent the reference again meanwhile) keeps the entry.
      const entry = standIns.get(id);
      if (entry && entry.deref() === undefined) {
        standIns.delete(id);
        released.add(id);
        stats.collected++;
      }
    })
  : null;

function holdStandIn(id: number, obj: object): void {
  if (collected) {
    standIns.set(id, new WeakRef(obj));
    collected.register(obj, id);
  } else standIns.set(id, { deref: () => obj });
  released.delete(id);
}

/** Takes the pending `rel` list (ids of collected stand-ins) for the next message to the host. */
function takeReleased(): number[] | undefined {
  if (released.size === 0) return undefined;
  const out = [...released];
  released.clear();
  return out;
}

/** The firmware is done with instance `id` (closed, or its terminal callback ran): its callbacks can go. */
function forget(id: number): void {
  if (live.delete(id)) stats.forgotten++;
}

const hooks: WireHooks = {
  ref(value: object): Json | undefined {
    const id = ids.get(value);
    return id === undefined ? undefined : { $r: id };
  },
  deref(tag): unknown {
    const id = tag.$r as number;
    const known = standIns.get(id)?.deref();
    if (known) return known;
    const obj = Object.create(protoFor(tag.c as string, tag.d as unknown as Descriptor | undefined)) as object;
    ids.set(obj, id);
    holdStandIn(id, obj);
    return obj;
  },
};

export interface BridgeStats {
  requests: number;
  /** Buffer arguments the host filled in place and that were copied back (see the header). */
  copiedBack: number;
  /** Instances forgotten (closed by the firmware, or ended by a terminal callback). */
  forgotten: number;
  /** Stand-ins the XS collector reclaimed (reported to the host). */
  collected: number;
  /** Callbacks the host sent for an instance no longer live (dropped). */
  dropped: number;
}
export const stats: BridgeStats = { requests: 0, copiedBack: 0, forgotten: 0, collected: 0, dropped: 0 };

function request(message: Record<string, unknown>, args?: unknown[]): unknown {
  stats.requests++;
  const rel = takeReleased();
  if (rel) message.rel = rel;
  const bytes = encodeMessage(message, hooks);
  const reply = decodeMessage(g.issueCommand(exact(bytes)), hooks) as {
    r?: unknown;
    x?: { [key: string]: Json };
    a?: number;
    w?: Array<[number, Uint8Array]>;
  };
  if (reply.w && args) copyBack(reply.w, args);
  if (reply.x) throw makeError(reply.x);
  if (reply.a !== undefined && args) {
    const target = args[reply.a];
    if ("r" in reply) assignInto(target, reply.r);
    return target;
  }
  return reply.r;
}

/** Copies the bytes the host wrote into buffer arguments back into the caller's buffers (see the header). */
function copyBack(w: Array<[number, Uint8Array]>, args: unknown[]): void {
  for (let k = 0; k < w.length; k++) {
    const [i, src] = w[k]!;
    const target = args[i];
    if (!(target instanceof ArrayBuffer || ArrayBuffer.isView(target)) || !(src instanceof Uint8Array)) continue;
    const dst = bytesOf(target);
    if (src.length !== dst.length) throw new RangeError(`bridge: argument ${i} came back with ${src.length} bytes, not ${dst.length}`);
    dst.set(src);
    stats.copiedBack++;
  }
}

function exact(bytes: Uint8Array): ArrayBuffer {
  const b = bytes.buffer as ArrayBuffer;
  return bytes.byteOffset === 0 && bytes.byteLength === b.byteLength ? b : b.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

function idOf(obj: unknown): number | string {
  const id = obj !== null && typeof obj === "object" ? ids.get(obj) : undefined;
  if (id === undefined) throw new TypeError("bridge: method called on a foreign object");
  return id;
}

function protoFor(key: string, d: Descriptor | undefined): object {
  let proto = protos.get(key);
  if (proto) return proto;
  if (!d) throw new Error(`bridge: no descriptor for ${key}`);
  proto = {};
  for (const m of d.methods) {
    Object.defineProperty(proto, m, {
      value:
        m === "close"
          ? function bridged(this: unknown, ...a: unknown[]): unknown {
              const id = idOf(this);
              const r = request({ op: "call", id, m, a }, a);
              // Closed (close() returned): the callbacks, and what they capture, are released.
              if (typeof id === "number") forget(id);
              return r;
            }
          : function bridged(this: unknown, ...a: unknown[]): unknown {
              return request({ op: "call", id: idOf(this), m, a }, a);
            },
      writable: true,
      configurable: true,
    });
  }
  for (const p of d.props) {
    Object.defineProperty(proto, p, {
      get(this: unknown): unknown {
        return request({ op: "get", id: idOf(this), p });
      },
      configurable: true,
    });
  }
  protos.set(key, proto);
  return proto;
}

function service(name: string, d: Descriptor): object {
  const obj = Object.create(protoFor("service:" + name, d)) as object;
  ids.set(obj, name);
  return obj;
}

function bridgedClass(cls: string): new (options: Record<string, unknown>) => object {
  // A constructor function so `new hal.io.X(options)` works and `instanceof` is meaningful.
  const ctor = function (this: unknown, options: Record<string, unknown>): object {
    if (!new.target) throw new TypeError(`${cls} must be called with new`);
    const opts: Record<string, unknown> = {};
    const cbNames: string[] = [];
    const cbs: Record<string, (...args: unknown[]) => unknown> = {};
    if (options !== null && typeof options === "object") {
      for (const key of Object.keys(options)) {
        const v = options[key];
        if (typeof v === "function") {
          cbNames.push(key);
          cbs[key] = v as (...args: unknown[]) => unknown;
        } else opts[key] = v;
      }
    }
    const tag = request({ op: "new", cls, opts: options === undefined ? undefined : opts, cbs: cbNames }) as object;
    // `tag` was turned into a stand-in by hooks.deref; an instance with callbacks is live until closed or ended.
    if (cbNames.length > 0) live.set(ids.get(tag) as number, { obj: tag, cbs });
    return tag;
  } as unknown as new (options: Record<string, unknown>) => object;
  Object.defineProperty(ctor, "name", { value: cls.slice(cls.indexOf(".") + 1) });
  return ctor;
}

/** Builds the bridged Hal (asks the host for the board and the shapes of the services once). */
export function makeBridgedHal(): Hal {
  const shape = request({ op: "hal" }) as HalShape;
  const s = shape.services;
  const io: Record<string, unknown> = {};
  for (const cls of shape.io) io[cls] = bridgedClass("io." + cls);
  const network: Record<string, unknown> = {};
  for (const cls of shape.network) network[cls] = bridgedClass("network." + cls);
  const timersService = {
    set(callback: (id: number) => unknown, delay: number, repeat?: number): number {
      if (typeof callback !== "function") throw new TypeError("timers.set: callback must be a function");
      const a = arguments.length > 2 ? [delay, repeat] : [delay];
      const id = request({ op: "timer.set", a }) as number;
      timers.set(id, { cb: callback, repeat: typeof repeat === "number" && repeat > 0 });
      return id;
    },
    clear(id: number): void {
      timers.delete(id);
      request({ op: "call", id: "timers", m: "clear", a: [id] });
    },
  };
  const hal = {
    board: shape.board,
    clock: service("clock", s.clock!),
    timers: timersService,
    io,
    storage: {
      flash: service("storage.flash", s["storage.flash"]!),
      keyValue: service("storage.keyValue", s["storage.keyValue"]!),
    },
    crypto: service("crypto", s.crypto!),
    network,
    system: service("system", s.system!),
    log: service("log", s.log!),
  };
  return hal as unknown as Hal;
}

/** A Hal with only the clock bridged (for the bridge benchmark, before any firmware start). */
function makeBridgedClockOnly(): Hal {
  const clock = Object.create(protoFor("service:clock", { methods: ["now"], props: [] })) as object;
  ids.set(clock, "clock");
  return { clock } as unknown as Hal;
}

function errorReply(e: unknown): { x: { [key: string]: Json } } {
  if (e instanceof Error) {
    const x: { [key: string]: Json } = { name: String(e.name), message: String(e.message) };
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") x.code = code;
    return { x };
  }
  return { x: { name: "Error", message: String(e) } };
}

/**
 * Installs `handleCommand`. `start` is the firmware's entry point; `extra` lets a bundle add commands
 * (benchmarks) that receive the decoded message.
 */
export function installGuest(start: StartFunction, extra?: Record<string, (msg: Record<string, unknown>) => unknown>): void {
  let handle: GuestFirmwareHandle | undefined;
  let hal: Hal | undefined;
  g.handleCommand = (bytes: ArrayBuffer): ArrayBuffer => {
    let reply: unknown;
    try {
      const msg = decodeMessage(bytes, hooks) as Record<string, unknown>;
      reply = { r: dispatch(msg) };
    } catch (e) {
      reply = errorReply(e);
    }
    const rel = takeReleased();
    if (rel) (reply as { rel?: number[] }).rel = rel;
    let out: Uint8Array;
    try {
      out = encodeMessage(reply, hooks);
    } catch (e) {
      out = encodeMessage(errorReply(e));
    }
    return exact(out);
  };
  function dispatch(msg: Record<string, unknown>): unknown {
    switch (msg.op) {
      case "cb": {
        const id = msg.id as number;
        const entry = live.get(id);
        if (!entry) {
          // Closed or ended: a late callback is dropped (the simulator's HAL sends none; see the header).
          stats.dropped++;
          return undefined;
        }
        const fn = entry.cbs[msg.name as string];
        if (!fn) throw new Error(`bridge: no callback ${String(msg.name)} on instance ${String(msg.id)}`);
        if (msg.end !== 1) return fn.apply(entry.obj, msg.args as unknown[]);
        // A terminal callback (the instance is dead): run it, then release the instance's callbacks.
        try {
          return fn.apply(entry.obj, msg.args as unknown[]);
        } finally {
          forget(id);
        }
      }
      case "timer": {
        const id = msg.id as number;
        const t = timers.get(id);
        if (!t) return undefined; // cleared meanwhile
        if (!t.repeat) timers.delete(id);
        return t.cb(id);
      }
      case "start": {
        hal ??= makeBridgedHal();
        handle = start(hal, (msg.config ?? {}) as Record<string, unknown>) as GuestFirmwareHandle;
        return undefined;
      }
      case "status":
        return handle && typeof handle.status === "function" ? handle.status() : undefined;
      case "stop":
        if (handle && typeof handle.stop === "function") handle.stop();
        return undefined;
      case "handle": {
        // Any other method of the firmware handle (e.g. present(idTag)).
        const fn = handle ? (handle as unknown as Record<string, unknown>)[msg.m as string] : undefined;
        if (typeof fn !== "function") throw new TypeError(`firmware handle has no method ${String(msg.m)}`);
        return (fn as (...a: unknown[]) => unknown).apply(handle, (msg.a as unknown[]) ?? []);
      }
      case "benchBridge": {
        // n bridged clock.now() calls: the bridge's per-call cost (needs a HAL with a clock attached on the host).
        const n = msg.n as number;
        const b = hal ?? makeBridgedClockOnly();
        let last = 0;
        for (let i = 0; i < n; i++) last = b.clock.now();
        return last;
      }
      case "gc":
        if (g.gc) g.gc();
        return undefined;
      case "stats":
        return { ...stats, live: live.size, standIns: standIns.size, timers: timers.size };
      case "bridgeFootprint":
        // The memory bench (tools/xs/bench-memory.ts): counts of the bridge's own objects; {clone:true} keeps a
        // copy of them alive (so the live slots it adds are the bridge's share), {clone:false} drops it.
        collected?.unregister(copyToken);
        bridgeCopy = msg.clone === true ? cloneBridge(hal) : null;
        return bridgeCounts(hal);
      default: {
        const op = msg.op as string;
        const fn = extra?.[op];
        if (fn) return fn(msg);
        throw new Error(`bridge: unknown op ${op}`);
      }
    }
  }
}

// ---- the memory bench's view of the bridge (op "bridgeFootprint") ----

let bridgeCopy: unknown = null;
/** The unregister token of the copy's registrations (see cloneBridge). */
const copyToken = {};

/** How many objects the bridge itself holds in XS (stand-ins, prototypes and their members, callbacks, timers). */
function bridgeCounts(hal: Hal | undefined): Record<string, number> {
  let protoMembers = 0;
  for (const p of protos.values()) protoMembers += Object.getOwnPropertyNames(p).length;
  let callbacks = 0;
  for (const e of live.values()) callbacks += Object.keys(e.cbs).length;
  let instances = 0;
  for (const w of standIns.values()) if (w.deref() !== undefined) instances++;
  return {
    instances,
    live: live.size,
    protos: protos.size,
    protoMembers,
    callbacks,
    timers: timers.size,
    ioClasses: hal ? Object.keys(hal.io).length : 0,
    networkClasses: hal ? Object.keys(hal.network).length : 0,
  };
}

/**
 * A copy of the bridge's own state, built the way the bridge builds it: every prototype with its bridged
 * methods and getters (one closure each), every stand-in still alive with its id (WeakMap) and its weak entry
 * (Map of WeakRefs, registered for collection), the live instances' callback records (Map), the timer table,
 * the Hal tree (board data, service stand-ins, timers service, one constructor per class).
 * The firmware's own objects (the callbacks themselves, the firmware handle) are shared, not copied.
 */
function cloneBridge(hal: Hal | undefined): unknown {
  const protoCopy = new Map<object, object>();
  const copyProto = (p: object): object => {
    let c = protoCopy.get(p);
    if (c) return c;
    c = {};
    for (const name of Object.getOwnPropertyNames(p)) {
      if (Object.getOwnPropertyDescriptor(p, name)!.get) {
        Object.defineProperty(c, name, {
          get(this: unknown): unknown {
            return request({ op: "get", id: idOf(this), p: name });
          },
          configurable: true,
        });
      } else {
        Object.defineProperty(c, name, {
          value: function bridged(this: unknown, ...a: unknown[]): unknown {
            return request({ op: "call", id: idOf(this), m: name, a }, a);
          },
          writable: true,
          configurable: true,
        });
      }
    }
    protoCopy.set(p, c);
    return c;
  };
  const protoMap = new Map<string, object>();
  for (const [key, p] of protos) protoMap.set(key, copyProto(p));
  const idMap = new WeakMap<object, number | string>();
  const instMap = new Map<number, { obj: object; cbs: Record<string, (...args: unknown[]) => unknown> }>();
  const standInMap = new Map<number, { deref(): object | undefined }>();
  // Registered in the bridge's own registry (held value -1: ignored) and unregistered when the copy is dropped: XS
  // never frees the cells of a FinalizationRegistry that became garbage (measured: ~4 slots per registration).
  const registry = collected;
  const copies: object[] = [];
  for (const [id, w] of standIns) {
    const o = w.deref();
    if (o === undefined) continue;
    const obj = Object.create(copyProto(Object.getPrototypeOf(o) as object)) as object;
    copies.push(obj); // the copy is kept alive by the bridge copy itself (the originals: by the firmware or `live`)
    idMap.set(obj, id);
    if (registry) {
      standInMap.set(id, new WeakRef(obj));
      registry.register(obj, -1, copyToken);
    } else standInMap.set(id, { deref: () => obj });
    const e = live.get(id);
    if (e) instMap.set(id, { obj, cbs: { ...e.cbs } });
  }
  const timerMap = new Map<number, { cb: (id: number) => unknown; repeat: boolean }>();
  for (const [id, t] of timers) timerMap.set(id, { cb: t.cb, repeat: t.repeat });
  let halCopy: unknown = null;
  if (hal) {
    const svc = (o: object): object => {
      const c = Object.create(copyProto(Object.getPrototypeOf(o) as object)) as object;
      idMap.set(c, ids.get(o)!);
      return c;
    };
    const io: Record<string, unknown> = {};
    for (const cls of Object.keys(hal.io)) io[cls] = bridgedClass("io." + cls);
    const network: Record<string, unknown> = {};
    for (const cls of Object.keys(hal.network)) network[cls] = bridgedClass("network." + cls);
    const t = hal.timers;
    halCopy = {
      board: decodeMessage(encodeMessage(hal.board)),
      clock: svc(hal.clock),
      timers: {
        set(callback: (id: number) => unknown, delay: number, repeat?: number): number {
          return t.set(callback, delay, repeat);
        },
        clear(id: number): void {
          t.clear(id);
        },
      },
      io,
      storage: { flash: svc(hal.storage.flash), keyValue: svc(hal.storage.keyValue) },
      crypto: svc(hal.crypto),
      network,
      system: svc(hal.system),
      log: svc(hal.log),
    };
  }
  return { protoMap, idMap, instMap, standInMap, copies, timerMap, halCopy };
}
