/**
 * Runtime shared by the generated straight-line codecs (grammars/*.fast.ts, written by tools/gen-exi/fast.ts):
 * the out-of-line readers and writers (EXI unsigned integers, binary as hex, strings), their one-entry caches
 * (a session's SessionID and EVSEID repeat in every message) and the enum maps. Hand-maintained.
 *
 * Calling convention: the generated code keeps its own bit position (P when decoding, Q when encoding) and
 * inlines the fixed-width reads and writes; it passes the position to these helpers. A reader returns the
 * value and leaves the position after it in RP (`y = ru(P); P = RP;`); a writer returns the new position
 * (`Q = wu(Q, y);`). beginRead / beginWrite hand over the stream and the limits once per message.
 * Anything outside what the fast path covers throws BAIL; the generic codec (codec.ts) then redoes the message.
 */
import type { ExiLimits } from "./codec.js";

export const BAIL = { bail: true };

/**
 * Decoding: the stream, copied into a buffer with 16 zero bytes after it (so reads may run past its end, as reads
 * of a bare Uint8Array would give undefined = 0, and multi-byte reads can go through the DataView RD: one call,
 * ~10 units on XS, against ~10 per byte read), and its length. Streams over 496 bytes are not hot messages (bail).
 */
export let RB: Uint8Array = new Uint8Array(64);
export let RD: DataView = new DataView(RB.buffer);
let B: Uint8Array = RB;
let BL = 0;
/** Encoding: the writer's buffer and the bytes the fixed part of a hot message may take at most. */
let W: Uint8Array = new Uint8Array(0);
/** W as a DataView: up to 4 bytes in one store (one call: ~19 units on XS against ~14 per byte). */
let D: DataView = new DataView(W.buffer);
let RESERVE = 0;
/** The limits of the message in progress (string and binary lengths). */
let L: ExiLimits = { maxInputBytes: 0, maxStringLength: 0, maxBinaryLength: 0, maxOccurrences: 0, maxDepth: 0, maxNodes: 0 };

/** The bit position after the value the last reader returned. */
export let RP = 0;

export function beginRead(bytes: Uint8Array, limits: ExiLimits): void {
  const n = bytes.length;
  if (n + 16 > RB.length) {
    if (n > 496) throw BAIL;
    RB = new Uint8Array((n + 16 + 63) & ~63);
    RD = new DataView(RB.buffer);
  }
  RB.set(bytes);
  // RB is zero from BL (the last stream's length) on: only the last stream's bytes past this one are cleared (none
  // when the same message comes again: ~27 units on XS)
  if (BL > n) RB.fill(0, n, BL);
  B = RB;
  BL = n;
  L = limits;
}

