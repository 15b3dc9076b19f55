/**
 * Schema-informed EXI 1.0 codec driven by the generated grammar tables (grammar.ts, grammars/*.ts): bit-packed,
 * no EXI options in the header (0x80), default (non-strict) grammars, no fidelity options, each message its own
 * stream (string tables live for one message only). The JSON shape: { RootElement: { Child: ..., Attr: ... } },
 * repeated elements (maxOccurs > 1) as arrays, enumerations as their names, booleans as 0/1, hexBinary and
 * base64Binary as upper-case hex, integers as numbers, complex types with simple content as { ...attributes,
 * CONTENT: value }, empty complex elements as {}.
 *
 * Decoding rejects what the profile does not use (second-level events: xsi:type, xsi:nil, undeclared
 * content; wildcard content; mixed text) with an ExiError naming the bit and the grammar state. Encoding never
 * produces them and writes every string as a string-table miss.
 */
import { BitReader, BitWriter, ExiError } from "./bits.js";
import {
  D_BINARY, D_BOOLEAN, D_ENUM, D_INT, D_NBIT, D_STRING, D_UINT, F_ARRAY, F_ENTRY, F_LOOP, P_AT, P_CH, P_CH_MIXED, P_EE, P_KIND, P_SE,
  P_SE_ANY, P_SE_SIMPLE, S_CNTMAX, S_EXHAUSTED, S_HEADER, S_LABEL, S_N, S_WIDTH, type ExiGrammar,
} from "./grammar.js";

export type ExiValue = string | number | ExiObject | ExiValue[];
export interface ExiObject {
  [key: string]: ExiValue;
}
/** A message: one key, the root element's name. */
export type ExiDocument = ExiObject;

export interface ExiLimits {
  /** Largest accepted stream, bytes. */
  maxInputBytes: number;
  /** Longest string (characters) and binary value (bytes). */
  maxStringLength: number;
  maxBinaryLength: number;
  /** Most occurrences of one repeated element in one parent. */
  maxOccurrences: number;
  /** Deepest element nesting. */
  maxDepth: number;
  /** Most values (elements + attributes) in one message: bounds the decoded object's size. */
  maxNodes: number;
}

export const DEFAULT_LIMITS: ExiLimits = { maxInputBytes: 65536, maxStringLength: 4096, maxBinaryLength: 16384, maxOccurrences: 1024, maxDepth: 24, maxNodes: 20000 };

/** Key of the value of a complex type with simple content. */
export const CONTENT = "CONTENT";

const HEX: string[] = [];
const HEXDIGITS = "0123456789ABCDEF";
for (let i = 0; i < 256; i++) HEX.push(HEXDIGITS[i >> 4]! + HEXDIGITS[i & 15]!);

function bitsFor(n: number): number {
  let b = 0;
  while (1 << b < n) b++;
  return b;
}

/** Per-message string tables (value partitions), created on the first string of a message. */
class StringTables {
  global: string[] = [];
  local = new Map<number, string[]>();
  add(qname: number, s: string): void {
    this.global.push(s);
    let l = this.local.get(qname);
    if (!l) this.local.set(qname, (l = []));
    l.push(s);
  }
}

export class ExiDecoder {
  private readonly r = new BitReader();
  private g!: ExiGrammar;
  private t!: number[];
  private strings: StringTables | null = null;
  private depth = 0;
  private nodes = 0;
  private state = -1;
  /** Bytes of the stream the last decode() consumed (padding included; trailing bytes are ignored). */
  consumed = 0;
  /** Use the grammar's generated straight-line codec for the hot messages (false: the generic codec only). */
  useFast = true;
  /** The last decode() was done by the straight-line codec. */
  fastHit = false;

  constructor(readonly limits: ExiLimits = DEFAULT_LIMITS) {}

  private fail(message: string): never {
    throw new ExiError(message, this.r.pos, this.state >= 0 ? this.g.labels[this.t[this.state + S_LABEL]!]! : "");
  }

