/**
 * Wire formats of the site coordination (topics under `lb/<group>/`, see README.md):
 *  - heartbeat   lb/<group>/hb/<id>   CBOR map {v:1, id, act, ln, want, use, al}; an EMPTY payload (the MQTT
 *                will) means "gone";
 *  - allocation  lb/<group>/alloc     CBOR map {v:1, by, seq, a:[[id, A], ...], q:[id, ...]};
 *  - site meter  lb/<group>/meter     JSON {"amps":[L1,L2,L3]} or a bare JSON array (third-party publishers);
 *  - errors      lb/<group>/error/<id> UTF-8 text: why an input was refused.
 * Every decoder validates completely and returns a string (the reason) for bad input.
 */
import { decodeCbor, encodeCbor } from "../util/cbor.js";
import { utf8Decode, utf8Encode } from "../util/utf8.js";

export const PROTOCOL_VERSION = 1;
export const MAX_PEERS = 64;
const ID_RE = /^[A-Za-z0-9._:*+-]{1,48}$/;
const MAX_AMPS = 2000;

export interface Heartbeat {
  id: string;
  /** A session wants current. */
  act: boolean;
  /** Lines used (bit mask 1|2|4; 7 = three-phase). */
  ln: number;
  /** The most it could take, A. */
  want: number;
  /** Measured current, A (largest phase). */
  use: number;
  /** The site allocation it applies now, A. */
  al: number;
}

export interface Allocation {
  by: string;
  seq: number;
  a: Array<[string, number]>;
  q: string[];
}

export function validId(id: unknown): id is string {
  return typeof id === "string" && ID_RE.test(id);
}

function amps(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= MAX_AMPS;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function encodeHeartbeat(h: Heartbeat): Uint8Array {
  return encodeCbor({ v: PROTOCOL_VERSION, id: h.id, act: h.act, ln: h.ln, want: round1(h.want), use: round1(h.use), al: round1(h.al) });
}

function asMap(data: Uint8Array): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = decodeCbor(data, { maxDepth: 4 });
  } catch (e) {
    return `not CBOR: ${(e as Error).message}`;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array) return "not a CBOR map";
  const m = v as Record<string, unknown>;
  if (m["v"] !== PROTOCOL_VERSION) return `unsupported version ${String(m["v"])}`;
  return m;
}

/** A heartbeat from `topicId` (the last topic level): the id in the payload must match it. */
export function decodeHeartbeat(data: Uint8Array, topicId: string): Heartbeat | string {
  const m = asMap(data);
  if (typeof m === "string") return m;
  const { id, act, ln, want, use, al } = m;
  if (!validId(id) || id !== topicId) return "id missing or not the topic's";
  if (typeof act !== "boolean") return "act must be a boolean";
  if (ln !== 1 && ln !== 2 && ln !== 4 && ln !== 7) return "ln must be 1, 2, 4 or 7";
  if (!amps(want) || !amps(use) || !amps(al)) return "want/use/al must be amps in 0..2000";
  return { id, act, ln, want, use, al };
}

export function encodeAllocation(a: Allocation): Uint8Array {
  return encodeCbor({ v: PROTOCOL_VERSION, by: a.by, seq: a.seq, a: a.a.map(([id, x]) => [id, round1(x)]), q: a.q });
}

export function decodeAllocation(data: Uint8Array): Allocation | string {
  const m = asMap(data);
  if (typeof m === "string") return m;
  const { by, seq, a, q } = m;
  if (!validId(by)) return "by must be a charger id";
  if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0) return "seq must be a non-negative integer";
  if (!Array.isArray(a) || a.length > MAX_PEERS) return `a must be a list of at most ${MAX_PEERS} [id, A] pairs`;
  const out: Array<[string, number]> = [];
  const seen = new Set<string>();
  for (const e of a) {
    if (!Array.isArray(e) || e.length !== 2 || !validId(e[0]) || !amps(e[1]) || seen.has(e[0])) return "a must hold distinct [id, A] pairs";
    seen.add(e[0]);
    out.push([e[0], e[1]]);
  }
  if (!Array.isArray(q) || q.length > MAX_PEERS || !q.every(validId)) return "q must be a list of charger ids";
  return { by, seq, a: out, q: q.slice() };
}

/** The site meter feed: A per line (1..3 values; a single value applies to every line). */
export function decodeMeter(data: Uint8Array): [number, number, number] | string {
  let v: unknown;
  try {
    v = JSON.parse(utf8Decode(data));
  } catch {
    return "not JSON";
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v)) v = (v as Record<string, unknown>)["amps"];
  if (!Array.isArray(v) || v.length < 1 || v.length > 3) return 'expected {"amps":[L1,L2,L3]} or [L1,L2,L3]';
  for (const x of v) if (!amps(x)) return "amps must be numbers in 0..2000";
  const a = v as number[];
  return a.length === 3 ? [a[0]!, a[1]!, a[2]!] : a.length === 1 ? [a[0]!, a[0]!, a[0]!] : [a[0]!, a[1]!, 0];
}

export function encodeMeter(lines: readonly number[]): Uint8Array {
  return utf8Encode(JSON.stringify({ amps: lines.map(round1) }));
}

export function text(s: string): Uint8Array {
  return utf8Encode(s);
}