/** Hands over the writer's buffer; returns it as a DataView (kept while the buffer stays the same). */
export function beginWrite(buf: Uint8Array, limits: ExiLimits, reserve: number): DataView {
  if (buf !== W) {
    W = buf;
    D = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  RESERVE = reserve;
  L = limits;
  return D;
}

const HEX: string[] = [];
const HX = new Int8Array(256).fill(-1);
for (let k = 0; k < 256; k++) HEX.push("0123456789ABCDEF"[k >> 4]! + "0123456789ABCDEF"[k & 15]!);
for (let k = 0; k < 10; k++) HX[48 + k] = k;
for (let k = 0; k < 6; k++) HX[65 + k] = HX[97 + k] = 10 + k;

/** Enum value (or its decimal text) -> index. */
export function em(list: readonly (string | number)[]): Record<string, number> {
  const m = Object.create(null) as Record<string, number>;
  list.forEach((v, k) => (m[String(v)] = k));
  return m;
}

/** EXI unsigned integer (7-bit groups) at bit p; at most 2^53 - 1. */
export function ru(p: number): number {
  let v = 0;
  let m = 1;
  for (let k = 0; k < 8; k++) {
    const i = p >> 3;
    const b = (((B[i]! << 8) | B[i + 1]!) >>> (8 - (p & 7))) & 255;
    p += 8;
    v += (b & 127) * m;
    if (b < 128) {
      if (v > 9007199254740991) throw BAIL;
      RP = p;
      return v;
    }
    m *= 128;
  }
  throw BAIL;
}
/** The rest (at bit p) of an unsigned integer whose first group (>= 128) was already read. */
export function ruc(first: number, p: number): number {
  let v = first & 127;
  let m = 128;
  for (let k = 1; k < 8; k++) {
    const i = p >> 3;
    const b = (((B[i]! << 8) | B[i + 1]!) >>> (8 - (p & 7))) & 255;
    p += 8;
    v += (b & 127) * m;
    if (b < 128) {
      if (v > 9007199254740991) throw BAIL;
      RP = p;
      return v;
    }
    m *= 128;
  }
  throw BAIL;
}
// the last binary value of at most 8 bytes decoded (a session's SessionID repeats in every message)
let hxLen = -1;
let hxA = 0;
let hxB = 0;
let hxS = "";
/** Binary value (length + bytes) at bit p, as upper-case hex. */
export function rhex(p: number): string {
  // The length: one 7-bit group for up to 127 bytes, read inline (ru() is a call and a loop: ~60 units on XS).
  let i = p >> 3;
  let len = (((B[i]! << 8) | B[i + 1]!) >>> (8 - (p & 7))) & 255;
  if (len < 128) p += 8;
  else {
    len = ru(p);
    p = RP;
  }
  if (len > L.maxBinaryLength || p + len * 8 > BL * 8) throw BAIL;
  let a = 0;
  let b = 0;
  if (len > 0 && len <= 8) {
    // up to 8 bytes as two 32-bit words, inline (as two calls they cost ~90 units more): a session's SessionID is
    // compared with the last one decoded without building its text again
    i = p >> 3;
    const s = p & 7;
    a = ((RD.getUint32(i) << s) | (B[i + 4]! >>> (8 - s))) >>> 0;
    if (len > 4) b = ((RD.getUint32(i + 4) << s) | (B[i + 8]! >>> (8 - s))) >>> ((8 - len) * 8);
    else if (len < 4) a >>>= (4 - len) * 8;
    if (len === hxLen && a === hxA && b === hxB) {
      RP = p + len * 8;
      return hxS;
    }
  }
  let s = "";
  const sh = 8 - (p & 7);
  for (let k = 0; k < len; k++) {
    const i = p >> 3;
    s += HEX[(((B[i]! << 8) | B[i + 1]!) >>> sh) & 255]!;
    p += 8;
  }
  if (len > 0 && len <= 8) {
    hxLen = len;
    hxA = a;
    hxB = b;
    hxS = s;
  }
  RP = p;
  return s;
}
/** String value (length + 2, code points) at bit p; a string-table hit bails. */
export function rstr(p: number): string {
  const n = ru(p);
  p = RP;
  if (n < 2) throw BAIL; // a string-table hit: the generic decoder keeps the tables
  const len = n - 2;
  if (len > L.maxStringLength || p + len * 8 > BL * 8) throw BAIL;
  let s = "";
  for (let k = 0; k < len; k++) {
    const c = ru(p);
    p = RP;
    if (c > 0xffff) throw BAIL;
    if (c >= 0xd800 && c <= 0xdfff) throw BAIL;
    s += String.fromCharCode(c);
  }
  RP = p;
  return s;
}

/** Writes an EXI unsigned integer at bit q; returns the position after it. */
export function wu(q: number, v: number): number {
  for (;;) {
    const i = q >> 3;
    const sh = 8 - (q & 7);
    if (v < 128) {
      const y = v << sh;
      W[i] |= y >>> 8;
      W[i + 1] = y;
      return q + 8;
    }
    const y = ((v & 127) | 128) << sh;
    W[i] |= y >>> 8;
    W[i + 1] = y;
    q += 8;
    v = Math.floor(v / 128);
  }
}
/**
 * A byte sequence written at any bit alignment, kept shifted for the last alignment: the first byte's high bits to
 * OR into the cursor's byte, then the bytes after it (the buffer is zero there, see tools/gen-exi/fast.ts) as 32-bit
 * words and a tail, stored without shifting (the SessionID's 9 bytes: 2 stores of a word and one byte; with the
 * shifts done per message: session host DIN -79 units on XS, ISO-2 DC -190 with the EVSEID).
 */
class Shifted {
  b: number[] = [];
  /** The alignment the words are for (-1: none yet). */
  al = -1;
  head = 0;
  words: number[] = [];
  tail: number[] = [];
  constructor(b: number[]) {
    this.set(b);
  }
  set(b: number[]): void {
    this.b = b;
    this.al = -1;
  }
  write(q: number): number {
    const s = q & 7;
    if (s !== this.al) this.shift(s);
    let i = q >> 3;
    W[i] |= this.head;
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      D.setUint32(i + 1, w[k]!);
      i += 4;
    }
    const t = this.tail;
    for (let k = 0; k < t.length; k++) W[++i] = t[k]!;
    return q + this.b.length * 8;
  }
  private shift(s: number): void {
    const b = this.b;
    // the bytes after the cursor's byte: the low s bits of b[k] and the high 8 - s bits of b[k + 1]
    const sh: number[] = [];
    for (let k = 0; k < b.length; k++) sh.push(((b[k]! << (8 - s)) | ((b[k + 1] ?? 0) >>> s)) & 255);
    const words: number[] = [];
    let k = 0;
    for (; k + 4 <= sh.length; k += 4) words.push(((sh[k]! << 24) | (sh[k + 1]! << 16) | (sh[k + 2]! << 8) | sh[k + 3]!) >>> 0);
    this.head = b[0]! >>> s;
    this.words = words;
    this.tail = sh.slice(k);
    this.al = s;
  }
}
// the last hex string encoded: its whole encoding (length + bytes), pre-shifted for the last bit alignment it was
// written at (a session's SessionID repeats in every message, at the same place in the header: one compare, then
// the bytes are stored as they go)
let hexS = "";
let hexN = 0;
const hexC = new Shifted([0]);
/** Writes a binary value given as hex at bit q; returns the position after it. */
export function whex(q: number, v: string): number {
  if (v !== hexS) {
    if (v.length & 1) throw BAIL;
    const e: number[] = [];
    vbytes(e, v.length >> 1);
    for (let k = 0; k < v.length; k += 2) {
      const hi = HX[v.charCodeAt(k)]!;
      const lo = HX[v.charCodeAt(k + 1)]!;
      if ((hi | lo) < 0) throw BAIL;
      e.push((hi << 4) | lo);
    }
    hexS = v;
    hexN = v.length >> 1;
    hexC.set(e);
  }
  if (hexN > L.maxBinaryLength || (q >> 3) + hexC.b.length + 8 + RESERVE > W.length) throw BAIL;
  return hexC.write(q);
}
// the last string encoded (length + code points: whole 7-bit groups, so bytes at any alignment; an EVSEID repeats)
let strS = "";
const strC = new Shifted([2]); // "": length 0 + 2
function vbytes(b: number[], v: number): void {
  while (v >= 128) {
    b.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  b.push(v);
}
/** Writes a string value at bit q; returns the position after it. */
export function wstr(q: number, v: string): number {
  if (v !== strS) {
    for (let k = 0; k < v.length; k++) {
      const c = v.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdfff) throw BAIL; // surrogates: the generic encoder
    }
    const b: number[] = [];
    vbytes(b, v.length + 2);
    for (let k = 0; k < v.length; k++) vbytes(b, v.charCodeAt(k));
    strS = v;
    strC.set(b);
  }
  if (v.length > L.maxStringLength || (q >> 3) + strC.b.length + 8 + RESERVE > W.length) throw BAIL;
  return strC.write(q);
}
