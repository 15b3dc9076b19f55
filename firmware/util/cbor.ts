/**
 * A small strict CBOR (RFC 8949) codec for the device. Platform-neutral (no TextEncoder/Buffer).
 *
 * Data model (encode -> CBOR -> decode):
 *  - integer numbers with |x| <= 2^53        -> major type 0/1 (shortest head)  -> number
 *  - other numbers (fractions, ±2^53+, NaN, ±Infinity, -0) -> float64           -> number
 *    (the decoder also accepts float16 and float32)
 *  - string                                  -> text string (UTF-8; a lone surrogate is encoded as U+FFFD)
 *  - Uint8Array / ArrayBuffer                -> byte string                      -> Uint8Array
 *  - Array                                   -> array                            -> Array
 *  - plain object (own enumerable string keys, insertion order) -> map           -> plain object
 *  - Map with string or integer keys         -> map                              -> see below
 *  - true / false / null / undefined         -> simple values 21 / 20 / 22 / 23
 * A decoded map whose keys are all text strings becomes a plain object (a "__proto__" key is stored as
 * an own property, never as the prototype); a map with at least one integer key becomes a Map (keys are
 * numbers and strings). Map key order is kept as encoded (no canonical sorting).
 *
 * Not supported (encode: CborError; decode: CborError): tags (major 6), indefinite lengths, simple values
 * other than the four above, byte-string/array/float map keys, integers beyond ±2^53, bigint, symbols,
 * functions, cycles / nesting deeper than maxDepth.
 *
 * The decoder is safe on hostile input: every length is checked against the bytes that remain before
 * anything is allocated (so memory is O(input)), nesting is limited (maxDepth, default 32), invalid UTF-8,
 * duplicate map keys, reserved head values and trailing bytes are rejected. Every failure is a CborError
 * carrying the byte offset where it was detected.
 */

