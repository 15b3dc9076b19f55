/**
 * EXI codec robustness and round-trip tooling (Node side; used by test/exi and the bench):
 *  - randomExiDocument(grammar, prng): a seeded random valid message of a generated grammar (a random walk of
 *    the grammar tables: random productions, values within their datatypes);
 *  - fuzzExi(iterations, seed): decodes mutations of the reference vectors and random bytes; every input must
 *    decode or fail with an ExiError (no other exception, no hang); returns the counts.
 */
import { existsSync, readFileSync } from "node:fs";
import { ExiDecoder, ExiError, type ExiGrammar, type ExiObject, type ExiValue } from "../firmware/iso15118/exi/index.js";
import {
  D_BINARY, D_BOOLEAN, D_ENUM, D_INT, D_NBIT, D_STRING, D_UINT, F_ARRAY, F_ENTRY, F_LOOP, P_AT, P_CH, P_EE, P_KIND, P_SE, P_SE_SIMPLE,
  S_CNTMAX, S_EXHAUSTED, S_HEADER, S_N,
} from "../firmware/iso15118/exi/grammar.js";
import { grammar as app } from "../firmware/iso15118/exi/grammars/app.js";
import { grammar as din } from "../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../firmware/iso15118/exi/grammars/iso2.js";
import { grammar as iso20 } from "../firmware/iso15118/exi/grammars/iso20.js";
import { grammar as iso20ac } from "../firmware/iso15118/exi/grammars/iso20ac.js";
import { grammar as iso20dc } from "../firmware/iso15118/exi/grammars/iso20dc.js";
import { Prng } from "../firmware/util/prng.js";
import { SHARED_DIR } from "./shared-dir.js";

export const VECTOR_GRAMMARS: Record<string, ExiGrammar> = { app, din, iso2, "iso20-common": iso20, "iso20-ac": iso20ac, "iso20-dc": iso20dc };
export const VECTORS_FILE = `${SHARED_DIR}/iso15118/exi-vectors.jsonl`;

export interface Vector {
  protocol: string;
  message: string;
  hex: string;
  decoded: ExiObject;
}

/**
 * A few public vectors (from ../shared/iso15118/exi-vectors.jsonl: the handshake and the hot DIN/ISO-2 messages), so
 * that the tests using loadVectors() mean something in a checkout without ../shared.
 */
