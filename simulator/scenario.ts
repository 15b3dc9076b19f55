/**
 * Scenario files: what happens to the simulated charger and when (JSON). Documented in README.md.
 *
 * {
 *   "name": "demo", "seed": 42, "duration": "2h",
 *   "board": { "phases": 3, "ratedCurrent": 32 }, "world": { "cableOhms": 220 },
 *   "config": { ...firmware config overrides... }, "ev": { ...default EV... },
 *   "events": [ { "at": "5s", "do": "plug" }, { "at": "8s", "do": "swipe", "idTag": "DEMO1" }, ... ]
 * }
 *
 * Times are milliseconds or strings with units ("250ms", "5s", "10min", "2h", "1h30m"). A file that does not
 * parse, or that has an unknown key or a bad value, is rejected with its line and the reason.
 */
import { readFileSync } from "node:fs";
import type { Board } from "../hal/index.js";
import { parseJsonWithLines, JsonSyntaxError, type LineMap } from "./json-lines.js";
import { DC_FAULT_NONE, DC_FAULT_OVER_TEMPERATURE, DC_FAULT_SHORT_CIRCUIT, dcConfig, type DcConfig } from "./models/dc.js";
import { evConfig, type EvConfig } from "./models/ev.js";
import { worldConfig, type WorldConfig } from "./models/world.js";

export type ScenarioEvent =
  | { at: number; do: "plug"; ev?: Record<string, unknown> }
  | { at: number; do: "unplug" }
  | { at: number; do: "swipe"; idTag: string }
  | { at: number; do: "remoteStart"; idTag: string }
  | { at: number; do: "remoteStop" }
  | { at: number; do: "weld"; contactor: 0 | 1 }
  | { at: number; do: "rcd"; acMa: number; dcMa: number }
  | { at: number; do: "ambient"; c: number }
  | { at: number; do: "cable"; ohms: number }
  | { at: number; do: "powerCut"; offMs: number }
  | { at: number; do: "restart" }
  | { at: number; do: "network"; fault: "blackhole" | "restore" | "drop" | "refuse" }
  | { at: number; do: "limit"; amps: number | null }
  | { at: number; do: "availability"; available: boolean }
  | { at: number; do: "overheat"; sensor: string; factor: number }
  | { at: number; do: "pilotShort"; on: boolean }
  | { at: number; do: "meterFault"; fault: "none" | "silent" | "garbage" | "stuck" }
  | { at: number; do: "lockFault"; on: boolean }
  | { at: number; do: "wifi"; up: boolean; rssi?: number }
  | { at: number; do: "lte"; fault: "coverage-lost" | "coverage-back" | "stall" | "no-sim" | "signal"; csq?: number }
  | { at: number; do: "csms"; action: string; payload: Record<string, unknown> }
  | { at: number; do: "insulation"; ohms: number }
  | { at: number; do: "dcFault"; fault: "overTemperature" | "shortCircuit" | "none"; code: number };

export interface Scenario {
  name: string;
  seed: number;
  durationMs: number;
  /** Wall clock of the board's RTC at virtual time 0 (ms since epoch); 0 = RTC lost. */
  rtcMs: number;
  board: Board;
  world: Record<string, unknown>;
  config: Record<string, unknown>;
  ev: Record<string, unknown>;
  csms: { bootStatus: "Accepted" | "Pending" | "Rejected"; heartbeatInterval: number; rejectTags: string[] };
  /** Record every HAL call in the trace (for parity checks). */
  recordHal: boolean;
  /** Period of the simulator's meter trace events, ms (0 = off). */
  meterTraceMs: number;
  events: ScenarioEvent[];
}

export class ScenarioError extends Error {
  constructor(readonly file: string, readonly line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = "ScenarioError";
  }
}

