/**
 * Shared scaffolding of the XS bench guests (tools/bench-*-guest.ts): xsnap's deterministic meter, the
 * median/max of a run, and the handleCommand that serves `{op, ...}` commands over the wire format.
 * Platform-neutral (bundled into xsnap).
 */
import { decodeMessage, encodeMessage } from "./wire.js";

interface MeterGlobals {
  /** xsnap: sets the current meter to `index` and returns the previous value. */
  resetMeter?: (limit: number, index: number) => number;
  /** xsnap: the command's metering limit. */
  currentMeterLimit?: () => number;
}
const G = globalThis as unknown as MeterGlobals;

/** The engine's meter now (compute units; 0 outside xsnap). */
export function meterNow(): number {
  const r = G.resetMeter;
  const lim = G.currentMeterLimit;
  if (!r || !lim) return 0;
  const l = lim();
  const v = r(l, 0);
  r(l, v);
  return v;
}

/** What a `meterNow() ... meterNow()` bracket around nothing costs, to subtract from each figure. */
export function meterBracket(): number {
  const a = meterNow();
  const b = meterNow();
  return b - a;
}

export function median(xs: number[]): number {
  return stats(xs).median;
}

export function stats(xs: number[]): { median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] ?? 0, max: s[s.length - 1] ?? 0 };
}

export type GuestOp = (m: Record<string, unknown>) => unknown;

/** Installs the global handleCommand: `{op, ...}` -> ops[op](message), an unknown op or a throw -> an error reply. */
export function serveCommands(name: string, ops: Record<string, GuestOp>): void {
  (globalThis as unknown as { handleCommand: (b: ArrayBuffer) => ArrayBuffer }).handleCommand = (bytes) => {
    let reply: unknown;
    try {
      const msg = decodeMessage(bytes) as Record<string, unknown>;
      const fn = ops[msg["op"] as string];
      if (!fn) throw new Error(`${name}: unknown op ${String(msg["op"])}`);
      reply = { r: fn(msg) };
    } catch (e) {
      const err = e as Error;
      reply = { x: { name: String(err?.name ?? "Error"), message: String(err?.message ?? e) } };
    }
    const out = encodeMessage(reply);
    return out.buffer.byteLength === out.byteLength ? (out.buffer as ArrayBuffer) : (out.slice().buffer as ArrayBuffer);
  };
}
