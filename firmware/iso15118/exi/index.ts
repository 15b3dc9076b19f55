/**
 * The EXI codec's API for the DIN 70121 / ISO 15118-2 sessions (see README.md):
 *   decodeExi("din", bytes) -> { V2G_Message: { Header: {...}, Body: {...} } }
 *   encodeExi("din", doc)   -> bytes
 * Errors are ExiError (bit position + grammar state). -20 grammars are in grammars/iso20*.ts (use ExiDecoder /
 * ExiEncoder with them directly).
 */
import { ExiDecoder, ExiEncoder, type ExiDocument, type ExiLimits } from "./codec.js";
import type { ExiGrammar } from "./grammar.js";
import { grammar as app } from "./grammars/app.js";
import { grammar as din } from "./grammars/din.js";
import { grammar as iso2 } from "./grammars/iso2.js";

export { ExiError } from "./bits.js";
export { CONTENT, DEFAULT_LIMITS, ExiDecoder, ExiEncoder, type ExiDocument, type ExiLimits, type ExiObject, type ExiValue } from "./codec.js";
export type { ExiGrammar } from "./grammar.js";

export type ExiGrammarId = "app" | "din" | "iso2";

export const GRAMMARS: Readonly<Record<ExiGrammarId, ExiGrammar>> = { app, din, iso2 };

let decoder: ExiDecoder | null = null;
let encoder: ExiEncoder | null = null;

/**
 * The shared decoder / encoder decodeExi / encodeExiView use (default limits), for a caller that decodes and encodes
 * every message of a session with one grammar: calling them directly saves the grammar lookup and the wrapper (~50
 * units each way on XS).
 */
export function sharedDecoder(): ExiDecoder {
  return (decoder ??= new ExiDecoder());
}
export function sharedEncoder(): ExiEncoder {
  return (encoder ??= new ExiEncoder());
}

/** Decodes one EXI stream (the V2GTP payload) of the given message set. Throws ExiError. */
export function decodeExi(grammar: ExiGrammarId | ExiGrammar, bytes: Uint8Array, limits?: ExiLimits): ExiDocument {
  const g = typeof grammar === "string" ? GRAMMARS[grammar] : grammar;
  if (!g) throw new RangeError(`unknown EXI grammar ${String(grammar)}`);
  const d = limits ? new ExiDecoder(limits) : (decoder ??= new ExiDecoder());
  return d.decode(g, bytes);
}

/**
 * Encodes a message into the shared encoder's buffer: the view is valid until the next encode (copy it, or hand it
 * to something that copies at once, like V2gChannel.send). Saves encodeExi's copy (~140 units on XS). Throws ExiError.
 */
export function encodeExiView(grammar: ExiGrammarId | ExiGrammar, doc: ExiDocument): Uint8Array {
  const g = typeof grammar === "string" ? GRAMMARS[grammar] : grammar;
  if (!g) throw new RangeError(`unknown EXI grammar ${String(grammar)}`);
  return (encoder ??= new ExiEncoder()).encodeView(g, doc);
}

/** Encodes a message (same JSON shape as decodeExi returns) into a new Uint8Array. Throws ExiError. */
export function encodeExi(grammar: ExiGrammarId | ExiGrammar, doc: ExiDocument): Uint8Array {
  const g = typeof grammar === "string" ? GRAMMARS[grammar] : grammar;
  if (!g) throw new RangeError(`unknown EXI grammar ${String(grammar)}`);
  return (encoder ??= new ExiEncoder()).encode(g, doc);
}