export const DEFAULT_BOARD: Board = {
  model: "SimWallbox-22",
  vendor: "OpenChargeFW",
  serialNumber: "SIM-000001",
  phases: 3,
  contactors: 1,
  ratedCurrent: 32,
  nominalVoltage: 230,
  temperatureSensors: ["connector", "relay"],
  tetheredCable: false,
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h30m" -> 5400000. Returns NaN when the text is not a duration. */
export function parseDuration(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v : NaN;
  if (typeof v !== "string" || v.trim() === "") return NaN;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*(ms|min|m|s|h|d)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  const s = v.trim();
  while ((m = re.exec(s))) {
    const unit = m[2] === "m" ? "min" : m[2]!;
    total += Number(m[1]) * UNITS[unit]!;
    pos = re.lastIndex;
  }
  return pos === s.length ? total : NaN;
}

type FieldType = "dcFault" | "lteFault" | "duration" | "string" | "number" | "object" | "contactor" | "fault" | "boolean" | "amps" | "action" | "spiFault";
const EVENT_FIELDS: Record<ScenarioEvent["do"], Record<string, { type: FieldType; required: boolean }>> = {
  plug: { ev: { type: "object", required: false } },
  unplug: {},
  swipe: { idTag: { type: "string", required: true } },
  remoteStart: { idTag: { type: "string", required: true } },
  remoteStop: {},
  weld: { contactor: { type: "contactor", required: false } },
  rcd: { acMa: { type: "number", required: false }, dcMa: { type: "number", required: false } },
  ambient: { c: { type: "number", required: true } },
  cable: { ohms: { type: "number", required: true } },
  powerCut: { offMs: { type: "duration", required: false } },
  restart: {},
  network: { fault: { type: "fault", required: true } },
  limit: { amps: { type: "amps", required: true } },
  availability: { available: { type: "boolean", required: true } },
  overheat: { sensor: { type: "string", required: true }, factor: { type: "number", required: false } },
  pilotShort: { on: { type: "boolean", required: false } },
  meterFault: { fault: { type: "spiFault", required: true } },
  lockFault: { on: { type: "boolean", required: false } },
  wifi: { up: { type: "boolean", required: true }, rssi: { type: "number", required: false } },
  lte: { fault: { type: "lteFault", required: true }, csq: { type: "number", required: false } },
  csms: { action: { type: "action", required: true }, payload: { type: "object", required: false } },
  insulation: { ohms: { type: "number", required: true } },
  dcFault: { fault: { type: "dcFault", required: true } },
};

/** Scenario names of the DC power module's faults → DcSample.fault codes (simulator/models/dc.ts DC_FAULT_*). */
const DC_FAULTS: Record<string, number> = { none: DC_FAULT_NONE, overTemperature: DC_FAULT_OVER_TEMPERATURE, shortCircuit: DC_FAULT_SHORT_CIRCUIT };
/** board.dc: the power module's rating (hal/dc.ts DcLimits) and efficiency, with the largest values accepted. */
const BOARD_DC_KEYS: Record<string, number> = { maxVoltage: 1500, minVoltage: 1500, maxCurrent: 1000, minCurrent: 1000, maxPower: 1_000_000, efficiency: 1 };
/** world.dc: the finer points of the DC models (simulator/models/dc.ts DcConfig). */
const WORLD_DC_KEYS = ["rampVPerS", "rampAPerS", "bleedTauMs", "imdTestMs", "powerFactor"];

const TOP_KEYS = ["name", "seed", "duration", "rtc", "board", "world", "config", "ev", "csms", "recordHal", "meterTrace", "events", "description"];

/** The ISO 15118 / DIN 70121 session a scenario car runs (`ev.hlc`), as the simulation hands it to the scripted EVCC. */
export interface HlcScenario {
  protocol: "din" | "iso2";
  kind: "ac" | "dc";
  /** Requested current, A (AC: EVMaxCurrent per phase; DC: EVMaximumCurrentLimit); default: the car's. */
  current?: number;
  /** Charge-loop rounds; default: until the car's targetSoc (or the unplug). */
  loops?: number;
  /** ISO-2: end with SessionStop Pause. */
  pause?: boolean;
}

const HLC_KEYS = ["protocol", "kind", "current", "loops", "pause"];

function boardHasDc(board: Board): boolean {
  return (board as unknown as Record<string, unknown>)["dc"] !== undefined;
}

/**
 * Checks an `ev.hlc` value: undefined, true/false, or { protocol: "din"|"iso2", kind?: "ac"|"dc", current?, loops?,
 * pause? }. Returns null when fine, else [sub-path, reason]. DIN is DC only; kind dc needs board.dc once the board
 * knows that key (`dcKnown`); any HLC car needs board.plcModem.
 */
function validateHlc(v: unknown, board: Board, dcKnown: boolean): [string, string] | null {
  if (v === undefined || v === false) return null;
  const shape = 'must be true, false or { "protocol": "din" | "iso2", "kind"?: "ac" | "dc", "current"?: A, "loops"?: n, "pause"?: bool }';
  if (v !== true && (v === null || typeof v !== "object" || Array.isArray(v))) return ["", shape];
  if (board.plcModem === undefined) return ["", "needs board.plcModem"];
  if (v === true) return null;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!HLC_KEYS.includes(k)) return [`.${k}`, `unknown key; allowed: ${HLC_KEYS.join(", ")}`];
  if (o["protocol"] !== "din" && o["protocol"] !== "iso2") return [".protocol", 'must be "din" or "iso2"'];
  if (o["kind"] !== undefined && o["kind"] !== "ac" && o["kind"] !== "dc") return [".kind", 'must be "ac" or "dc"'];
  if (o["protocol"] === "din" && o["kind"] === "ac") return [".kind", "DIN 70121 is DC only"];
  const kind = o["kind"] ?? (o["protocol"] === "din" || boardHasDc(board) ? "dc" : "ac");
  if (kind === "dc" && dcKnown && !boardHasDc(board)) return [o["kind"] === undefined ? ".protocol" : ".kind", "a DC session needs board.dc"];
  const c = o["current"];
  if (c !== undefined && (typeof c !== "number" || !Number.isFinite(c) || c <= 0 || c > 1000)) return [".current", "must be a number of A in (0, 1000]"];
  const l = o["loops"];
  if (l !== undefined && (typeof l !== "number" || !Number.isInteger(l) || l < 1)) return [".loops", "must be a positive integer"];
  const p = o["pause"];
  if (p !== undefined && typeof p !== "boolean") return [".pause", "must be true or false"];
  if (p === true && o["protocol"] === "din") return [".pause", "DIN 70121 has no pause"];
  return null;
}