  decode(grammar: ExiGrammar, bytes: Uint8Array): ExiDocument {
    const lim = this.limits;
    if (bytes.length > lim.maxInputBytes) throw new ExiError(`stream of ${bytes.length} bytes exceeds ${lim.maxInputBytes}`, 0);
    const f = grammar.fast;
    if (f !== undefined && this.useFast && lim.maxDepth >= f.maxDepth && lim.maxNodes >= f.maxNodes) {
      try {
        const doc = f.decode(bytes, lim);
        this.consumed = f.consumed();
        this.fastHit = true;
        return doc;
      } catch {
        // not a hot message, or not one the fast path covers: the generic decoder below decides
      }
    }
    this.fastHit = false;
    this.g = grammar;
    this.t = grammar.table;
    this.strings = null;
    this.depth = 0;
    this.nodes = 0;
    this.state = -1;
    const r = this.r;
    r.reset(bytes);
    try {
      // header: distinguishing bits 10, no options, version 1 (0 0000)
      if (r.remaining() < 8) this.fail("stream too short for an EXI header");
      const h = r.bits(8);
      if (h !== 0x80) {
        r.pos = 0;
        this.fail(`unsupported EXI header 0x${HEX[h]} (expected 0x80: no cookie, no options, version 1)`);
      }
      const t = this.t;
      const doc = grammar.doc;
      this.state = doc;
      const code = r.bits(t[doc + S_WIDTH]!);
      if (code >= t[doc + S_N]! - 1) this.fail(code === t[doc + S_N]! - 1 ? "SE(*) at document level is not supported" : `invalid event code ${code}`);
      const p = doc + S_HEADER + code * 4;
      const name = grammar.names[t[p + 1]!]!;
      const out: ExiDocument = {};
      out[name] = (t[p]! & P_KIND) === P_SE ? this.complex(t[p + 2]!) : this.simple(t[p + 2]!, t[p + 1]!);
      this.state = -1;
      // ED: no code (DocEnd has a single production)
      this.consumed = (r.pos + 7) >> 3;
      return out;
    } catch (e) {
      if (e instanceof ExiError) {
        if (!e.state && this.state >= 0) {
          e.state = this.g.labels[this.t[this.state + S_LABEL]!]!;
          e.message += ` in state ${e.state}`;
        }
        throw e;
      }
      // RangeError (stack) or anything unexpected: still a decode error, never a crash
      throw new ExiError(`decoder failure: ${(e as Error).message}`, r.pos);
    }
  }

  /** SE of a simple-typed element: CH (1 bit: CH + escape), the value, EE (1 bit: EE + escape). */
  private simple(dt: number, qname: number): ExiValue {
    const r = this.r;
    if (r.bit() !== 0) this.fail("second-level event in a simple element (xsi:type, xsi:nil, ...) is not supported");
    const v = this.value(dt, qname);
    if (r.bit() !== 0) this.fail("second-level event after a simple value is not supported");
    return v;
  }

