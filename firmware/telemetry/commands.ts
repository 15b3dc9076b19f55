/**
 * MQTT command payloads: decoding (CBOR map, JSON object, or Home Assistant's plain text) and strict validation.
 * A command that fails here is answered with an error on its reply topic and changes nothing.
 *
 * Payload forms accepted on <prefix>/<id>/cmd/<name>:
 *  - JSON object: first byte "{";
 *  - plain text: a decimal number ("16", "6.5"; the limit) or ON / OFF (the pause switch), as Home Assistant's
 *    number and switch entities send them;
 *  - an empty payload (resume, stop, start);
 *  - otherwise CBOR (a map with text keys).
 */
import { CborError, decodeCbor } from "../util/cbor.js";
import { utf8Decode } from "../util/utf8.js";

export const COMMAND_NAMES = ["limit", "pause", "resume", "start", "stop"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface LimitCommand {
  name: "limit";
  /** A per phase; null withdraws the limit. */
  amps: number | null;
  /** Hold time requested, s (absent: the configured maximum). */
  ttl?: number;
  id?: string;
}
export interface PauseCommand {
  name: "pause";
  ttl?: number;
  id?: string;
}
export interface SimpleCommand {
  name: "resume" | "start" | "stop";
  id?: string;
}
export type Command = LimitCommand | PauseCommand | SimpleCommand;

export class CommandError extends Error {
  constructor(readonly code: "BadPayload" | "BadValue" | "UnknownCommand" | "NotAllowed" | "Rejected", message: string) {
    super(message);
    this.name = "CommandError";
  }
}

export const MAX_COMMAND_BYTES = 512;
const MAX_AMPS = 80;

/** Decodes a payload to a plain value (object, number, string, or null for empty). */
export function decodePayload(data: Uint8Array): unknown {
  if (data.byteLength > MAX_COMMAND_BYTES) throw new CommandError("BadPayload", `payload over ${MAX_COMMAND_BYTES} bytes`);
  if (data.byteLength === 0) return null;
  const first = data[0]!;
  const printable = data.every((b) => b >= 0x20 && b < 0x7f);
  if (first === 0x7b || (printable && /^[\s\d.+\-A-Za-z]*$/.test(ascii(data)))) {
    let text: string;
    try {
      text = utf8Decode(data).trim();
    } catch {
      throw new CommandError("BadPayload", "invalid UTF-8");
    }
    if (first === 0x7b) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new CommandError("BadPayload", "invalid JSON");
      }
    }
    if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) return Number(text);
    return text;
  }
  try {
    return decodeCbor(data, { maxDepth: 4 });
  } catch (e) {
    throw new CommandError("BadPayload", e instanceof CborError ? e.message : "invalid CBOR");
  }
}

function ascii(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
  return s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map);
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new CommandError("BadValue", `unknown field ${JSON.stringify(k.slice(0, 32))}`);
}

function optId(o: Record<string, unknown>): string | undefined {
  const id = o["id"];
  if (id === undefined) return undefined;
  if (typeof id !== "string" || id.length === 0 || id.length > 64) throw new CommandError("BadValue", "id must be a string of 1..64 characters");
  return id;
}

function optTtl(o: Record<string, unknown>, maxHoldS: number): number | undefined {
  const ttl = o["ttl"];
  if (ttl === undefined) return undefined;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0 || ttl > maxHoldS)
    throw new CommandError("BadValue", `ttl must be a number of seconds in (0, ${maxHoldS}]`);
  return ttl;
}

/** Validates a decoded payload for a command. Throws CommandError. */
export function parseCommand(name: string, value: unknown, maxHoldS: number): Command {
  switch (name) {
    case "limit": {
      let o: Record<string, unknown>;
      if (typeof value === "number") o = { amps: value };
      else if (isPlainObject(value)) o = value;
      else throw new CommandError("BadPayload", "limit: a number of amps or a map {amps, ttl?, id?}");
      checkKeys(o, ["amps", "ttl", "id"]);
      if (!("amps" in o)) throw new CommandError("BadValue", "limit: amps is required");
      const amps = o["amps"];
      if (amps !== null && (typeof amps !== "number" || !Number.isFinite(amps) || amps < 0 || amps > MAX_AMPS))
        throw new CommandError("BadValue", `limit: amps must be a number in 0..${MAX_AMPS} or null`);
      const cmd: LimitCommand = { name: "limit", amps: amps as number | null };
      const ttl = optTtl(o, maxHoldS);
      if (ttl !== undefined) cmd.ttl = ttl;
      const id = optId(o);
      if (id !== undefined) cmd.id = id;
      return cmd;
    }
    case "pause": {
      if (value === "ON" || value === null) return { name: "pause" };
      if (value === "OFF") return { name: "resume" };
      if (!isPlainObject(value)) throw new CommandError("BadPayload", "pause: ON, OFF, empty or a map {ttl?, id?}");
      checkKeys(value, ["ttl", "id"]);
      const cmd: PauseCommand = { name: "pause" };
      const ttl = optTtl(value, maxHoldS);
      if (ttl !== undefined) cmd.ttl = ttl;
      const id = optId(value);
      if (id !== undefined) cmd.id = id;
      return cmd;
    }
    case "resume":
    case "start":
    case "stop": {
      if (value === null) return { name };
      if (!isPlainObject(value)) throw new CommandError("BadPayload", `${name}: empty or a map {id?}`);
      checkKeys(value, ["id"]);
      const id = optId(value);
      return id === undefined ? { name } : { name, id };
    }
    default:
      throw new CommandError("UnknownCommand", `unknown command ${JSON.stringify(name.slice(0, 32))}`);
  }
}