export const EMBEDDED_VECTORS: Vector[] = [{"protocol":"app","message":"supportedAppProtocolReq","hex":"8000dbab9371d3234b71d1b981899189d191818991d26b9b3a232b30020000040040","decoded":{"supportedAppProtocolReq":{"AppProtocol":[{"ProtocolNamespace":"urn:din:70121:2012:MsgDef","VersionNumberMajor":2,"VersionNumberMinor":0,"SchemaID":1,"Priority":1}]}}},{"protocol":"app","message":"supportedAppProtocolRes","hex":"80400040","decoded":{"supportedAppProtocolRes":{"ResponseCode":"OK_SuccessfulNegotiation","SchemaID":1}}},{"protocol":"din","message":"CurrentDemandReq","hex":"809a0223e95ff78afebf9e10d1400780c0c00404050320000c203e804080e1807c00018103200c0814010140b800","decoded":{"V2G_Message":{"Header":{"SessionID":"8FA57FDE2BFAFE78"},"Body":{"CurrentDemandReq":{"DC_EVStatus":{"EVReady":1,"EVErrorCode":"NO_ERROR","EVRESSSOC":30},"EVTargetCurrent":{"Multiplier":0,"Unit":"A","Value":1},"EVMaximumVoltageLimit":{"Multiplier":1,"Unit":"V","Value":50},"EVMaximumCurrentLimit":{"Multiplier":-3,"Unit":"A","Value":32000},"EVMaximumPowerLimit":{"Multiplier":1,"Unit":"W","Value":8000},"BulkChargingComplete":0,"ChargingComplete":0,"RemainingTimeToFullSoC":{"Multiplier":0,"Unit":"s","Value":100},"RemainingTimeToBulkSoC":{"Multiplier":0,"Unit":"s","Value":80},"EVTargetVoltage":{"Multiplier":1,"Unit":"V","Value":46}}}}}},{"protocol":"din","message":"CurrentDemandRes","hex":"809a0223e95ff78afebf9e10e000408000010287c118001874038000040a1209c020308827020384c3a800","decoded":{"V2G_Message":{"Header":{"SessionID":"8FA57FDE2BFAFE78"},"Body":{"CurrentDemandRes":{"ResponseCode":"OK","DC_EVSEStatus":{"EVSEIsolationStatus":"Valid","EVSEStatusCode":"EVSE_Ready","NotificationMaxDelay":0,"EVSENotification":"None"},"EVSEPresentVoltage":{"Multiplier":-1,"Unit":"V","Value":4600},"EVSEPresentCurrent":{"Multiplier":-3,"Unit":"A","Value":1000},"EVSECurrentLimitAchieved":0,"EVSEVoltageLimitAchieved":0,"EVSEPowerLimitAchieved":0,"EVSEMaximumVoltageLimit":{"Multiplier":-1,"Unit":"V","Value":10000},"EVSEMaximumCurrentLimit":{"Multiplier":-1,"Unit":"A","Value":5000},"EVSEMaximumPowerLimit":{"Multiplier":1,"Unit":"W","Value":15000}}}}}},{"protocol":"iso2","message":"CurrentDemandReq","hex":"80980207bf2c4e29b7cece90d1001900061209c01881e806018619002061419000030803006100381081d04000","decoded":{"V2G_Message":{"Header":{"SessionID":"1EFCB138A6DF3B3A"},"Body":{"CurrentDemandReq":{"DC_EVStatus":{"EVReady":1,"EVErrorCode":"NO_ERROR","EVRESSSOC":50},"EVTargetCurrent":{"Multiplier":-3,"Unit":"A","Value":10000},"EVMaximumVoltageLimit":{"Multiplier":0,"Unit":"V","Value":500},"EVMaximumCurrentLimit":{"Multiplier":0,"Unit":"A","Value":200},"EVMaximumPowerLimit":{"Multiplier":3,"Unit":"W","Value":100},"BulkChargingComplete":0,"ChargingComplete":0,"RemainingTimeToFullSoC":{"Multiplier":0,"Unit":"s","Value":12},"RemainingTimeToBulkSoC":{"Multiplier":0,"Unit":"s","Value":7},"EVTargetVoltage":{"Multiplier":-1,"Unit":"V","Value":4200}}}}}},{"protocol":"iso2","message":"CurrentDemandRes","hex":"80980207bf2c4e29b7cece90e00000002040840e820000c24138000021024138041844138105098750095a5a30303030300008","decoded":{"V2G_Message":{"Header":{"SessionID":"1EFCB138A6DF3B3A"},"Body":{"CurrentDemandRes":{"ResponseCode":"OK","DC_EVSEStatus":{"NotificationMaxDelay":0,"EVSENotification":"None","EVSEIsolationStatus":"Valid","EVSEStatusCode":"EVSE_Ready"},"EVSEPresentVoltage":{"Multiplier":-1,"Unit":"V","Value":4200},"EVSEPresentCurrent":{"Multiplier":-3,"Unit":"A","Value":10000},"EVSECurrentLimitAchieved":0,"EVSEVoltageLimitAchieved":0,"EVSEPowerLimitAchieved":0,"EVSEMaximumVoltageLimit":{"Multiplier":-1,"Unit":"V","Value":10000},"EVSEMaximumCurrentLimit":{"Multiplier":-1,"Unit":"A","Value":5000},"EVSEMaximumPowerLimit":{"Multiplier":1,"Unit":"W","Value":15000},"EVSEID":"ZZ00000","SAScheduleTupleID":1}}}}},{"protocol":"iso2","message":"ChargingStatusRes","hex":"809802022669991e4a686c10c000256968c0c0c0c0c00000030c8652000000","decoded":{"V2G_Message":{"Header":{"SessionID":"0899A6647929A1B0"},"Body":{"ChargingStatusRes":{"ResponseCode":"OK","EVSEID":"ZZ00000","SAScheduleTupleID":1,"EVSEMaxCurrent":{"Multiplier":-3,"Unit":"A","Value":13000},"AC_EVSEStatus":{"NotificationMaxDelay":0,"EVSENotification":"None","RCD":0}}}}}},{"protocol":"din","message":"PowerDeliveryReq","hex":"809a0223e95ff78afebf9e11322280050020","decoded":{"V2G_Message":{"Header":{"SessionID":"8FA57FDE2BFAFE78"},"Body":{"PowerDeliveryReq":{"ReadyToChargeState":1,"DC_EVPowerDeliveryParameter":{"DC_EVStatus":{"EVReady":1,"EVErrorCode":"NO_ERROR","EVRESSSOC":10},"BulkChargingComplete":0,"ChargingComplete":1}}}}}},{"protocol":"iso2","message":"PowerDeliveryRes","hex":"809802022669991e4a686c116000000000","decoded":{"V2G_Message":{"Header":{"SessionID":"0899A6647929A1B0"},"Body":{"PowerDeliveryRes":{"ResponseCode":"OK","AC_EVSEStatus":{"NotificationMaxDelay":0,"EVSENotification":"None","RCD":0}}}}}}];

