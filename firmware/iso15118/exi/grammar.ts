/**
 * The generated EXI grammar tables (see tools/gen-exi and README.md). One flat number table per message set:
 * a state at offset s is [width, nProds, cntMax, exhaustedOffset, labelIndex] followed by nProds productions
 * [kind|flags, qname, arg, next]; state ids are table offsets.
 */
import type { BitWriter } from "./bits.js";
import type { ExiLimits, ExiObject } from "./codec.js";

/**
 * A generated straight-line codec of a grammar's hot messages (grammars/<id>.fast.ts). decode() throws (anything)
 * and encode() returns false for whatever it does not cover: the generic codec then redoes the message.
 */
export interface ExiFast {
  decode(bytes: Uint8Array, limits: ExiLimits): ExiObject;
  /** Bytes the last successful decode() used. */
  consumed(): number;
  /** Encodes into w (reset, position 0); false: not covered (w.pos = the bits it touched). */
  encode(doc: ExiObject, w: BitWriter, limits: ExiLimits): boolean;
  /** The fast path runs only when the limits allow its deepest nesting and largest message. */
  maxDepth: number;
  maxNodes: number;
}

export interface ExiGrammar {
  id: string;
  /** Offset of the DocContent state. */
  doc: number;
  /** Local name of each qname (the JSON key). */
  names: string[];
  uris: string[];
  /** Index into uris of each qname. */
  nameUri: number[];
  /** Datatypes, 4 words each: [kind, a, b, c] (NBIT: bits, min, max; ENUM: list, numeric; BINARY: base64). */
  dts: number[];
  enums: string[][];
  table: number[];
  /** State labels for error messages. */
  labels: string[];
  /** The straight-line codec of the hot messages, when generated. */
  fast?: ExiFast;
}

/** Production kinds (low 4 bits). */
export const P_EE = 0;
export const P_SE = 1;
export const P_SE_SIMPLE = 2;
export const P_AT = 3;
export const P_CH = 4;
export const P_SE_ANY = 5;
export const P_CH_MIXED = 6;
export const P_KIND = 15;
export const F_ARRAY = 16;
export const F_LOOP = 32;
export const F_ENTRY = 64;

/** Datatype kinds. */
export const D_STRING = 0;
export const D_BINARY = 1;
export const D_BOOLEAN = 2;
export const D_NBIT = 3;
export const D_UINT = 4;
export const D_INT = 5;
export const D_ENUM = 6;
export const D_UNSUPPORTED = 7;

/** Header words of a state. */
export const S_WIDTH = 0;
export const S_N = 1;
export const S_CNTMAX = 2;
export const S_EXHAUSTED = 3;
export const S_LABEL = 4;
export const S_HEADER = 5;
