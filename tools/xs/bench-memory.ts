/**
 * The firmware's own RAM on the real XS engine, against the ESP32 default pools (4,928 slots, 78,848 chunk bytes).
 *
 * Method (deterministic counters only):
 *  - The firmware runs in xsnap BEHIND THE BRIDGE (dist guest: firmware + tools/xs/guest.ts): the simulated
 *    devices, the network and the embedded CSMS stay in Node; XS holds the firmware and the bridge's thin
 *    stand-ins. A demo-like session: boot, BootNotification accepted by the embedded CSMS, plug, card,
 *    authorize, charge with MeterValues (signed, ADE9000 meter IC driven over the bridged SPI), unplug,
 *    StopTransaction answered.
 *  - Slots: after EVERY host → XS command (timer, callback, start) the host runs XS's gc and reads
 *    `currentHeapCount`, i.e. the live slots at every command boundary. The count at the end of a command,
 *    before that gc, bounds the peak inside the command (nothing was freed since the previous gc): the
 *    "in-command" figure, which also holds the bridge's own JSON/encoding garbage (none on the device).
 *  - Chunk bytes: xsnap reports no chunk meter (`allocate` is the bytes xsnap mmapped for its arenas: 32 MB of
 *    chunks reserved up front, so it never moves). XS's own snapshot writer runs a full GC and writes the live
 *    chunks ("BLOC" atom) and slots ("HEAP" atom): the chunk bytes are read from a snapshot, once per virtual
 *    second of the session and at each milestone. xsnap is a 64-bit build: a slot is 32 bytes there and 16 on the
 *    ESP32, and chunks holding pointers/slots (array storage, chunk headers) are larger than on a 32-bit MCU: the
 *    chunk figures are an upper bound for the device. Slot COUNTS are the same on both.
 *  - Baseline: engine + evaluated bundle before start() (gc + snapshot), subtracted. On the device every firmware
 *    module is preloaded (code, functions, classes, module-level constants live in flash), so the baseline is
 *    not paid from the pools there; what start() and the session allocate is.
 *  - Bridge share: the guest's op "bridgeFootprint" counts the bridge's objects and keeps a copy of them alive
 *    (built the way the bridge builds them); the live slots / chunk bytes that copy adds are the bridge's share,
 *    subtracted to give the firmware's own figures. (On the device the HAL's native instances also cost a few
 *    slots each: the figures without the bridge are a slight under-estimate there, the ones with it an over-.)
 *  - OCPP stack: the same session with the OCPP stack replaced at bundle time by a stub (ChargePoint16 accepts
 *    every card locally and sends nothing; no transaction journal): its share is the difference of the
 *    firmware's own live heap, full minus stub, after the session and at the high-water.
 *
 *  - HLC sessions (HLC_SESSIONS: DIN 70121 DC, ISO 15118-2 AC; measureHlcMemory): the same method on an HLC board
 *    (QCA7000 on the bridged SPI, SLAC, SDP, V2GTP, the session) with OCPP and signed MeterValues; the HLC stack's
 *    share is the same session with `hlcEnabled: false` subtracted, at the high-water and at a mid-session sample.
 *  - Census (`--scenario FILE '{"censusAt":[ms,...]}'`): the whole live heap by class from an XS snapshot (censusOf),
 *    to diff two instants with censusDiff. The bridge forgets a closed instance's stand-in and callbacks (tools/xs/
 *    guest.ts), so what a closed connection reached is collectable as on the device (test/xs/memory-sessions).
 *
 * `node build/tools/xs/bench-memory.js` prints the report as JSON (`--hlc` the HLC sessions, `--rows` the rows);
 * benchMemory() returns the bench rows.
 */
import * as path from "node:path";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { runChild } from "./bench-kit.js";
import type { BenchRow } from "./bench-xs.js";

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), "../../..");

/** ESP32 default XS pools (manifest.json `creation`: every board). */
export const ESP32_POOLS = { slots: 4_928, slotBytes: 16, chunkBytes: 78_848 } as const;
/**
 * The pools of a board with ISO 15118 (manifest.json `platforms["esp32/esp32s3"].creation`: an ESP32-S3, the class
 * of MCU a DC charger's controller is; the HLC stack does not fit the default pools with room to spare).
 */
export const HLC_POOLS = { slots: 6_656, slotBytes: 16, chunkBytes: 98_304 } as const;

/** The session: the demo's board and EV, MeterValues every 10 s, a 2-minute charge. */
export const MEMORY_SCENARIO = {
  name: "xs-memory",
  description: "Boot, register, an EV plugs in, a card is swiped, it charges with signed meter values, unplugs.",
  seed: 42,
  duration: "150s",
  board: {
    holdUpMs: 50,
    meterIc: { chip: "ade9000", spi: { hz: 10_000_000, mode: 0, port: 1, select: 5 }, vFullScale: 800, iFullScale: 80 },
  },
  config: { signedMeterValues: true, meterValueSampleIntervalS: 10 },
  ev: { batteryKWh: 60, initialSoc: 30, targetSoc: 90, maxCurrent: 32 },
  events: [
    { at: "5s", do: "plug" },
    { at: "8s", do: "swipe", idTag: "DEMO-CARD-01" },
    { at: "128s", do: "unplug" },
  ],
};