export class CborError extends Error {
  /** Byte offset in the input (decode) or output (encode) where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`CBOR: ${message} at offset ${offset}`);
    this.name = "CborError";
    this.offset = offset;
  }
}

export interface CborOptions {
  /** Maximum nesting of arrays/maps (the top-level item is depth 0). Default 32. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 32;
const TWO_53 = 9007199254740992;

// ------------------------------------------------------------------ encoder

class Writer {
  buf = new Uint8Array(64);
  pos = 0;
  private view = new DataView(this.buf.buffer);

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  head(major: number, n: number): void {
    const m = major << 5;
    if (n < 24) this.byte(m | n);
    else if (n < 0x100) { this.ensure(2); this.buf[this.pos++] = m | 24; this.buf[this.pos++] = n; }
    else if (n < 0x10000) { this.ensure(3); this.buf[this.pos++] = m | 25; this.view.setUint16(this.pos, n); this.pos += 2; }
    else if (n < 0x100000000) { this.ensure(5); this.buf[this.pos++] = m | 26; this.view.setUint32(this.pos, n); this.pos += 4; }
    else {
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(n / 0x100000000));
      this.view.setUint32(this.pos + 4, n >>> 0);
      this.pos += 8;
    }
  }

  float64(x: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xfb;
    this.view.setFloat64(this.pos, x);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.head(2, b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  text(s: string): void {
    // length first: UTF-8 byte count
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
      else n += 3; // BMP char, or a lone surrogate written as U+FFFD
    }
    this.head(3, n);
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) { b[p++] = c; continue; }
      if (c < 0x800) { b[p++] = 0xc0 | (c >> 6); b[p++] = 0x80 | (c & 0x3f); continue; }
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          b[p++] = 0xf0 | (cp >> 18);
          b[p++] = 0x80 | ((cp >> 12) & 0x3f);
          b[p++] = 0x80 | ((cp >> 6) & 0x3f);
          b[p++] = 0x80 | (cp & 0x3f);
          i++;
          continue;
        }
        c = 0xfffd;
      }
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
    this.pos = p;
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function encodeKey(w: Writer, k: unknown): void {
  if (typeof k === "string") w.text(k);
  else if (typeof k === "number" && Number.isInteger(k) && Math.abs(k) <= TWO_53) encodeNumber(w, k);
  else throw new CborError("map keys must be strings or integers", w.pos);
}

function encodeNumber(w: Writer, x: number): void {
  if (Number.isInteger(x) && Math.abs(x) <= TWO_53 && !Object.is(x, -0)) {
    if (x >= 0) w.head(0, x);
    else w.head(1, -1 - x);
  } else w.float64(x);
}

function encodeItem(w: Writer, v: unknown, depth: number, maxDepth: number): void {
  switch (typeof v) {
    case "number": encodeNumber(w, v); return;
    case "string": w.text(v); return;
    case "boolean": w.byte(v ? 0xf5 : 0xf4); return;
    case "undefined": w.byte(0xf7); return;
    case "object": break;
    default: throw new CborError(`cannot encode a ${typeof v}`, w.pos);
  }
  if (v === null) { w.byte(0xf6); return; }
  if (depth >= maxDepth) throw new CborError("nesting deeper than maxDepth (or a cycle)", w.pos);
  if (v instanceof Uint8Array) { w.bytes(v); return; }
  if (v instanceof ArrayBuffer) { w.bytes(new Uint8Array(v)); return; }
  if (Array.isArray(v)) {
    w.head(4, v.length);
    for (let i = 0; i < v.length; i++) encodeItem(w, v[i], depth + 1, maxDepth);
    return;
  }
  if (v instanceof Map) {
    w.head(5, v.size);
    for (const [k, x] of v) {
      encodeKey(w, k);
      encodeItem(w, x, depth + 1, maxDepth);
    }
    return;
  }
  if (ArrayBuffer.isView(v) || !isPlainObject(v)) throw new CborError("cannot encode this object type", w.pos);
  const keys = Object.keys(v);
  w.head(5, keys.length);
  for (const k of keys) {
    w.text(k);
    encodeItem(w, (v as Record<string, unknown>)[k], depth + 1, maxDepth);
  }
}

/** Encodes a value (see the data model above). Throws CborError for what it cannot represent. */
export function encodeCbor(value: unknown, options: CborOptions = {}): Uint8Array {
  const w = new Writer();
  encodeItem(w, value, 0, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  return w.buf.slice(0, w.pos);
}

// ------------------------------------------------------------------ decoder

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(readonly b: Uint8Array, readonly maxDepth: number) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  need(n: number, at: number): void {
    if (n > this.b.length - this.pos) throw new CborError("truncated input", at);
  }

  /** Reads the argument of a head with additional info `ai`. */
  arg(ai: number, at: number): number {
    if (ai < 24) return ai;
    switch (ai) {
      case 24: this.need(1, at); return this.b[this.pos++];
      case 25: { this.need(2, at); const v = this.view.getUint16(this.pos); this.pos += 2; return v; }
      case 26: { this.need(4, at); const v = this.view.getUint32(this.pos); this.pos += 4; return v; }
      case 27: {
        this.need(8, at);
        const hi = this.view.getUint32(this.pos);
        const lo = this.view.getUint32(this.pos + 4);
        this.pos += 8;
        if (hi > 0x200000 || (hi === 0x200000 && lo !== 0)) throw new CborError("integer or length beyond 2^53", at);
        return hi * 0x100000000 + lo;
      }
      case 31: throw new CborError("indefinite length not supported", at);
      default: throw new CborError(`reserved additional information ${ai}`, at);
    }
  }

  item(depth: number): unknown {
    const at = this.pos;
    this.need(1, at);
    const ib = this.b[this.pos++];
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (major === 7) return this.simple(ai, at);
    const n = this.arg(ai, at);
    switch (major) {
      case 0: return n;
      case 1: {
        if (n > TWO_53 - 1) throw new CborError("negative integer beyond -2^53", at);
        return -1 - n;
      }
      case 2: {
        this.need(n, at);
        const out = this.b.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case 3: {
        this.need(n, at);
        const s = this.utf8(this.pos, this.pos + n);
        this.pos += n;
        return s;
      }
      case 4: {
        if (depth >= this.maxDepth) throw new CborError("nesting deeper than maxDepth", at);
        // every item takes at least one byte: a count beyond the remaining input is malformed
        if (n > this.b.length - this.pos) throw new CborError("array count exceeds input", at);
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: return this.map(n, depth, at);
      case 6: throw new CborError("tags not supported", at);
    }
    throw new CborError("unreachable", at);
  }

  simple(ai: number, at: number): unknown {
    switch (ai) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return undefined;
      case 25: { this.need(2, at); const v = halfToNumber(this.view.getUint16(this.pos)); this.pos += 2; return v; }
      case 26: { this.need(4, at); const v = this.view.getFloat32(this.pos); this.pos += 4; return v; }
      case 27: { this.need(8, at); const v = this.view.getFloat64(this.pos); this.pos += 8; return v; }
      case 31: throw new CborError("unexpected break", at);
      case 24: this.need(1, at); this.pos++; throw new CborError("unsupported simple value", at);
      default:
        if (ai < 20) throw new CborError("unsupported simple value", at);
        throw new CborError(`reserved additional information ${ai}`, at);
    }
  }

  map(n: number, depth: number, at: number): unknown {
    if (depth >= this.maxDepth) throw new CborError("nesting deeper than maxDepth", at);
    if (n * 2 > this.b.length - this.pos) throw new CborError("map count exceeds input", at);
    const keys: Array<string | number> = [];
    const values: unknown[] = [];
    let intKeys = false;
    const seen = new Set<string | number>();
    for (let i = 0; i < n; i++) {
      const kat = this.pos;
      this.need(1, kat);
      const major = this.b[this.pos] >> 5;
      if (major > 3 || major === 2) throw new CborError("map key must be a text string or an integer", kat);
      const k = this.item(depth + 1) as string | number;
      if (typeof k === "number") intKeys = true;
      if (seen.has(k)) throw new CborError("duplicate map key", kat);
      seen.add(k);
      keys.push(k);
      values.push(this.item(depth + 1));
    }
    if (intKeys) {
      const m = new Map<string | number, unknown>();
      for (let i = 0; i < n; i++) m.set(keys[i], values[i]);
      return m;
    }
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = keys[i] as string;
      if (k === "__proto__") Object.defineProperty(o, k, { value: values[i], enumerable: true, writable: true, configurable: true });
      else o[k] = values[i];
    }
    return o;
  }

  /** Strict UTF-8 decoding of b[start, end). */
  utf8(start: number, end: number): string {
    const b = this.b;
    let ascii = true;
    for (let i = start; i < end; i++) if (b[i] >= 0x80) { ascii = false; break; }
    const units: number[] = [];
    let out = "";
    const flush = (): void => {
      out += String.fromCharCode.apply(null, units);
      units.length = 0;
    };
    if (ascii) {
      for (let i = start; i < end; i++) {
        units.push(b[i]);
        if (units.length >= 1024) flush();
      }
      flush();
      return out;
    }
    let i = start;
    while (i < end) {
      const c = b[i];
      let cp: number;
      let len: number;
      let min: number;
      if (c < 0x80) { units.push(c); i++; if (units.length >= 1024) flush(); continue; }
      else if (c >= 0xc2 && c <= 0xdf) { cp = c & 0x1f; len = 2; min = 0x80; }
      else if (c >= 0xe0 && c <= 0xef) { cp = c & 0x0f; len = 3; min = 0x800; }
      else if (c >= 0xf0 && c <= 0xf4) { cp = c & 0x07; len = 4; min = 0x10000; }
      else throw new CborError("invalid UTF-8", i);
      if (i + len > end) throw new CborError("truncated UTF-8 sequence", i);
      for (let j = 1; j < len; j++) {
        const cc = b[i + j];
        if ((cc & 0xc0) !== 0x80) throw new CborError("invalid UTF-8", i + j);
        cp = (cp << 6) | (cc & 0x3f);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new CborError("invalid UTF-8", i);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
      i += len;
      if (units.length >= 1024) flush();
    }
    flush();
    return out;
  }
}

function asBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new CborError("input must be a Uint8Array or ArrayBuffer", 0);
}

/** Decodes exactly one CBOR item filling the whole input. Throws CborError on anything else. */
export function decodeCbor(input: Uint8Array | ArrayBuffer, options: CborOptions = {}): unknown {
  const r = new Reader(asBytes(input), options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const v = r.item(0);
  if (r.pos !== r.b.length) throw new CborError("trailing bytes after the item", r.pos);
  return v;
}

/** Decodes the first CBOR item of the input; returns it and the number of bytes it took. */
export function decodeCborPrefix(input: Uint8Array | ArrayBuffer, options: CborOptions = {}): { value: unknown; length: number } {
  const r = new Reader(asBytes(input), options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = r.item(0);
  return { value, length: r.pos };
}