  private complex(start: number): ExiObject {
    if (++this.depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`);
    const t = this.t;
    const r = this.r;
    const names = this.g.names;
    const obj: ExiObject = {};
    let s = start;
    let cnt = 0;
    for (;;) {
      this.state = s;
      const n = t[s + S_N]!;
      const w = t[s + S_WIDTH]!;
      const code = w === 0 ? 0 : r.bits(w);
      if (code >= n) this.fail(code === n ? "second-level event (xsi:type, xsi:nil, undeclared content) is not supported" : `invalid event code ${code}`);
      const p = s + S_HEADER + code * 4;
      const kf = t[p]!;
      const kind = kf & P_KIND;
      if (kind === P_EE) break;
      if (++this.nodes > this.limits.maxNodes) this.fail(`more than ${this.limits.maxNodes} values`);
      const q = t[p + 1]!;
      let v: ExiValue;
      switch (kind) {
        case P_SE:
          v = this.complex(t[p + 2]!);
          this.state = s;
          break;
        case P_SE_SIMPLE:
          v = this.simple(t[p + 2]!, q);
          break;
        case P_AT:
          v = this.value(t[p + 2]!, q);
          break;
        case P_CH:
          obj[CONTENT] = this.value(t[p + 2]!, q);
          v = "";
          break;
        case P_SE_ANY:
          return this.fail("wildcard element content (SE(*)) is not supported");
        case P_CH_MIXED:
          return this.fail("mixed text content is not supported");
        default:
          return this.fail("corrupt grammar table");
      }
      if (kind !== P_CH) {
        const key = names[q]!;
        if (kf & F_ARRAY) {
          const a = obj[key];
          if (a === undefined) obj[key] = [v];
          else {
            const arr = a as ExiValue[];
            if (arr.length >= this.limits.maxOccurrences) this.fail(`more than ${this.limits.maxOccurrences} ${key} elements`);
            arr.push(v);
          }
        } else obj[key] = v;
      }
      let next = t[p + 3]!;
      if (kf & F_LOOP) cnt++;
      else if (kf & F_ENTRY) cnt = 1;
      const max = t[next + S_CNTMAX]!;
      if (max !== 0 && cnt >= max) next = t[next + S_EXHAUSTED]!;
      s = next;
    }
    this.depth--;
    return obj;
  }

  private value(dt: number, qname: number): ExiValue {
    const r = this.r;
    const d = this.g.dts;
    const i = dt * 4;
    switch (d[i]) {
      case D_NBIT: {
        const x = r.bits(d[i + 1]!) + d[i + 2]!;
        if (x > d[i + 3]!) this.fail(`value ${x} above the maximum ${d[i + 3]}`);
        return x;
      }
      case D_UINT:
        return r.uint();
      case D_INT: {
        const neg = r.bit();
        const m = r.uint();
        return neg ? -m - 1 : m;
      }
      case D_BOOLEAN:
        return r.bit();
      case D_ENUM: {
        const list = this.g.enums[d[i + 1]!]!;
        const k = r.bits(bitsFor(list.length));
        if (k >= list.length) this.fail(`enumeration index ${k} out of range (${list.length} values)`);
        return d[i + 2] ? Number(list[k]) : list[k]!;
      }
      case D_BINARY: {
        const len = r.uint();
        if (len > this.limits.maxBinaryLength) this.fail(`binary value of ${len} bytes exceeds ${this.limits.maxBinaryLength}`);
        if (len * 8 > r.remaining()) this.fail("unexpected end of stream in a binary value");
        let s = "";
        for (let k = 0; k < len; k++) s += HEX[r.bits(8)]!;
        return s;
      }
      case D_STRING:
        return this.string(qname);
      default:
        return this.fail("unsupported datatype");
    }
  }

  private string(qname: number): string {
    const r = this.r;
    const L = r.uint();
    let st = this.strings;
    if (L < 2) {
      if (!st) return this.fail("string table hit in an empty table");
      const list = L === 0 ? st.local.get(qname) : st.global;
      if (!list || list.length === 0) return this.fail("string table hit in an empty table");
      const k = r.bits(bitsFor(list.length));
      if (k >= list.length) this.fail(`string table index ${k} out of range`);
      return list[k]!;
    }
    const len = L - 2;
    if (len > this.limits.maxStringLength) this.fail(`string of ${len} characters exceeds ${this.limits.maxStringLength}`);
    if (len * 8 > r.remaining()) this.fail("unexpected end of stream in a string");
    let s = "";
    for (let k = 0; k < len; k++) {
      const c = r.uint();
      if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) this.fail(`invalid code point ${c}`);
      s += c < 0x10000 ? String.fromCharCode(c) : String.fromCodePoint(c);
    }
    if (len > 0) {
      if (!st) st = this.strings = new StringTables();
      st.add(qname, s);
    }
    return s;
  }
}

function isObject(v: unknown): v is ExiObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class ExiEncoder {
  readonly w = new BitWriter(512);
  private g!: ExiGrammar;
  private t!: number[];
  private depth = 0;
  private state = -1;
  /** Use the grammar's generated straight-line codec for the hot messages (false: the generic codec only). */
  useFast = true;
  /** The last encode was done by the straight-line codec. */
  fastHit = false;

  constructor(readonly limits: ExiLimits = DEFAULT_LIMITS) {}

  private fail(message: string): never {
    throw new ExiError(message, this.w.pos, this.state >= 0 ? this.g.labels[this.t[this.state + S_LABEL]!]! : "");
  }

  /** Encodes into the reusable writer; the returned view is valid until the next encode(). */
  encodeView(grammar: ExiGrammar, doc: ExiDocument): Uint8Array {
    const w = this.w;
    // w.reset() and w.view() inline, the generic codec's fields set only when it runs: ~50 units on XS
    w.buf.fill(0, 0, (w.pos + 7) >> 3);
    w.pos = 0;
    const f = grammar.fast;
    if (f !== undefined && this.useFast && this.limits.maxDepth >= f.maxDepth) {
      if (f.encode(doc, w, this.limits)) {
        this.fastHit = true;
        return w.buf.subarray(0, (w.pos + 7) >> 3);
      }
      w.reset();
    }
    this.g = grammar;
    this.t = grammar.table;
    this.depth = 0;
    this.state = -1;
    this.fastHit = false;
    if (!isObject(doc)) this.fail("document must be an object with one key (the root element)");
    let root: string | undefined;
    for (const k in doc) {
      if (root !== undefined) this.fail("document must have exactly one root element");
      root = k;
    }
    if (root === undefined) this.fail("empty document");
    w.bits(0x80, 8);
    const t = this.t;
    const s = grammar.doc;
    this.state = s;
    const n = t[s + S_N]! - 1;
    let code = -1;
    for (let c = 0; c < n; c++) {
      if (grammar.names[t[s + S_HEADER + c * 4 + 1]!] === root) {
        code = c;
        break;
      }
    }
    if (code < 0) this.fail(`unknown root element ${root}`);
    w.bits(code, t[s + S_WIDTH]!);
    const p = s + S_HEADER + code * 4;
    const v = doc[root]!;
    if ((t[p]! & P_KIND) === P_SE) this.complex(t[p + 2]!, v, root);
    else this.simple(t[p + 2]!, t[p + 1]!, v, root);
    return w.view();
  }

  encode(grammar: ExiGrammar, doc: ExiDocument): Uint8Array {
    return this.encodeView(grammar, doc).slice();
  }

  private simple(dt: number, qname: number, v: ExiValue, key: string): void {
    this.w.bits(0, 1);
    this.value(dt, qname, v, key);
    this.w.bits(0, 1);
  }

  private complex(start: number, obj: ExiValue, key: string): void {
    if (!isObject(obj)) this.fail(`${key} must be an object`);
    if (++this.depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`);
    const t = this.t;
    const names = this.g.names;
    const w = this.w;
    let s = start;
    let cnt = 0;
    // array in progress, finished arrays, consumed keys
    let arrQ = -1;
    let arrI = 0;
    let done: number[] | null = null;
    let used = 0;
    for (;;) {
      this.state = s;
      const n = t[s + S_N]!;
      let chosen = -1;
      let value: ExiValue | undefined;
      let eeAt = -1;
      for (let c = 0; c < n; c++) {
        const p = s + S_HEADER + c * 4;
        const kf = t[p]!;
        const kind = kf & P_KIND;
        if (kind === P_EE) {
          eeAt = c;
          continue;
        }
        if (kind === P_CH) {
          const v = obj[CONTENT];
          if (v !== undefined) {
            chosen = c;
            value = v;
            break;
          }
          continue;
        }
        if (kind === P_SE_ANY || kind === P_CH_MIXED) continue;
        const q = t[p + 1]!;
        const v = obj[names[q]!];
        if (v === undefined) continue;
        if (kf & F_ARRAY) {
          if (!Array.isArray(v)) this.fail(`${names[q]} must be an array`);
          if (q === arrQ) {
            if (arrI < v.length) {
              chosen = c;
              value = v[arrI];
              break;
            }
            continue;
          }
          if (done !== null && done.includes(q)) continue;
          if (v.length === 0) continue;
          chosen = c;
          value = v[0];
          break;
        }
        chosen = c;
        value = v;
        break;
      }
      if (chosen < 0) {
        if (eeAt < 0) this.fail(`missing element or attribute in ${key}`);
        w.bits(eeAt, t[s + S_WIDTH]!);
        break;
      }
      const p = s + S_HEADER + chosen * 4;
      const kf = t[p]!;
      const kind = kf & P_KIND;
      const q = t[p + 1]!;
      w.bits(chosen, t[s + S_WIDTH]!);
      if (kf & F_ARRAY) {
        if (q !== arrQ) {
          if (arrQ >= 0) (done ??= []).push(arrQ);
          arrQ = q;
          arrI = 0;
          used++;
        }
        arrI++;
        if (arrI > this.limits.maxOccurrences) this.fail(`more than ${this.limits.maxOccurrences} ${names[q]} elements`);
      } else used++;
      switch (kind) {
        case P_SE:
          this.complex(t[p + 2]!, value!, names[q]!);
          this.state = s;
          break;
        case P_SE_SIMPLE:
          this.simple(t[p + 2]!, q, value!, names[q]!);
          break;
        case P_AT:
          this.value(t[p + 2]!, q, value!, names[q]!);
          break;
        default: // P_CH
          this.value(t[p + 2]!, q, value!, CONTENT);
      }
      let next = t[p + 3]!;
      if (kf & F_LOOP) cnt++;
      else if (kf & F_ENTRY) cnt = 1;
      const max = t[next + S_CNTMAX]!;
      if (max !== 0 && cnt >= max) next = t[next + S_EXHAUSTED]!;
      s = next;
    }
    // EE: every key must have been written (and every array element)
    let keys = 0;
    for (const k in obj) if (obj[k] !== undefined) keys++;
    if (keys !== used) this.fail(`${key} has ${keys - used} element(s) or attribute(s) the grammar does not allow here`);
    if (arrQ >= 0 && arrI < (obj[names[arrQ]!] as ExiValue[]).length) this.fail(`too many ${names[arrQ]} elements`);
    this.depth--;
  }