const MEMORY_METER_IC = MEMORY_SCENARIO.board.meterIc;
const PLC_MODEM = { chip: "qca7000", spi: { hz: 8_000_000, mode: 3, select: 2 }, irq: 12 } as const;

/**
 * The DC session (simulator/scenarios/din70121-dc.json made demo-like): a DIN SPEC 70121 car on a 50 kW DC board
 * (fixed cable, AC input rated 80 A, QCA7000 PLC modem, the demo's ADE9000 meter IC on the AC input), a card,
 * signed MeterValues every 10 s. Timeline (Node run): SLAC 5.0–5.5 s, SDP + V2GTP + supportedAppProtocol at 6.1 s,
 * authorized at 8 s, CableCheck, PreCharge, CurrentDemand 12.5–90 s (~1 kWh), PowerDelivery Stop, WeldingDetection,
 * SessionStop at ~93 s, unplug at 100 s.
 */
export const DC_MEMORY_SCENARIO = {
  name: "xs-memory-din-dc",
  description: "A DIN 70121 car on a 50 kW DC charger: plug, SLAC, SDP, the DIN session, a card, CableCheck, PreCharge, CurrentDemand with signed meter values, stop at its target SoC, unplug.",
  seed: 70121,
  duration: "110s",
  board: { holdUpMs: 50, meterIc: MEMORY_METER_IC, plcModem: PLC_MODEM, dc: { maxPower: 50_000 }, ratedCurrent: 80, tetheredCable: true },
  config: { hlcEnabled: true, installerCurrentLimit: 80, signedMeterValues: true, meterValueSampleIntervalS: 10 },
  ev: { hlc: { protocol: "din" }, batteryKWh: 10, initialSoc: 40, targetSoc: 50 },
  events: [
    { at: "5s", do: "plug" },
    { at: "8s", do: "swipe", idTag: "DEMO-CARD-01" },
    { at: "100s", do: "unplug" },
  ],
};

/**
 * The ISO 15118-2 AC session (simulator/scenarios/iso15118-ac.json made demo-like): the demo's wallbox with a QCA7000
 * modem, an ISO-2 car (EIM), a card, signed MeterValues. SLAC/SDP/handshake by 6.1 s, authorized at 8 s, charging
 * 8.2–82.5 s (ChargingStatus loop), SessionStop at 82.5 s, unplug at 100 s.
 */
export const AC_HLC_MEMORY_SCENARIO = {
  name: "xs-memory-iso2-ac",
  description: "An ISO 15118-2 AC car: plug, SLAC, SDP, the ISO-2 session, a card, charge with signed meter values, stop at its target SoC, unplug.",
  seed: 15118,
  duration: "110s",
  board: { holdUpMs: 50, meterIc: MEMORY_METER_IC, plcModem: PLC_MODEM },
  config: { hlcEnabled: true, signedMeterValues: true, meterValueSampleIntervalS: 10 },
  ev: { hlc: true, batteryKWh: 2, initialSoc: 50, targetSoc: 60, maxCurrent: 16 },
  events: [
    { at: "5s", do: "plug" },
    { at: "8s", do: "swipe", idTag: "DEMO-CARD-01" },
    { at: "100s", do: "unplug" },
  ],
};

/** The HLC sessions measured, with the virtual instant taken as "mid-session" (in the charge loop). */
export const HLC_SESSIONS = {
  "din-dc": { scenario: DC_MEMORY_SCENARIO, midMs: 50_000, label: "DIN 70121 DC" },
  "iso2-ac": { scenario: AC_HLC_MEMORY_SCENARIO, midMs: 45_000, label: "ISO 15118-2 AC" },
} as const;
export type HlcSessionName = keyof typeof HLC_SESSIONS;

export interface Footprint {
  /** Live slots after GC. */
  slots: number;
  /** Live chunk bytes after GC (64-bit xsnap). */
  chunks: number;
}

export interface BridgeCounts {
  instances: number;
  protos: number;
  protoMembers: number;
  callbacks: number;
  timers: number;
  ioClasses: number;
  networkClasses: number;
}

export interface Sample {
  /** Virtual ms. */
  t: number;
  label: string;
  /** Above the baseline: firmware + bridge. */
  total: Footprint;
  /** The bridge's share at that moment. */
  bridge: Footprint;
  /** total − bridge. */
  firmware: Footprint;
  counts: BridgeCounts;
}

