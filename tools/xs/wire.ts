/**
 * The XS bridge's wire encoding: JSON with tags for what JSON cannot carry, then UTF-8.
 *
 * Platform-neutral (bundled into the XS guest; also used by the Node host). Tags:
 *   {"$b": "<hex>"}               ArrayBuffer
 *   {"$b": "<hex>", "$t": "u8"}   Uint8Array (the view's bytes only); "dv" DataView; other typed arrays by name
 *   {"$n": "NaN" | "Infinity" | "-Infinity" | "-0"}
 *   {"$u": 1}                      undefined (kept in arrays and object fields, so arity and shape survive)
 *   {"$i": "<decimal>"}            bigint
 *   {"$e": {name, message, code?}} an Error
 *   {"$r": id, ...}                a reference to a bridged instance (produced/consumed by the hooks)
 *   {"$o": {...}}                  a plain object that has a key starting with "$" (escaped)
 * Functions never cross: encoding one throws TypeError (callbacks are bridged by name, see guest.ts/host.ts).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface WireHooks {
  /** Called for every object that is not an Array, binary or Error: return a tag, or undefined to encode it as plain data. */
  ref?(value: object): Json | undefined;
  /** Called for a {"$r": ...} tag. */
  deref?(tag: { [key: string]: Json }): unknown;
}

const HEX = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  throw new SyntaxError("wire: bad hex digit");
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length & 1) throw new SyntaxError("wire: odd hex length");
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) {
    out[i] = (hexNibble(hex.charCodeAt(2 * i)) << 4) | hexNibble(hex.charCodeAt(2 * i + 1));
  }
  return out;
}

/** The bytes of an ArrayBuffer, a typed array or a DataView, as a Uint8Array over the same memory. */
export function bytesOf(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

const TYPED: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  u8: Uint8Array,
  dv: DataView,
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

function viewTag(v: ArrayBufferView): string {
  if (v instanceof Uint8Array && v.constructor === Uint8Array) return "u8";
  if (v instanceof DataView) return "dv";
  return (v.constructor as { name: string }).name;
}

export function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

export function toWire(value: unknown, hooks?: WireHooks): Json {
  switch (typeof value) {
    case "number":
      if (value !== value) return { $n: "NaN" };
      if (value === Infinity) return { $n: "Infinity" };
      if (value === -Infinity) return { $n: "-Infinity" };
      if (value === 0 && 1 / value < 0) return { $n: "-0" };
      return value;
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return { $u: 1 };
    case "bigint":
      return { $i: value.toString() };
    case "function":
      throw new TypeError("wire: a function cannot cross the XS bridge");
    case "symbol":
      throw new TypeError("wire: a symbol cannot cross the XS bridge");
  }
  if (value === null) return null;
  const obj = value as object;
  if (Array.isArray(obj)) {
    const out: Json[] = new Array(obj.length);
    for (let i = 0; i < obj.length; i++) out[i] = toWire(obj[i], hooks);
    return out;
  }
  if (obj instanceof ArrayBuffer) return { $b: toHex(new Uint8Array(obj)) };
  if (ArrayBuffer.isView(obj)) return { $b: toHex(bytesOf(obj)), $t: viewTag(obj) };
  if (obj instanceof Error) {
    const e: { [key: string]: Json } = { name: String(obj.name), message: String(obj.message) };
    const code = (obj as { code?: unknown }).code;
    if (code !== undefined) e.code = toWire(code, hooks);
    return { $e: e };
  }
  if (hooks?.ref) {
    const tag = hooks.ref(obj);
    if (tag !== undefined) return tag;
  }
  const out: { [key: string]: Json } = {};
  let escape = false;
  for (const key of Object.keys(obj)) {
    if (key.charCodeAt(0) === 36 /* $ */) escape = true;
    out[key] = toWire((obj as Record<string, unknown>)[key], hooks);
  }
  return escape ? { $o: out } : out;
}

export function fromWire(json: Json, hooks?: WireHooks): unknown {
  if (json === null || typeof json !== "object") return json;
  if (Array.isArray(json)) {
    const out: unknown[] = new Array(json.length);
    for (let i = 0; i < json.length; i++) out[i] = fromWire(json[i]!, hooks);
    return out;
  }
  const b = json.$b;
  if (typeof b === "string") {
    const bytes = fromHex(b);
    const t = json.$t;
    if (t === undefined) return bytes.buffer;
    if (t === "u8") return bytes;
    const C = TYPED[t as string];
    if (!C) throw new SyntaxError(`wire: unknown view type ${String(t)}`);
    return new C(bytes.buffer as ArrayBuffer);
  }
  const n = json.$n;
  if (typeof n === "string") {
    if (n === "NaN") return NaN;
    if (n === "Infinity") return Infinity;
    if (n === "-Infinity") return -Infinity;
    if (n === "-0") return -0;
    throw new SyntaxError(`wire: bad number tag ${n}`);
  }
  if (json.$u === 1) return undefined;
  if (typeof json.$i === "string") return BigInt(json.$i);
  const e = json.$e;
  if (e && typeof e === "object" && !Array.isArray(e)) return makeError(e);
  if (json.$r !== undefined) {
    if (!hooks?.deref) throw new SyntaxError("wire: unexpected reference");
    return hooks.deref(json);
  }
  const src = (json.$o && typeof json.$o === "object" && !Array.isArray(json.$o) ? json.$o : json) as {
    [key: string]: Json;
  };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(src)) out[key] = fromWire(src[key]!, hooks);
  return out;
}