/** The reference vectors when ../shared is present, else the embedded few. */
export function loadVectors(file = VECTORS_FILE): Vector[] {
  if (!existsSync(file)) return EMBEDDED_VECTORS;
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Vector);
}

const int = (r: Prng, lo: number, hi: number): number => lo + Math.floor(r.float() * (hi - lo + 1));

function randomValue(g: ExiGrammar, dt: number, r: Prng): ExiValue {
  const d = g.dts;
  const i = dt * 4;
  switch (d[i]) {
    case D_NBIT:
      return int(r, d[i + 2]!, d[i + 3]!);
    case D_UINT:
      return r.float() < 0.5 ? int(r, 0, 300) : int(r, 0, 2 ** 40);
    case D_INT:
      return r.float() < 0.5 ? int(r, -300, 300) : int(r, -(2 ** 40), 2 ** 40);
    case D_BOOLEAN:
      return int(r, 0, 1);
    case D_ENUM: {
      const list = g.enums[d[i + 1]!]!;
      const v = list[int(r, 0, list.length - 1)]!;
      return d[i + 2] ? Number(v) : v;
    }
    case D_BINARY: {
      let s = "";
      const n = int(r, 0, 20);
      for (let k = 0; k < n; k++) s += int(r, 0, 255).toString(16).padStart(2, "0").toUpperCase();
      return s;
    }
    case D_STRING: {
      let s = "";
      const n = int(r, 0, 12);
      for (let k = 0; k < n; k++) {
        const kind = int(r, 0, 5);
        if (kind <= 2) s += String.fromCharCode(int(r, 0x20, 0x7e));
        else if (kind === 3) s += String.fromCharCode(int(r, 0x80, 0x7ff));
        else if (kind === 4) s += String.fromCharCode(int(r, 0x800, 0xd7ff));
        else s += String.fromCodePoint(int(r, 0x10000, 0x10ffff));
      }
      return s;
    }
    default:
      throw new Error("unsupported datatype in random document");
  }
}

class Abandon extends Error {}

function randomComplex(g: ExiGrammar, start: number, r: Prng, depth: number): ExiObject {
  if (depth > 14) throw new Abandon();
  const t = g.table;
  const obj: ExiObject = {};
  let s = start;
  let cnt = 0;
  for (let steps = 0; steps < 200; steps++) {
    const n = t[s + S_N]!;
    const usable: number[] = [];
    let ee = -1;
    for (let c = 0; c < n; c++) {
      const p = s + S_HEADER + c * 4;
      const kind = t[p]! & P_KIND;
      if (kind === P_EE) ee = c;
      else if (kind === P_SE || kind === P_SE_SIMPLE || kind === P_AT || kind === P_CH) {
        const key = kind === P_CH ? "CONTENT" : g.names[t[p + 1]!]!;
        if (!(t[p]! & F_ARRAY) && obj[key] !== undefined) continue;
        usable.push(c);
      }
    }
    const preferEnd = depth > 6 ? 0.8 : 0.35;
    if (ee >= 0 && (usable.length === 0 || r.float() < preferEnd)) return obj;
    if (usable.length === 0) throw new Abandon();
    const c = usable[int(r, 0, usable.length - 1)]!;
    const p = s + S_HEADER + c * 4;
    const kf = t[p]!;
    const kind = kf & P_KIND;
    const key = kind === P_CH ? "CONTENT" : g.names[t[p + 1]!]!;
    const v = kind === P_SE ? randomComplex(g, t[p + 2]!, r, depth + 1) : randomValue(g, t[p + 2]!, r);
    if (kf & F_ARRAY) ((obj[key] ??= []) as ExiValue[]).push(v);
    else obj[key] = v;
    let next = t[p + 3]!;
    if (kf & F_LOOP) cnt++;
    else if (kf & F_ENTRY) cnt = 1;
    if (t[next + S_CNTMAX]! !== 0 && cnt >= t[next + S_CNTMAX]!) next = t[next + S_EXHAUSTED]!;
    s = next;
  }
  throw new Abandon();
}