export interface VariantReport {
  variant: "full" | "no-ocpp" | "no-hlc";
  /** The scenario's name. */
  scenario: string;
  /** Engine + evaluated bundle before start() (absolute). */
  baseline: Footprint & { slotSize: number };
  samples: Sample[];
  afterBoot: Sample;
  afterSession: Sample;
  /** Maxima over the samples (each field separately). */
  highWater: { total: Footprint; firmware: Footprint };
  /** Live slots after GC at every command boundary: maximum above the baseline (firmware + bridge). */
  liveSlotsMax: number;
  /**
   * The largest count at the end of a command (start excluded) before its GC, above the baseline: bounds the
   * peak inside the command (garbage included: what the heap needs if no GC ran inside a command).
   */
  inCommandSlotsMax: number;
  /** The same for start() (parsing and validating the config, building every component). */
  startInCommandSlots: number;
  commands: number;
  /** Class-level censuses of the whole live heap (firmware + bridge + engine) at the `censusAt` instants. */
  census?: Array<{ t: number; entries: CensusEntry[] }>;
  session: {
    ok: boolean;
    interlockTrips: number;
    transactions: number;
    meterValues: number;
    registration: string;
    problems: string[];
    /** Energy of the sessions that ended (Wh, the firmware's meter). */
    energyWh: number;
    /** The HLC milestones in the trace (SECC side). */
    hlc: { handshake: string | null; sessionEnd: string | null; energyOn: number; isolation: string | null; safeStops: number };
  };
}

/** One HLC session: the whole firmware, and the same session with hlcEnabled false (the HLC stack's share). */
export interface HlcSessionReport {
  name: HlcSessionName;
  full: VariantReport;
  /** hlcEnabled false (absent with `fullOnly`): the same board and car; a DC board then never charges. */
  noHlc?: VariantReport;
  /** The full run's sample nearest to the scenario's mid-session instant. */
  mid: Sample;
  /** full − noHlc, the firmware's own figures (absent with `fullOnly`). */
  share?: { highWater: Footprint; mid: Footprint; afterSession: Footprint };
}

export interface MemoryReport {
  full: VariantReport;
  noOcpp: VariantReport;
  /** full − noOcpp, firmware's own share. */
  ocpp: { afterSession: Footprint; highWater: Footprint };
}

export interface MemoryOptions {
  /** Sample (gc + snapshot + bridge share) every this many virtual ms. Default 1,000. */
  sampleMs?: number;
  /** Only the full firmware (no OCPP-stub run, no hlcEnabled-false run). */
  fullOnly?: boolean;
  /** measureHlcMemory: which HLC sessions (default both). */
  sessions?: HlcSessionName[];
}

/** Runs the measurement in a child process (SES lockdown stays out of the caller's process). */
export function measureMemory(options: MemoryOptions = {}): Promise<MemoryReport> {
  return runChild(here, ["--child", JSON.stringify(options)], "bench-memory") as Promise<MemoryReport>;
}