/** The EV model's config from a scenario car: `hlc` becomes the model's boolean HLC mode. */
export function asEvConfig(car: Record<string, unknown>): Partial<EvConfig> {
  const c = { ...car } as Record<string, unknown>;
  if (c["hlc"] !== undefined) c["hlc"] = c["hlc"] !== false;
  return c as Partial<EvConfig>;
}

/** The HLC session of a (validated) scenario car, null when it does not talk ISO 15118. `true` = ISO-2, AC or DC by the board. */
export function hlcOf(car: Record<string, unknown>, board: Board): HlcScenario | null {
  const v = car["hlc"];
  if (v === undefined || v === false || v === null) return null;
  if (v === true) return { protocol: "iso2", kind: boardHasDc(board) ? "dc" : "ac" };
  const o = v as Record<string, unknown>;
  const protocol = o["protocol"] === "din" ? "din" : "iso2";
  const kind = o["kind"] === "ac" || o["kind"] === "dc" ? o["kind"] : protocol === "din" || boardHasDc(board) ? "dc" : "ac";
  const out: HlcScenario = { protocol, kind };
  if (typeof o["current"] === "number") out.current = o["current"];
  if (typeof o["loops"] === "number") out.loops = o["loops"];
  if (typeof o["pause"] === "boolean") out.pause = o["pause"];
  return out;
}