/**
 * A random valid message of `grammar` (root chosen among the global elements, or `root` when given). Returns
 * null when the walk ran into an unsupported construct (wildcards, mixed text) or too deep.
 */
export function randomExiDocument(g: ExiGrammar, r: Prng, root?: string): ExiObject | null {
  const t = g.table;
  const s = g.doc;
  const n = t[s + S_N]! - 1; // last is SE(*)
  let c = int(r, 0, n - 1);
  if (root !== undefined) {
    c = -1;
    for (let k = 0; k < n; k++) if (g.names[t[s + S_HEADER + k * 4 + 1]!] === root) c = k;
    if (c < 0) throw new Error(`no root ${root}`);
  }
  const p = s + S_HEADER + c * 4;
  try {
    const v = (t[p]! & P_KIND) === P_SE ? randomComplex(g, t[p + 2]!, r, 0) : randomValue(g, t[p + 2]!, r);
    return { [g.names[t[p + 1]!]!]: v };
  } catch (e) {
    if (e instanceof Abandon) return null;
    throw e;
  }
}

export interface FuzzResult {
  seed: number;
  inputs: number;
  decoded: number;
  rejected: number;
  /** Inputs that threw something other than an ExiError (must be 0). */
  crashes: number;
  firstCrash?: string;
}

/** Fuzzes the decoder: mutations of the vectors (bit flips, byte edits, truncation, splices) and random bytes. */
export function fuzzExi(iterations: number, seed: number): FuzzResult {
  const r = new Prng(seed);
  const vectors = loadVectors().filter((v) => VECTOR_GRAMMARS[v.protocol]);
  const seeds = vectors.length ? vectors.map((v) => ({ g: VECTOR_GRAMMARS[v.protocol]!, b: Uint8Array.from(Buffer.from(v.hex, "hex")) })) : [{ g: din, b: Uint8Array.of(0x80, 0x9a, 0x02, 0x00) }];
  const grammars = [app, din, iso2, iso20, iso20ac, iso20dc];
  const dec = new ExiDecoder();
  const res: FuzzResult = { seed, inputs: 0, decoded: 0, rejected: 0, crashes: 0 };
  for (let i = 0; i < iterations; i++) {
    let g: ExiGrammar;
    let b: Uint8Array;
    const mode = int(r, 0, 9);
    if (mode === 0) {
      g = grammars[int(r, 0, grammars.length - 1)]!;
      b = new Uint8Array(int(r, 0, 64));
      for (let k = 0; k < b.length; k++) b[k] = int(r, 0, 255);
      if (r.float() < 0.7 && b.length) b[0] = 0x80;
    } else {
      const src = seeds[int(r, 0, seeds.length - 1)]!;
      g = r.float() < 0.9 ? src.g : grammars[int(r, 0, grammars.length - 1)]!;
      b = src.b.slice();
      const edits = int(r, 1, 4);
      for (let e = 0; e < edits; e++) {
        const op = int(r, 0, 4);
        if (b.length === 0) break;
        const at = int(r, 0, b.length - 1);
        if (op === 0) b[at] = b[at]! ^ (1 << int(r, 0, 7));
        else if (op === 1) b[at] = int(r, 0, 255);
        else if (op === 2) b = b.slice(0, at);
        else if (op === 3) {
          const other = seeds[int(r, 0, seeds.length - 1)]!.b;
          const from = int(r, 0, other.length - 1);
          const nb = new Uint8Array(at + other.length - from);
          nb.set(b.subarray(0, at));
          nb.set(other.subarray(from), at);
          b = nb;
        } else {
          const nb = new Uint8Array(b.length + 1);
          nb.set(b.subarray(0, at));
          nb[at] = int(r, 0, 255);
          nb.set(b.subarray(at), at + 1);
          b = nb;
        }
      }
    }
    res.inputs++;
    try {
      dec.decode(g, b);
      res.decoded++;
    } catch (e) {
      if (e instanceof ExiError) res.rejected++;
      else {
        res.crashes++;
        res.firstCrash ??= `${g.id} ${Buffer.from(b).toString("hex")}: ${String(e)}`;
      }
    }
  }
  return res;
}

if (process.argv[1]?.endsWith("exi-fuzz.js")) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  process.stdout.write(`${JSON.stringify(fuzzExi(n, seed))}\n`);
}
