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

/** The reference vectors when /work/shared is present, else []. */
export function loadVectors(file = VECTORS_FILE): Vector[] {
  if (!existsSync(file)) return [];
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
