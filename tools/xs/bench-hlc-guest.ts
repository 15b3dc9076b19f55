/**
 * XS guest for tools/xs/bench-hlc.ts: the ISO 15118 session path of the firmware inside xsnap, measured with xsnap's
 * deterministic meter (compute units). Platform-neutral (bundled as ESM, evaluated by xsnap).
 *
 * The rig: the firmware's HlcSessionHost (firmware/iso15118/apphandshake/host.ts) attached to the firmware's
 * V2gChannel (secc/channel.ts) over a fake TCP socket and a timer table, with the simulator's scripted EVCC
 * (simulator/evcc/messages/scripted.ts) on the other end. The EV drives a whole session (handshake, setup,
 * authorization, parameters, DC: cable check + pre-charge, PowerDelivery) into the charge loop; then the EV is
 * detached and its last CurrentDemandReq (DIN/ISO-2 DC) or ChargingStatusReq (ISO-2 AC) is replayed n times:
 *   host   handler.onMessage(payload): snapshot + decode + V2gSessionMachine.handle + encode + V2GTP send (header
 *          into the channel's buffer, socket.write) + the actions applied to a recording sink
 *   full   channel.readable(): socket.read + V2GTP framer + all of the above (TCP bytes in -> TCP bytes out)
 *   and, apart, on the same machine and bytes: decode, handle, encode alone.
 * The snapshot is a preallocated record refreshed per request as firmware/iso15118/charger.ts does (DC: a charging
 * power module at the EV's target, isolation Valid; AC: 32 A, 3 phases).
 *   {op:"path", protocol, kind, n}  -> {host, full, decode, handle, encode: {median, p99, max}, request, response,
 *                                      requestBytes, responseBytes, actionsPerMessage, code}
 *   {op:"session", protocol, kind, loops}  builds a rig and runs the session `loops` rounds into the charge loop, then
 *                                      keeps host + channel alive and drops the EV (memory: the host side measures)
 *   {op:"drop"}                       drops that rig
 */
import { HlcSessionHost } from "../../firmware/iso15118/apphandshake/host.js";
import type { DcSnapshot, EvseSnapshot, SessionAction } from "../../firmware/iso15118/apphandshake/types.js";
import { decodeExi, encodeExi, type ExiDocument } from "../../firmware/iso15118/exi/index.js";
import { V2gChannel, type V2gSessionHandler } from "../../firmware/iso15118/secc/channel.js";
import { defaultSeccTimings } from "../../firmware/iso15118/secc/timings.js";
import { PAYLOAD_EXI, V2gtpFramer, v2gtpMessage } from "../../firmware/iso15118/v2gtp/header.js";
import { ScriptedEvcc } from "../../simulator/evcc/messages/scripted.js";
import { meterBracket, meterNow, serveCommands } from "./guest-kit.js";

const bracket = meterBracket();

type Protocol = "din" | "iso2";
type Kind = "ac" | "dc";