const ERRORS: Record<string, new (message: string) => Error> = {
  Error,
  RangeError,
  TypeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds an error of the same class (for the standard ones) with the same message, name and code. */
export function makeError(e: { [key: string]: Json }): Error {
  const name = typeof e.name === "string" ? e.name : "Error";
  const C = ERRORS[name] ?? Error;
  const err = new C(typeof e.message === "string" ? e.message : "");
  if (err.name !== name) {
    Object.defineProperty(err, "name", { value: name, writable: true, configurable: true, enumerable: false });
  }
  if (e.code !== undefined) (err as Error & { code?: unknown }).code = fromWire(e.code);
  return err;
}

/** JSON text + UTF-8. TextEncoder exists in Node and in xsnap's XS build (checked), not necessarily on a device. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMessage(value: unknown, hooks?: WireHooks): Uint8Array {
  return encoder.encode(JSON.stringify(toWire(value, hooks)));
}

export function decodeMessage(bytes: ArrayBuffer | Uint8Array, hooks?: WireHooks): unknown {
  return fromWire(JSON.parse(decoder.decode(bytes)) as Json, hooks);
}

/**
 * Copies `src` into `dst` in place (objects field by field, arrays element by element, recursing), so a
 * read(into) across the bridge fills the caller's own object and nested arrays, as the HAL promises.
 */
export function assignInto(dst: unknown, src: unknown): void {
  if (!dst || typeof dst !== "object" || !src || typeof src !== "object") return;
  if (Array.isArray(dst) && Array.isArray(src)) {
    for (let i = 0; i < src.length; i++) {
      const d = dst[i], s = src[i];
      if (d && typeof d === "object" && s && typeof s === "object" && !ArrayBuffer.isView(d)) assignInto(d, s);
      else dst[i] = s;
    }
    if (dst.length > src.length) dst.length = src.length;
    return;
  }
  const d = dst as Record<string, unknown>;
  const s = src as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    const dv = d[key], sv = s[key];
    if (dv && typeof dv === "object" && sv && typeof sv === "object" && !ArrayBuffer.isView(dv) && !(dv instanceof ArrayBuffer)) {
      assignInto(dv, sv);
    } else d[key] = sv;
  }
}