/** The scenario's `world` for the World: insulationOhms and dc folded into WorldConfig.dc with board.dc. */
function dcWorld(world: Record<string, unknown>, dc: Partial<DcConfig>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...world, dc };
  delete out["insulationOhms"];
  return out;
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ScenarioError(file, 0, `cannot read: ${(e as Error).message}`);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file = "scenario"): Scenario {
  let parsed: { value: unknown; lines: LineMap };
  try {
    parsed = parseJsonWithLines(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new ScenarioError(file, e.line, `not valid JSON: ${e.message.replace(/^line \d+, /, "")}`);
    throw e;
  }
  const { value, lines } = parsed;
  const bad = (path: string, reason: string): never => {
    let line = lines.get(path);
    for (let p = path; line === undefined && p.length > 0; p = p.replace(/(\.[^.[\]]*|\[\d+\])$/, "")) line = lines.get(p);
    throw new ScenarioError(file, line ?? 1, `${path || "(root)"}: ${reason}`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) return bad("", "a scenario is a JSON object");
  const root = value as Record<string, unknown>;
  for (const k of Object.keys(root)) if (!TOP_KEYS.includes(k)) bad(k, `unknown key; allowed: ${TOP_KEYS.join(", ")}`);
  const obj = (k: string): Record<string, unknown> => {
    const v = root[k];
    if (v === undefined) return {};
    if (v === null || typeof v !== "object" || Array.isArray(v)) return bad(k, "must be an object");
    return v as Record<string, unknown>;
  };
  const seed = root["seed"] ?? 1;
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) bad("seed", "must be an integer in 0..4294967295");
  const durationMs = parseDuration(root["duration"] ?? "1h");
  if (!Number.isFinite(durationMs) || durationMs <= 0) bad("duration", 'must be a positive duration such as 5000, "90s" or "2h"');
  let rtcMs = Date.UTC(2026, 0, 15, 8, 0, 0);
  if (root["rtc"] !== undefined) {
    const r = root["rtc"];
    if (r === null) rtcMs = 0;
    else if (typeof r !== "string" || !Number.isFinite(Date.parse(r))) bad("rtc", "must be an ISO 8601 time or null (RTC lost)");
    else rtcMs = Date.parse(r);
  }
  const board: Board = { ...DEFAULT_BOARD, ...(obj("board") as Partial<Board>) };
  const b = obj("board");
  const boardKeys = [...Object.keys(DEFAULT_BOARD), "holdUpMs", "meterIc", "lteModem", "plcModem", "dc"];
  for (const k of Object.keys(b)) if (!boardKeys.includes(k)) bad(`board.${k}`, `unknown board key; allowed: ${boardKeys.join(", ")}`);
  if (b["plcModem"] !== undefined) {
    const pm = b["plcModem"] as Record<string, unknown> | null;
    const spi = (pm && typeof pm === "object" ? pm["spi"] : undefined) as Record<string, unknown> | undefined;
    if (pm === null || typeof pm !== "object" || pm["chip"] !== "qca7000") bad("board.plcModem", 'must be { "chip": "qca7000", "spi": { "hz": 8000000, "mode": 3, "select": 2 }, "irq": 12 }');
    if (!spi || typeof spi !== "object" || !(typeof spi["hz"] === "number" && spi["hz"] > 0) || !Number.isInteger(spi["select"])) bad("board.plcModem.spi", "needs hz > 0 and an integer select pin");
    if (pm!["irq"] !== undefined && !Number.isInteger(pm!["irq"])) bad("board.plcModem.irq", "must be a pin number");
  }
  if (board.holdUpMs !== undefined && (typeof board.holdUpMs !== "number" || !(board.holdUpMs >= 0 && board.holdUpMs <= 10_000))) bad("board.holdUpMs", "must be a number of ms in 0..10000");
  if (board.meterIc !== undefined) {
    const ic = board.meterIc as unknown as Record<string, unknown> | null;
    const spi = (ic && typeof ic === "object" ? ic["spi"] : undefined) as Record<string, unknown> | undefined;
    const pos = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
    if (ic === null || typeof ic !== "object" || ic["chip"] !== "ade9000") bad("board.meterIc", 'must be { "chip": "ade9000", "spi": {...}, "vFullScale": V, "iFullScale": A }');
    if (!spi || typeof spi !== "object" || !pos(spi["hz"]) || !Number.isInteger(spi["select"])) bad("board.meterIc.spi", "needs hz > 0 and an integer select pin");
    if (!pos(ic!["vFullScale"]) || !pos(ic!["iFullScale"])) bad("board.meterIc", "vFullScale and iFullScale must be positive numbers");
  }
  if (board.lteModem !== undefined) {
    const m = board.lteModem as unknown as Record<string, unknown> | null;
    const ser = (m && typeof m === "object" ? m["serial"] : undefined) as Record<string, unknown> | undefined;
    if (m === null || typeof m !== "object" || m["chip"] !== "bg95") bad("board.lteModem", 'must be { "chip": "bg95", "serial": { "port": 2, "baud": 115200 }, "reset": pin, "apn": "..." }');
    if (!ser || typeof ser !== "object" || !Number.isInteger(ser["baud"]) || (ser["baud"] as number) < 300) bad("board.lteModem.serial", "needs an integer baud >= 300");
    if (m!["reset"] !== undefined && !Number.isInteger(m!["reset"])) bad("board.lteModem.reset", "must be a pin number");
    if (m!["apn"] !== undefined && (typeof m!["apn"] !== "string" || !/^[\x20-\x7e]{1,62}$/.test(m!["apn"] as string) || (m!["apn"] as string).includes('"'))) bad("board.lteModem.apn", "must be 1..62 printable characters without quotes");
  }
  if (board.phases !== 1 && board.phases !== 3) bad("board.phases", "must be 1 or 3");
  if (board.contactors !== 1 && board.contactors !== 2) bad("board.contactors", "must be 1 or 2");
  if (typeof board.ratedCurrent !== "number" || board.ratedCurrent < 6 || board.ratedCurrent > 80) bad("board.ratedCurrent", "must be a number in 6..80");
  if (typeof board.nominalVoltage !== "number" || board.nominalVoltage < 100 || board.nominalVoltage > 400) bad("board.nominalVoltage", "must be a number in 100..400");
  if (!Array.isArray(board.temperatureSensors) || board.temperatureSensors.some((s) => typeof s !== "string")) bad("board.temperatureSensors", "must be a list of names");
  for (const k of ["model", "vendor", "serialNumber"] as const) if (typeof board[k] !== "string") bad(`board.${k}`, "must be a string");
  if (typeof board.tetheredCable !== "boolean") bad("board.tetheredCable", "must be true or false");
  // board.dc: a DC charger (simulator/models/dc.ts): the power module's rating; world.insulationOhms and world.dc
  // tune the models. They reach the World as WorldConfig.dc (in `world`); board.dc stays on the board as given.
  const worldIn = obj("world");
  let worldDc: Partial<DcConfig> | undefined;
  if (b["dc"] !== undefined) {
    const d = b["dc"] as Record<string, unknown> | null;
    if (d === null || typeof d !== "object" || Array.isArray(d)) bad("board.dc", 'must be { "maxVoltage": V, "minVoltage": V, "maxCurrent": A, "minCurrent": A, "maxPower": W }');
    for (const [k, v] of Object.entries(d!)) {
      const max = BOARD_DC_KEYS[k];
      if (max === undefined) bad(`board.dc.${k}`, `unknown key; allowed: ${Object.keys(BOARD_DC_KEYS).join(", ")}`);
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > max! || (v === 0 && k !== "minVoltage" && k !== "minCurrent")) bad(`board.dc.${k}`, `must be a number in ${k === "minVoltage" || k === "minCurrent" ? `0..${max}` : `(0, ${max}]`}`);
    }
    if (board.contactors !== 1) bad("board.contactors", "a DC board has one output contactor (DC+/DC−): must be 1");
    const wd = worldIn["dc"];
    if (wd !== undefined && (wd === null || typeof wd !== "object" || Array.isArray(wd))) bad("world.dc", `must be an object with ${WORLD_DC_KEYS.join(", ")}`);
    for (const k of Object.keys((wd ?? {}) as object)) if (!WORLD_DC_KEYS.includes(k)) bad(`world.dc.${k}`, `unknown key; allowed: ${WORLD_DC_KEYS.join(", ")}`);
    const ins = worldIn["insulationOhms"];
    if (ins !== undefined && (typeof ins !== "number" || !Number.isFinite(ins) || ins <= 0)) bad("world.insulationOhms", "must be a positive number of ohms");
    worldDc = { ...((wd ?? {}) as Partial<DcConfig>), ...(d as Partial<DcConfig>), ...(ins !== undefined ? { insulationOhms: ins as number } : {}) };
    try {
      dcConfig(worldDc);
    } catch (e) {
      bad("board.dc", (e as Error).message);
    }
  } else {
    if (worldIn["insulationOhms"] !== undefined) bad("world.insulationOhms", "needs a DC board (board.dc)");
    if (worldIn["dc"] !== undefined) bad("world.dc", "needs a DC board (board.dc)");
  }

  const csmsIn = obj("csms");
  for (const k of Object.keys(csmsIn)) if (!["bootStatus", "heartbeatInterval", "rejectTags"].includes(k)) bad(`csms.${k}`, "unknown key; allowed: bootStatus, heartbeatInterval, rejectTags");
  const bootStatus = csmsIn["bootStatus"] ?? "Accepted";
  if (bootStatus !== "Accepted" && bootStatus !== "Pending" && bootStatus !== "Rejected") bad("csms.bootStatus", "must be Accepted, Pending or Rejected");
  const heartbeatInterval = csmsIn["heartbeatInterval"] ?? 300;
  if (typeof heartbeatInterval !== "number" || !Number.isInteger(heartbeatInterval) || heartbeatInterval < 1) bad("csms.heartbeatInterval", "must be a positive integer (s)");
  const rejectTags = csmsIn["rejectTags"] ?? [];
  if (!Array.isArray(rejectTags) || rejectTags.some((t) => typeof t !== "string")) bad("csms.rejectTags", "must be a list of idTags");

  const eventsIn = root["events"] ?? [];
  if (!Array.isArray(eventsIn)) bad("events", "must be a list");
  const events: ScenarioEvent[] = [];
  (eventsIn as unknown[]).forEach((e, i) => {
    const p = `events[${i}]`;
    if (e === null || typeof e !== "object" || Array.isArray(e)) bad(p, "an event is an object with 'at' and 'do'");
    const ev = e as Record<string, unknown>;
    const kind = ev["do"];
    if (typeof kind !== "string" || !(kind in EVENT_FIELDS)) bad(`${p}.do`, `unknown action ${JSON.stringify(kind)}; allowed: ${Object.keys(EVENT_FIELDS).join(", ")}`);
    const at = parseDuration(ev["at"]);
    if (!Number.isFinite(at)) bad(`${p}.at`, 'must be a time such as 5000 or "5s"');
    const fields = EVENT_FIELDS[kind as ScenarioEvent["do"]];
    const out: Record<string, unknown> = { at, do: kind };
    for (const k of Object.keys(ev)) {
      if (k === "at" || k === "do") continue;
      const f = fields[k];
      if (!f) bad(`${p}.${k}`, `unknown field for "${kind}"; allowed: ${["at", "do", ...Object.keys(fields)].join(", ")}`);
    }
    for (const [k, f] of Object.entries(fields)) {
      const v = ev[k];
      if (v === undefined) {
        if (f.required) bad(p, `"${kind}" needs "${k}"`);
        continue;
      }
      switch (f.type) {
        case "duration": {
          const d = parseDuration(v);
          if (!Number.isFinite(d)) bad(`${p}.${k}`, "must be a duration");
          out[k] = d;
          break;
        }
        case "string":
          if (typeof v !== "string" || v.length === 0 || v.length > 20) bad(`${p}.${k}`, "must be a string of 1..20 characters");
          out[k] = v;
          break;
        case "number":
          if (typeof v !== "number" || !Number.isFinite(v)) bad(`${p}.${k}`, "must be a number");
          out[k] = v;
          break;
        case "object":
          if (v === null || typeof v !== "object" || Array.isArray(v)) bad(`${p}.${k}`, "must be an object");
          out[k] = v;
          break;
        case "action":
          if (typeof v !== "string" || !/^[A-Za-z0-9]{1,64}$/.test(v)) bad(`${p}.${k}`, "must be an OCPP action name");
          out[k] = v;
          break;
        case "contactor":
          if (v !== 0 && v !== 1) bad(`${p}.${k}`, "must be 0 or 1");
          out[k] = v;
          break;
        case "boolean":
          if (typeof v !== "boolean") bad(`${p}.${k}`, "must be true or false");
          out[k] = v;
          break;
        case "amps":
          if (v !== null && (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 80)) bad(`${p}.${k}`, "must be a number in 0..80 (A) or null (withdraw the claim)");
          out[k] = v;
          break;
        case "spiFault":
          if (!["none", "silent", "garbage", "stuck"].includes(v as string)) bad(`${p}.${k}`, "must be none, silent, garbage or stuck");
          out[k] = v;
          break;
        case "dcFault":
          if (typeof v !== "string" || !Object.prototype.hasOwnProperty.call(DC_FAULTS, v)) bad(`${p}.${k}`, `must be ${Object.keys(DC_FAULTS).join(", ")}`);
          out[k] = v;
          break;
        case "lteFault":
          if (!["coverage-lost", "coverage-back", "stall", "no-sim", "signal"].includes(v as string)) bad(`${p}.${k}`, "must be coverage-lost, coverage-back, stall, no-sim or signal");
          out[k] = v;
          break;
        case "fault":
          if (!["blackhole", "restore", "drop", "refuse"].includes(v as string)) bad(`${p}.${k}`, "must be blackhole, restore, drop or refuse");
          out[k] = v;
          break;
      }
    }
    if (kind === "weld" && out["contactor"] === undefined) out["contactor"] = 0;
    if (kind === "rcd") {
      out["acMa"] = out["acMa"] ?? 0;
      out["dcMa"] = out["dcMa"] ?? 0;
    }
    if (kind === "powerCut" && out["offMs"] === undefined) out["offMs"] = 2000;
    if (kind === "pilotShort" && out["on"] === undefined) out["on"] = true;
    if (kind === "lockFault") {
      if (out["on"] === undefined) out["on"] = true;
      if (board.tetheredCable) bad(p, "a board with a fixed cable has no socket lock to jam");
    }
    if (kind === "csms" && out["payload"] === undefined) out["payload"] = {};
    if ((kind === "insulation" || kind === "dcFault") && worldDc === undefined) bad(p, "this board has no DC power module (board.dc)");
    if (kind === "insulation" && !((out["ohms"] as number) > 0)) bad(`${p}.ohms`, "must be a positive number of ohms");
    if (kind === "dcFault") out["code"] = DC_FAULTS[out["fault"] as string];
    if (kind === "lte" && out["csq"] !== undefined && !(Number.isInteger(out["csq"]) && (out["csq"] as number) >= 0 && (out["csq"] as number) <= 31)) bad(`${p}.csq`, "must be an integer 0..31 (+CSQ rssi)");
    if (kind === "lte" && !board.lteModem) bad(p, "this board has no LTE modem (board.lteModem)");
    if (kind === "overheat") {
      if (out["factor"] === undefined) out["factor"] = 5;
      if (!((out["factor"] as number) >= 1)) bad(`${p}.factor`, "must be a number >= 1 (1 clears the fault)");
      if (!board.temperatureSensors.includes(out["sensor"] as string)) bad(`${p}.sensor`, `unknown sensor; this board has: ${board.temperatureSensors.join(", ")}`);
    }
    events.push(out as ScenarioEvent);
  });
  events.sort((a, b) => a.at - b.at);
  // The models validate their own parameters: report their complaint at the right line.
  const check = (path: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      bad(path, (e as Error).message);
    }
  };
  // ev.hlc: the car speaks ISO 15118 / DIN 70121 (the simulated EVCC, simulator/evcc): validated here, handed to the
  // EV model as a boolean (its HLC mode), the session options go to the scripted EVCC (hlcOf).
  const hlcProblem = (v: unknown): [string, string] | null => validateHlc(v, board, boardKeys.includes("dc"));
  const evIn = obj("ev");
  const evProblem = hlcProblem(evIn["hlc"]);
  if (evProblem) bad(`ev.hlc${evProblem[0]}`, evProblem[1]);
  check("ev", () => evConfig(asEvConfig(evIn)));
  (eventsIn as Array<Record<string, unknown>>).forEach((e, i) => {
    if (e["do"] !== "plug" || e["ev"] === undefined) return;
    const plugEv = e["ev"] as Record<string, unknown>;
    const p = hlcProblem(plugEv["hlc"]);
    if (p) bad(`events[${i}].ev.hlc${p[0]}`, p[1]);
    check(`events[${i}].ev`, () => evConfig(asEvConfig({ ...evIn, ...plugEv })));
  });
  check("world", () => worldConfig({ phases: board.phases, ...(obj("world") as Partial<WorldConfig>) }));
  const meterTraceMs = parseDuration(root["meterTrace"] ?? 1000);
  if (!Number.isFinite(meterTraceMs)) bad("meterTrace", "must be a duration (0 = off)");
  if (root["recordHal"] !== undefined && typeof root["recordHal"] !== "boolean") bad("recordHal", "must be true or false");
  const name = root["name"] ?? "scenario";
  if (typeof name !== "string") bad("name", "must be a string");
  return {
    name: name as string,
    seed: seed as number,
    durationMs,
    rtcMs,
    board,
    world: worldDc === undefined ? obj("world") : dcWorld(obj("world"), worldDc),
    config: obj("config"),
    ev: obj("ev"),
    csms: { bootStatus: bootStatus as Scenario["csms"]["bootStatus"], heartbeatInterval: heartbeatInterval as number, rejectTags: rejectTags as string[] },
    recordHal: root["recordHal"] === true,
    meterTraceMs,
    events,
  };
}