/** The HLC sessions (HLC_SESSIONS), each in full and with hlcEnabled false, in a child process. */
export function measureHlcMemory(options: MemoryOptions = {}): Promise<HlcSessionReport[]> {
  return runChild(here, ["--hlc-child", JSON.stringify(options)], "bench-memory") as Promise<HlcSessionReport[]>;
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const pct = (part: number, whole: number): string => `${Math.round((1000 * part) / whole) / 10} %`;

/** The bench rows (tools/bench.ts). */
export async function benchMemory(options: MemoryOptions = {}): Promise<BenchRow[]> {
  const [r, hlc] = await Promise.all([measureMemory(options), measureHlcMemory(options)]);
  const f = r.full;
  const b = f.afterBoot.firmware, h = f.highWater.firmware, e = f.afterSession.firmware;
  const P = ESP32_POOLS;
  const rows: BenchRow[] = [
    { name: "XS firmware live heap after boot (bridge excluded, after GC)", value: b.slots, unit: "slots", note: `${thousands(b.chunks)} chunk bytes` },
    { name: "XS firmware live heap high-water over a full session (sampled every 1 s, after GC)", value: h.slots, unit: "slots", note: `${thousands(h.chunks)} chunk bytes` },
    { name: "XS firmware live heap after the session", value: e.slots, unit: "slots", note: `${thousands(e.chunks)} chunk bytes` },
    {
      name: "XS firmware + bridge: live slots max at any command boundary / in-command bound (before GC)",
      value: f.liveSlotsMax,
      unit: "slots",
      note: `in-command <= ${thousands(f.inCommandSlotsMax)}, start() ${thousands(f.startInCommandSlots)} (garbage incl. bridge encoding)`,
    },
    {
      name: "XS bridge stand-ins' own share after the session (excluded above)",
      value: f.afterSession.bridge.slots,
      unit: "slots",
      note: `${thousands(f.afterSession.bridge.chunks)} chunk bytes; ${f.afterSession.counts.instances} instances, ${f.afterSession.counts.protoMembers} bridged members, ${f.afterSession.counts.timers} timers`,
    },
    {
      name: "XS OCPP stack heap after a full session (firmware full minus OCPP stub)",
      value: r.ocpp.afterSession.slots * P.slotBytes + r.ocpp.afterSession.chunks,
      unit: "bytes",
      note: `${thousands(r.ocpp.afterSession.slots)} slots x 16 B + ${thousands(r.ocpp.afterSession.chunks)} chunk B; high-water ${thousands(r.ocpp.highWater.slots)} slots + ${thousands(r.ocpp.highWater.chunks)} B; peer reference ~22 KB`,
    },
    {
      name: "XS room left in the ESP32 slot pool (4,928) at the firmware's high-water",
      value: P.slots - h.slots,
      unit: "slots",
      note: `${pct(P.slots - h.slots, P.slots)} free`,
    },
    {
      name: "XS room left in the ESP32 chunk pool (78,848 B) at the firmware's high-water",
      value: P.chunkBytes - h.chunks,
      unit: "bytes",
      note: `${pct(P.chunkBytes - h.chunks, P.chunkBytes)} free (64-bit chunk sizes: an upper bound)`,
    },
  ];
  for (const h of hlc) rows.push(...hlcRows(h));
  return rows;
}

/** The rows of one HLC session (HLC_SESSIONS): the firmware's high-water against the pools, the HLC stack's share. */
function hlcRows(h: HlcSessionReport): BenchRow[] {
  const P = HLC_POOLS;
  const D = ESP32_POOLS;
  const { label, midMs } = HLC_SESSIONS[h.name];
  const hw = h.full.highWater.firmware;
  const fits = hw.slots <= 0.8 * P.slots && hw.chunks <= 0.8 * P.chunkBytes;
  const rows: BenchRow[] = [
    {
      name: `XS firmware live heap high-water over the ${label} session (HLC, OCPP, signed MV; sampled every 1 s)`,
      value: hw.slots,
      unit: "slots",
      note: `${pct(hw.slots, P.slots)} of the HLC board's 6,656 slots (${pct(hw.slots, D.slots)} of the default 4,928); ${thousands(hw.chunks)} chunk B = ${pct(hw.chunks, P.chunkBytes)} of 98,304 (${pct(hw.chunks, D.chunkBytes)} of 78,848); 80 % target ${fits ? "met" : "NOT met"}`,
    },
  ];
  if (h.share && h.noHlc) {
    const sh = h.share;
    const bytes = (f: Footprint): number => f.slots * P.slotBytes + f.chunks;
    const off = h.noHlc.session;
    rows.push({
      name: `XS HLC stack share at the high-water, ${label} (full minus hlcEnabled false)`,
      value: bytes(sh.highWater),
      unit: "bytes",
      note: `${thousands(sh.highWater.slots)} slots x 16 B + ${thousands(sh.highWater.chunks)} chunk B; mid-session (${midMs / 1000} s) ${thousands(sh.mid.slots)} slots + ${thousands(sh.mid.chunks)} B; ${
        off.energyWh > 0 ? `without HLC the car charges on basic PWM (${Math.round(off.energyWh)} Wh)` : "without HLC the DC charger never charges (0 Wh)"
      }`,
    });
  }
  return rows;
}

// ---------------------------------------------------------------- child

type XsFirmwareT = import("./host.js").XsFirmware;
interface SnapshotWorker {
  makeSnapshotStream(description?: string): AsyncIterable<Uint8Array>;
}

/** Live chunk bytes and slots from an XS snapshot (it runs a full GC first). */
export async function snapshotFootprint(xs: XsFirmwareT): Promise<Footprint & { slotSize: number }> {
  return footprintOf(await snapshotOf(xs));
}

/** An XS snapshot of the worker (XS runs a full GC first). */
export async function snapshotOf(xs: XsFirmwareT): Promise<Buffer> {
  const worker = (xs as unknown as { worker: SnapshotWorker }).worker;
  const parts: Uint8Array[] = [];
  for await (const part of worker.makeSnapshotStream("memory")) parts.push(part);
  return Buffer.concat(parts);
}

function footprintOf(buf: Buffer): Footprint & { slotSize: number } {
  if (buf.toString("latin1", 4, 8) !== "XS_M") throw new Error("snapshot: not an XS machine");
  let slotSize = 0, chunks = -1, heap = -1;
  for (let at = 8; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    if (type === "VERS") slotSize = buf[at + 11]!;
    else if (type === "BLOC") chunks = size - 8;
    else if (type === "HEAP") heap = size - 8;
    if (size < 8) break;
    at += size;
  }
  if (chunks < 0 || heap < 0 || slotSize <= 0) throw new Error("snapshot: BLOC/HEAP/VERS atoms not found");
  return { chunks, slots: heap / slotSize, slotSize };
}

/** Live slots per object kind, from an XS snapshot's HEAP: key "Class" / "Array" / "fn name" / "(closure vars)"... */
export interface CensusEntry {
  label: string;
  objects: number;
  /** Slots of the instances and their property / internal chains. */
  slots: number;
}

/**
 * A class-level census of the live heap, parsed from an XS snapshot (64-bit little-endian xsnap slots: next, kind,
 * flag, ID, value; references as 1-based slot indexes, strings as BLOC offsets). Each instance is counted with
 * the slots of its own chain (properties and internal slots), labelled by its prototype's constructor name
 * (plain objects "Object", arrays "Array", functions "fn <name>"). Slots no instance chain holds (closure
 * variables, strings' holders, keys...) are counted by kind under "(other: kind N)". Slot counts only (the chunks
 * an array or a string owns are not attributed).
 */
export function censusOf(buf: Buffer): CensusEntry[] {
  let heapAt = -1, heapLen = 0, blocAt = -1, keysAt = -1, keysLen = 0, slotSize = 0;
  for (let at = 8; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    if (type === "VERS") slotSize = buf[at + 11]!;
    else if (type === "BLOC") blocAt = at + 8;
    else if (type === "HEAP") (heapAt = at + 8), (heapLen = size - 8);
    else if (type === "KEYS") (keysAt = at + 8), (keysLen = size - 8);
    if (size < 8) break;
    at += size;
  }
  if (slotSize !== 32 || heapAt < 0 || blocAt < 0 || keysAt < 0) throw new Error("census: a 64-bit XS snapshot is needed");
  const n = heapLen / 32;
  // Slot i (1-based) at heapAt + (i - 1) * 32.
  const off = (i: number): number => heapAt + (i - 1) * 32;
  const kind = (i: number): number => buf.readInt8(off(i) + 8);
  const next = (i: number): number => Number(buf.readBigUInt64LE(off(i)));
  const id = (i: number): number => buf.readUInt32LE(off(i) + 12);
  const ref = (i: number, at = 16): number => Number(buf.readBigUInt64LE(off(i) + at));
  const cString = (at: number): string => {
    const start = blocAt + at;
    let end = start;
    while (end < buf.length && buf[end] !== 0) end++;
    return buf.toString("utf8", start, end);
  };
  const KEY = 43, INSTANCE = 13, REFERENCE = 10, STRING = 5, STRING_X = 6, ARRAY = 16, CODE = 19, CODE_X = 20, CALLBACK = 18;
  const keyNames = new Map<number, string>();
  for (let k = 0; k < keysLen / 8; k++) {
    const slot = Number(buf.readBigUInt64LE(keysAt + 8 * k));
    if (slot > 0 && slot <= n && kind(slot) === KEY) keyNames.set(k, cString(ref(slot)));
  }
  const property = (obj: number, name: string): number => {
    for (let s = next(obj), guard = 0; s > 0 && guard < 10_000; s = next(s), guard++) if (keyNames.get(id(s)) === name) return s;
    return 0;
  };
  const stringOf = (s: number): string | null => (s > 0 && kind(s) === STRING ? cString(ref(s)) : null);
  const nameOfFunction = (f: number): string => stringOf(property(f, "name")) ?? "?";
  const protoLabel = new Map<number, string>();
  const labelOfProto = (p: number): string => {
    if (p === 0) return "(null prototype)";
    let l = protoLabel.get(p);
    if (l === undefined) {
      const c = property(p, "constructor");
      if (c > 0 && kind(c) === REFERENCE) l = nameOfFunction(ref(c));
      else {
        const names: string[] = [];
        for (let s = next(p), guard = 0; s > 0 && guard < 4; s = next(s), guard++) names.push(keyNames.get(id(s)) ?? `#${kind(s)}`);
        l = `(prototype {${names.join(",")}})`;
      }
      protoLabel.set(p, l);
    }
    return l;
  };
  const owned = new Uint8Array(n + 1);
  const byLabel = new Map<string, CensusEntry>();
  const add = (label: string, slots: number): void => {
    const e = byLabel.get(label) ?? { label, objects: 0, slots: 0 };
    e.objects++;
    e.slots += slots;
    byLabel.set(label, e);
  };
  for (let i = 1; i <= n; i++) {
    if (kind(i) !== INSTANCE) continue;
    owned[i] = 1;
    let count = 1;
    for (let s = next(i), guard = 0; s > 0 && s <= n && guard < 100_000; s = next(s), guard++) {
      owned[s] = 1;
      count++;
    }
    const first = next(i);
    const fk = first > 0 ? kind(first) : -1;
    const label =
      fk === CODE || fk === CODE_X || fk === CALLBACK
        ? `fn ${nameOfFunction(i)}`
        : fk === ARRAY
          ? "Array"
          : fk === STRING || fk === STRING_X
            ? "String object"
            : labelOfProto(ref(i, 24));
    add(label, count);
  }
  for (let i = 1; i <= n; i++) if (!owned[i]) add(`(other: kind ${kind(i)})`, 1);
  return [...byLabel.values()].sort((a, b) => b.slots - a.slots);
}

const minus = (a: Footprint, b: Footprint): Footprint => ({ slots: a.slots - b.slots, chunks: a.chunks - b.chunks });

/**
 * The OCPP stack replaced by a stub (accepts every card locally, sends nothing; no transaction journal), or, with
 * `without`, the full firmware minus one OCPP 1.6 feature module (features/index.ts FEATURES filtered).
 */
async function bundleVariant(outFile: string, without?: string): Promise<string> {
  const { build } = await import("esbuild");
  const version = /FIRMWARE_VERSION = ("[^"]*")/.exec(await readFile(path.join(root, "firmware/ocpp/v16/charge-point.ts"), "utf8"))?.[1] ?? '"0"';
  const stubs: Record<string, string> = {
    "charge-point": `export const FIRMWARE_VERSION = ${version};
export class ChargePoint16 {
  constructor() { this.registration = "none"; this.rpc = { state: "stub" }; this.tx = { length: 0, transactionId() { return null; } }; this.authorizer = (idTag, done) => done(true, "local stub"); }
  start() {}
  stop() {}
}`,
    open: `export function openTxJournal() { return null; }`,
    features: `import { FEATURES as ALL } from ${JSON.stringify(path.join(root, "firmware/ocpp/v16/features/index.ts"))};
export const FEATURES = ALL.filter((f) => f.name !== ${JSON.stringify(without ?? "")});`,
  };
  const file = path.resolve(root, outFile);
  await build({
    bundle: true,
    platform: "neutral",
    target: "es2022",
    format: "iife",
    outfile: file,
    legalComments: "none",
    logLevel: "silent",
    absWorkingDir: root,
    stdin: {
      contents:
        `import { start } from ${JSON.stringify(path.join(root, "firmware/main.ts"))};\n` +
        `import { installGuest } from ${JSON.stringify(path.join(root, "tools/xs/guest.ts"))};\n` +
        `installGuest(start);\n`,
      resolveDir: root,
      sourcefile: "xs-memory-entry.ts",
      loader: "ts",
    },
    plugins: [
      {
        name: "no-ocpp",
        setup(b) {
          if (without !== undefined) {
            b.onResolve({ filter: /^\.\/features\/index\.js$/ }, (a) =>
              a.importer.endsWith("charge-point.ts") ? { path: "features", namespace: "ocpp-stub" } : undefined,
            );
          } else {
            b.onResolve({ filter: /^\.\/ocpp\/(v16\/charge-point|transactions\/open)\.js$/ }, (a) => ({
              path: a.path.includes("charge-point") ? "charge-point" : "open",
              namespace: "ocpp-stub",
            }));
          }
          b.onLoad({ filter: /.*/, namespace: "ocpp-stub" }, (a) => ({ contents: stubs[a.path]!, loader: "js", resolveDir: root }));
        },
      },
    ],
  });
  return file;
}

async function runVariant(
  variant: VariantReport["variant"],
  bundle: string,
  sampleMs: number,
  endMs?: number,
  scenarioIn: { name: string } = MEMORY_SCENARIO,
  censusAt: number[] = [],
): Promise<VariantReport> {
  const { XsFirmware } = await import("./host.js");
  const { Simulation } = (await import(path.join(root, "build/simulator/simulation.js"))) as typeof import("../../simulator/simulation.js");
  const { parseScenario } = (await import(path.join(root, "build/simulator/scenario.js"))) as typeof import("../../simulator/scenario.js");
  const scenario = parseScenario(JSON.stringify(scenarioIn), scenarioIn.name);
  const sim = await Simulation.create({ scenario, recordHal: false, keepTrace: true });
  let xs: XsFirmwareT | null = null;
  let baseline: (Footprint & { slotSize: number }) | null = null;
  let liveMax = 0, inCommandMax = 0, startInCommand = 0, commands = 0, boots = 0;
  const samples: Sample[] = [];
  const census: Array<{ t: number; entries: CensusEntry[] }> = [];

  const sample = async (label: string): Promise<Sample> => {
    const x = xs!;
    const snap = await snapshotFootprint(x);
    const counts = (await x.command({ op: "bridgeFootprint", clone: true })) as BridgeCounts;
    const withCopy = await snapshotFootprint(x);
    await x.command({ op: "bridgeFootprint", clone: false });
    const total = minus(snap, baseline!);
    const bridge = minus(withCopy, snap);
    const s: Sample = { t: sim.scheduler.now, label, total, bridge, firmware: minus(total, bridge), counts };
    samples.push(s);
    return s;
  };

  await sim.start(async (hal, config) => {
    if (++boots > 1) throw new Error("bench-memory: the firmware rebooted");
    const x = await XsFirmware.launch({ bundle, name: `${scenarioIn.name}-${variant}`, stdout: "ignore", historyLimit: 0 });
    xs = x;
    x.attach(hal);
    baseline = await snapshotFootprint(x);
    // After every command: a full GC, so each count is the live set at a command boundary.
    const command = x.command.bind(x);
    x.command = async (message: Record<string, unknown>, kind?: string): Promise<unknown> => {
      const v = await command(message, kind);
      if (message.op === "bridgeFootprint") return v;
      commands++;
      const before = x.meters.heapCount - baseline!.slots;
      const live = (await x.gc()).currentHeapCount - baseline!.slots;
      if (message.op === "start") startInCommand = before;
      else if (before > inCommandMax) inCommandMax = before;
      if (live > liveMax) liveMax = live;
      return v;
    };
    await x.start(config);
    return {
      stop: () => (x.isClosed ? undefined : x.stop()),
      status: () => null,
    };
  });
  const afterBoot = await sample("after boot");
  const end = endMs ?? sim.scenario.durationMs;
  for (let t = sampleMs; t <= end; t += sampleMs) {
    await sim.scheduler.run(t);
    await sample(`${t / 1000} s`);
    if (censusAt.includes(t)) census.push({ t, entries: censusOf(await snapshotOf(xs!)) });
  }
  const st = (await xs!.status()) as { ocpp: { registration: string } };
  const afterSession = await sample("after session");
  const result = sim.result();
  const events = sim.trace.events as unknown as Array<Record<string, unknown>>;
  const meterValues = events.filter((e) => {
    const f = e.frame;
    return e.kind === "ocpp" && Array.isArray(f) && f[0] === 2 && f[2] === "MeterValues";
  }).length;
  const hlcEvents = events.filter((e) => e.kind === "hlc");
  const hlcField = (event: string, field: string): string | null => {
    const e = hlcEvents.find((x) => x.event === event);
    return e === undefined ? null : String(e[field]);
  };
  const energyWh = events.filter((e) => e.kind === "session" && e.event === "ended").reduce((a, e) => a + Number(e.Wh ?? 0), 0);
  await xs!.close();
  await sim.close();
  const hw = (pick: (s: Sample) => Footprint): Footprint => ({
    slots: Math.max(...samples.map((s) => pick(s).slots)),
    chunks: Math.max(...samples.map((s) => pick(s).chunks)),
  });
  return {
    variant,
    scenario: scenarioIn.name,
    baseline: baseline!,
    samples,
    afterBoot,
    afterSession,
    highWater: { total: hw((s) => s.total), firmware: hw((s) => s.firmware) },
    liveSlotsMax: liveMax,
    inCommandSlotsMax: inCommandMax,
    startInCommandSlots: startInCommand,
    commands,
    ...(census.length > 0 ? { census } : {}),
    session: {
      ok: result.ok,
      interlockTrips: result.interlockTrips,
      transactions: (result as unknown as { sessions?: unknown[] }).sessions?.length ?? 0,
      meterValues,
      registration: st.ocpp.registration,
      problems: (result as unknown as { problems?: string[] }).problems ?? [],
      energyWh,
      hlc: {
        handshake: hlcField("handshake", "protocol"),
        sessionEnd: hlcField("session-end", "end"),
        energyOn: hlcEvents.filter((e) => e.event === "energy" && e.on === true).length,
        isolation: hlcField("isolation", "result"),
        safeStops: events.filter((e) => e.kind === "safe-stop" || (e.kind === "hlc" && e.event === "safe-stop")).length,
      },
    },
  };
}

async function child(options: MemoryOptions): Promise<MemoryReport> {
  await import("@endo/init");
  const { bundleXsGuest } = await import("../bundle.js");
  const sampleMs = options.sampleMs ?? 1_000;
  const full = await runVariant("full", (await bundleXsGuest(root, { outFile: "build/xs-memory/full.js" })).file, sampleMs);
  const noOcpp = options.fullOnly ? full : await runVariant("no-ocpp", await bundleVariant("build/xs-memory/no-ocpp.js"), sampleMs);
  return {
    full,
    noOcpp,
    ocpp: {
      afterSession: minus(full.afterSession.firmware, noOcpp.afterSession.firmware),
      highWater: minus(full.highWater.firmware, noOcpp.highWater.firmware),
    },
  };
}

/** The sample of `r` nearest to virtual instant `t`. */
function sampleAt(r: VariantReport, t: number): Sample {
  let best = r.samples[0]!;
  for (const s of r.samples) if (Math.abs(s.t - t) < Math.abs(best.t - t)) best = s;
  return best;
}

async function hlcChild(options: MemoryOptions): Promise<HlcSessionReport[]> {
  await import("@endo/init");
  const { bundleXsGuest } = await import("../bundle.js");
  const sampleMs = options.sampleMs ?? 1_000;
  const bundle = (await bundleXsGuest(root, { outFile: "build/xs-memory/full.js" })).file;
  const out: HlcSessionReport[] = [];
  for (const name of options.sessions ?? (Object.keys(HLC_SESSIONS) as HlcSessionName[])) {
    const { scenario, midMs } = HLC_SESSIONS[name];
    const full = await runVariant("full", bundle, sampleMs, undefined, scenario);
    const mid = sampleAt(full, midMs);
    if (options.fullOnly) {
      out.push({ name, full, mid });
      continue;
    }
    const off = { ...scenario, name: `${scenario.name}-no-hlc`, config: { ...scenario.config, hlcEnabled: false } };
    const noHlc = await runVariant("no-hlc", bundle, sampleMs, undefined, off);
    out.push({
      name,
      full,
      noHlc,
      mid,
      share: {
        highWater: minus(full.highWater.firmware, noHlc.highWater.firmware),
        mid: minus(mid.firmware, sampleAt(noHlc, midMs).firmware),
        afterSession: minus(full.afterSession.firmware, noHlc.afterSession.firmware),
      },
    });
  }
  return out;
}

/** `--scenario FILE`: the full firmware on any scenario file (high-water, after boot / session, the samples). */
async function scenarioChild(file: string, options: MemoryOptions & { censusAt?: number[] }): Promise<VariantReport> {
  await import("@endo/init");
  const { bundleXsGuest } = await import("../bundle.js");
  const scenario = JSON.parse(await readFile(path.resolve(file), "utf8")) as { name: string };
  const bundle = (await bundleXsGuest(root, { outFile: "build/xs-memory/full.js" })).file;
  const name = scenario.name ?? path.basename(file, ".json");
  return runVariant("full", bundle, options.sampleMs ?? 1_000, undefined, { ...scenario, name }, options.censusAt ?? []);
}

/** The census entries of `b` minus those of `a`, by label, largest growth first (changed labels only). */
export function censusDiff(a: CensusEntry[], b: CensusEntry[]): CensusEntry[] {
  const m = new Map<string, CensusEntry>();
  for (const e of b) m.set(e.label, { ...e });
  for (const e of a) {
    const x = m.get(e.label) ?? { label: e.label, objects: 0, slots: 0 };
    m.set(e.label, { label: e.label, objects: x.objects - e.objects, slots: x.slots - e.slots });
  }
  return [...m.values()].filter((e) => e.slots !== 0 || e.objects !== 0).sort((x, y) => y.slots - x.slots);
}

/**
 * `--features`: the boot-time cost of each OCPP 1.6 feature module: the firmware's own live heap 4 s after boot
 * (registered, idle), full minus the same firmware without that one feature.
 */
async function featuresChild(): Promise<Record<string, Footprint>> {
  await import("@endo/init");
  const { bundleXsGuest } = await import("../bundle.js");
  const endMs = 4_000;
  const full = await runVariant("full", (await bundleXsGuest(root, { outFile: "build/xs-memory/full.js" })).file, endMs, endMs);
  const { FEATURES } = (await import(path.join(root, "build/firmware/ocpp/v16/features/index.js"))) as { FEATURES: Array<{ name: string }> };
  const out: Record<string, Footprint> = { "(whole firmware, bridge excluded)": full.afterSession.firmware };
  for (const { name } of FEATURES) {
    try {
      const v = await runVariant("full", await bundleVariant(`build/xs-memory/without-${name}.js`, name), endMs, endMs);
      out[name] = minus(full.afterSession.firmware, v.afterSession.firmware);
    } catch (e) {
      out[name] = { slots: NaN, chunks: NaN };
      process.stderr.write(`without ${name}: ${(e as Error).message}\n`);
    }
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === here) {
  const opts = process.argv[3] && process.argv[2] !== "--scenario" ? (JSON.parse(process.argv[3]) as MemoryOptions) : {};
  const run: Promise<unknown> =
    process.argv[2] === "--child"
      ? child(opts)
      : process.argv[2] === "--hlc-child"
        ? hlcChild(opts)
        : process.argv[2] === "--scenario"
          ? scenarioChild(process.argv[3]!, process.argv[4] ? (JSON.parse(process.argv[4]) as MemoryOptions) : {})
          : process.argv[2] === "--hlc"
          ? measureHlcMemory(opts)
          : process.argv[2] === "--rows"
        ? benchMemory(opts)
        : process.argv[2] === "--features"
          ? featuresChild()
          : measureMemory(opts);
  run.then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (e: unknown) => {
      process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
      process.exit(1);
    },
  );
}