/** A timer table in virtual time (the channel's sequence timer, the EV's delays). */
class Timers {
  now = 0;
  #next = 1;
  readonly #q = new Map<number, { at: number; fn: (id: number) => void }>();
  set = (fn: (id: number) => void, ms: number): number => {
    const id = this.#next++;
    this.#q.set(id, { at: this.now + ms, fn });
    return id;
  };
  clear = (id: unknown): void => {
    this.#q.delete(id as number);
  };
  /** The ids set through the EV's `after` (to drop them with the EV). */
  readonly ev = new Set<number>();
  /** Drops the EV's pending delays (the channel's own timers stay). */
  dropEv(): void {
    for (const id of this.ev) this.#q.delete(id);
    this.ev.clear();
  }
  /** Runs due timers in time order up to `until` (or until `stop()` says so). */
  run(until: number, stop: () => boolean): void {
    while (!stop()) {
      let best = -1;
      let at = Infinity;
      for (const [id, e] of this.#q) if (e.at < at || (e.at === at && id < best)) (best = id), (at = e.at);
      if (best < 0 || at > until) break;
      const e = this.#q.get(best)!;
      this.#q.delete(best);
      this.now = at;
      e.fn(best);
    }
  }
}

interface Rig {
  host: HlcSessionHost;
  ch: V2gChannel;
  handler: V2gSessionHandler;
  timers: Timers;
  ev: ScriptedEvcc | null;
  /** The snapshot record the host refreshes per request. */
  snap: EvseSnapshot;
  /** The recording sink (cleared per measured message). */
  sink: SessionAction[];
  /** The EV's requests as sent (the last one is replayed). */
  lastRequest: Uint8Array;
  /** What the SECC wrote last (a V2GTP message). */
  lastWrite: Uint8Array;
  /** The next socket.read() returns this. */
  inbox: ArrayBuffer | null;
  /** The EV's side of the V2GTP stream. */
  evFramer: V2gtpFramer | null;
  /** The EV gets the SECC's messages (off while measuring). */
  evAttached: boolean;
}

/** The rig of op "session", alive until op "drop" (what the memory figure measures). */
let kept: Rig | null = null;

function build(protocol: Protocol, kind: Kind): Rig {
  const timers = new Timers();
  const dcSnap: DcSnapshot | null =
    kind === "dc" ? { presentVoltage: 0, presentCurrent: 0, maxVoltage: 500, minVoltage: 150, maxCurrent: 125, minCurrent: 0, maxPower: 50_000, isolation: "Invalid", isolationRunning: false, fault: false } : null;
  // The charger's state behind the snapshot (what DcOutput / the arbiter / the session would report).
  const dcState = { voltage: 0, current: 0, isolation: "Invalid" as DcSnapshot["isolation"], running: false };
  const snap: EvseSnapshot = { now: 0, authorized: true, limitAmps: 32, phases: 3, nominalVoltage: 230, stopRequested: false, rcd: false, emergency: false, dc: dcSnap };
  const sink: SessionAction[] = [];
  let physics = true;
  const rig = {} as Rig;
  const host = new HlcSessionHost(
    { kind, protocols: kind === "dc" ? ["din", "iso2"] : ["iso2"], evseIdIso2: "DE*ABC*E1234567", evseIdDin: "5A5A00001234", cableCheckMs: 38_000, preChargeMs: 5_000, renegotiateDeltaA: 2 },
    {
      snapshot() {
        // As firmware/iso15118/charger.ts: refresh the preallocated record.
        snap.now = timers.now;
        snap.authorized = true;
        snap.limitAmps = kind === "dc" ? 32 * 0.95 : 32;
        snap.phases = 3;
        snap.stopRequested = false;
        snap.rcd = false;
        snap.emergency = false;
        if (dcSnap !== null) {
          dcSnap.presentVoltage = dcState.voltage;
          dcSnap.presentCurrent = dcState.current;
          dcSnap.isolation = dcState.isolation;
          dcSnap.isolationRunning = dcState.running;
          dcSnap.fault = false;
        }
        return snap;
      },
      apply(a) {
        sink.push(a);
        if (!physics) return;
        // The charger's physics, crudely: the isolation test passes after 1 s, the output follows its setpoints.
        if (a.type === "isolation-start") {
          dcState.running = true;
          timers.set(() => {
            dcState.running = false;
            dcState.isolation = "Valid";
          }, 1_000);
        } else if (a.type === "dc-output") {
          dcState.voltage = a.enable ? a.voltage : 0;
          dcState.current = a.enable ? a.current : 0;
        }
      },
      randomBytes: (n) => {
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = (i * 37 + 11) & 255;
        return b;
      },
    },
  );
  const ch = new V2gChannel({ timers: timers as never, now: () => timers.now, timings: defaultSeccTimings(), maxPayload: 8192, secure: false });
  rig.evFramer = new V2gtpFramer(65536, (type, payload) => {
    if (rig.evAttached && rig.ev !== null) rig.ev.message(type, payload, evCh);
  });
  const evCh = {
    secure: false,
    send(type: number, payload: Uint8Array) {
      rig.lastRequest = payload.slice();
      const m = v2gtpMessage(type, payload);
      rig.inbox = m.buffer.slice(m.byteOffset, m.byteOffset + m.byteLength) as ArrayBuffer;
      ch.readable();
    },
    close() {
      ch.broken();
    },
  };
  ch.bind({
    read(): ArrayBuffer {
      const b = rig.inbox!;
      if (rig.evAttached) rig.inbox = null;
      return b;
    },
    write(b: Uint8Array): void {
      rig.lastWrite = b;
      if (rig.evAttached && rig.evFramer !== null) rig.evFramer.push(new Uint8Array(b));
    },
    close(): void {},
  } as never);
  ch.writable(1 << 20);
  // Keep the handler the host attaches (to call it directly: the host-only figure).
  const attach = ch.attach.bind(ch);
  ch.attach = (h: V2gSessionHandler): void => {
    rig.handler = h;
    attach(h);
  };
  host.attach(ch);
  const ev = new ScriptedEvcc({ protocol, kind, soc: 30, current: kind === "dc" ? 100 : 16, maxVoltage: 450, loops: 1_000_000, socPerLoop: 0.01, after: (ms, fn) => void timers.ev.add(timers.set(fn, ms)) });
  Object.assign(rig, { host, ch, timers, ev, snap, sink, lastRequest: new Uint8Array(0), lastWrite: new Uint8Array(0), inbox: null, evAttached: true });
  ev.connected(evCh);
  (rig as Rig & { stopPhysics: () => void }).stopPhysics = () => (physics = false);
  return rig;
}

/** Runs the EV until it has received `loops` charge-loop responses (CurrentDemandRes / ChargingStatusRes). */
function toLoop(rig: Rig, loops: number): void {
  const loopRes = (s: string) => s.startsWith("CurrentDemandRes") || s.startsWith("ChargingStatusRes");
  const ev = rig.ev!;
  rig.timers.run(600_000, () => ev.done || ev.responses.filter(loopRes).length >= loops);
  if (ev.failures.length > 0 || ev.done) throw new Error(`bench-hlc: the session failed: ${ev.failures.join(", ")} (${ev.responses.join(" ")})`);
  if (ev.responses.filter(loopRes).length < loops) throw new Error(`bench-hlc: not in the charge loop (${ev.responses.join(" ")})`);
}

function dist(xs: number[]): { median: number; p99: number; max: number } {
  const s = xs.slice().sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, p99: s[Math.min(s.length - 1, Math.floor(0.99 * s.length))]!, max: s[s.length - 1]! };
}