  private value(dt: number, qname: number, v: ExiValue, key: string): void {
    const w = this.w;
    const d = this.g.dts;
    const i = dt * 4;
    switch (d[i]) {
      case D_NBIT: {
        const x = this.int(v, key);
        const min = d[i + 2]!;
        const bits = d[i + 1]!;
        if (x < min || x > d[i + 3]!) this.fail(`${key}: ${x} out of range [${min}, ${d[i + 3]}]`);
        w.bits(x - min, bits);
        return;
      }
      case D_UINT: {
        const x = this.int(v, key);
        if (x < 0) this.fail(`${key}: ${x} must not be negative`);
        w.uint(x);
        return;
      }
      case D_INT: {
        const x = this.int(v, key);
        if (x < 0) {
          w.bits(1, 1);
          w.uint(-x - 1);
        } else {
          w.bits(0, 1);
          w.uint(x);
        }
        return;
      }
      case D_BOOLEAN: {
        if (v === 0 || v === 1) w.bits(v, 1);
        else if ((v as unknown) === true || (v as unknown) === false) w.bits(v ? 1 : 0, 1);
        else this.fail(`${key}: boolean must be 0 or 1`);
        return;
      }
      case D_ENUM: {
        const list = this.g.enums[d[i + 1]!]!;
        const k = list.indexOf(String(v));
        if (k < 0 || (typeof v !== "string" && typeof v !== "number")) this.fail(`${key}: ${String(v)} is not one of ${list.join(", ")}`);
        w.bits(k, bitsFor(list.length));
        return;
      }
      case D_BINARY: {
        if (typeof v !== "string" || v.length & 1) this.fail(`${key}: binary values are hex strings of even length`);
        const len = v.length >> 1;
        if (len > this.limits.maxBinaryLength) this.fail(`${key}: ${len} bytes exceeds ${this.limits.maxBinaryLength}`);
        w.uint(len);
        for (let k = 0; k < v.length; k += 2) {
          const hi = hexVal(v.charCodeAt(k));
          const lo = hexVal(v.charCodeAt(k + 1));
          if ((hi | lo) < 0) this.fail(`${key}: not a hex string`);
          w.bits((hi << 4) | lo, 8);
        }
        return;
      }
      case D_STRING: {
        if (typeof v !== "string") this.fail(`${key} must be a string`);
        // code points (surrogate pairs combined)
        let cps = 0;
        for (let k = 0; k < v.length; k++) {
          const c = v.charCodeAt(k);
          if (c >= 0xd800 && c <= 0xdbff && k + 1 < v.length) k++;
          cps++;
        }
        if (cps > this.limits.maxStringLength) this.fail(`${key}: string longer than ${this.limits.maxStringLength}`);
        w.uint(cps + 2);
        for (let k = 0; k < v.length; k++) {
          const c = v.codePointAt(k)!;
          if (c > 0xffff) k++;
          w.uint(c);
        }
        return;
      }
      default:
        this.fail(`${key}: unsupported datatype`);
    }
  }

  private int(v: ExiValue, key: string): number {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) this.fail(`${key} must be an integer`);
    return v;
  }
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