function bodyName(doc: unknown): string {
  const m = (doc as { V2G_Message: { Body: Record<string, Record<string, unknown>> } }).V2G_Message;
  return Object.keys(m.Body)[0]!;
}

function path(protocol: Protocol, kind: Kind, n: number): unknown {
  const rig = build(protocol, kind);
  toLoop(rig, 3);
  // The EV is waiting to send its next request: detach it; replay its last one.
  rig.evAttached = false;
  (rig as Rig & { stopPhysics: () => void }).stopPhysics();
  const payload = rig.lastRequest;
  const framed = v2gtpMessage(PAYLOAD_EXI, payload);
  const frame = framed.buffer.slice(framed.byteOffset, framed.byteOffset + framed.byteLength) as ArrayBuffer;
  const machine = rig.host.machine!;
  const host: number[] = [], full: number[] = [], dec: number[] = [], handle: number[] = [], enc: number[] = [];
  let actions = 0;
  const { handler, ch, sink } = rig;
  for (let i = 0; i < n; i++) {
    sink.length = 0;
    let a = meterNow();
    handler.onMessage(PAYLOAD_EXI, payload, ch);
    let b = meterNow();
    host.push(b - a - bracket);
    actions = sink.length;
    sink.length = 0;
    rig.inbox = frame;
    a = meterNow();
    ch.readable();
    b = meterNow();
    full.push(b - a - bracket);
    // The three parts alone, on the same machine (with the snapshot record the host reads).
    a = meterNow();
    const doc = decodeExi(machine.protocol, payload);
    b = meterNow();
    const r = machine.handle(doc, rig.snap);
    const c = meterNow();
    encodeExi(machine.protocol, r.response as unknown as ExiDocument);
    const d = meterNow();
    dec.push(b - a - bracket);
    handle.push(c - b - bracket);
    enc.push(d - c - bracket);
  }
  if (rig.ch.closed) throw new Error(`bench-hlc: the channel closed (${String(rig.ch.closeReason)})`);
  const w = rig.lastWrite;
  const resDoc = decodeExi(machine.protocol, w.subarray(8));
  const res = (resDoc as unknown as { V2G_Message: { Body: Record<string, { ResponseCode?: string }> } }).V2G_Message.Body;
  const resName = Object.keys(res)[0]!;
  return {
    protocol,
    kind,
    request: bodyName(decodeExi(machine.protocol, payload)),
    response: resName,
    code: res[resName]!.ResponseCode ?? "",
    requestBytes: payload.length,
    responseBytes: w.length - 8,
    actionsPerMessage: actions,
    state: machine.state,
    host: dist(host),
    full: dist(full),
    decode: dist(dec),
    handle: dist(handle),
    encode: dist(enc),
  };
}

serveCommands("bench-hlc", {
  gc: () => {
    (globalThis as { gc?: () => void }).gc?.();
    return null;
  },
  path: (m) => path(m["protocol"] as Protocol, m["kind"] as Kind, (m["n"] as number) ?? 1000),
  session: (m) => {
    const rig = build(m["protocol"] as Protocol, m["kind"] as Kind);
    toLoop(rig, (m["loops"] as number) ?? 10);
    // Keep the SECC side only: the EV, its pending request and what it sent go.
    rig.evAttached = false;
    rig.ev = null;
    rig.evFramer = null;
    rig.timers.dropEv();
    rig.lastRequest = new Uint8Array(0);
    rig.inbox = null;
    kept = rig;
    return { state: rig.host.machine!.state, messages: rig.host.stats.messages };
  },
  drop: () => {
    const had = kept !== null;
    kept = null;
    return had;
  },
});
