/**
 * XS guest for tools/bench-exi.ts: the EXI codec inside xsnap, measured with xsnap's meter (compute units,
 * deterministic).
 *   {op:"exi", items:[{name, grammar, hex}], n}  -> [{name, decode, encode, bytes}] (median compute units of n runs)
 */
import { ExiDecoder, ExiEncoder, type ExiGrammar } from "../firmware/iso15118/exi/index.js";
import { grammar as app } from "../firmware/iso15118/exi/grammars/app.js";
import { grammar as din } from "../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../firmware/iso15118/exi/grammars/iso2.js";
import { decodeMessage, encodeMessage } from "./xs/wire.js";

interface MeterGlobals {
  resetMeter?: (limit: number, index: number) => number;
  currentMeterLimit?: () => number;
}
const G = globalThis as unknown as MeterGlobals;

function meterNow(): number {
  const r = G.resetMeter;
  const lim = G.currentMeterLimit;
  if (!r || !lim) return 0;
  const l = lim();
  const v = r(l, 0);
  r(l, v);
  return v;
}

const bracket = (() => {
  const a = meterNow();
  const b = meterNow();
  return b - a;
})();

const GR: Record<string, ExiGrammar> = { app, din, iso2 };

function unhex(s: string): Uint8Array {
  const b = new Uint8Array(s.length >> 1);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return b;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const dec = new ExiDecoder();
const enc = new ExiEncoder();

function bench(items: Array<{ name: string; grammar: string; hex: string }>, n: number): unknown {
  const out: unknown[] = [];
  for (const it of items) {
    const g = GR[it.grammar]!;
    const bytes = unhex(it.hex);
    const doc = dec.decode(g, bytes);
    enc.encodeView(g, doc);
    const d: number[] = [];
    const e: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = meterNow();
      dec.decode(g, bytes);
      const b = meterNow();
      enc.encodeView(g, doc);
      const c = meterNow();
      d.push(b - a - bracket);
      e.push(c - b - bracket);
    }
    out.push({ name: it.name, decode: median(d), encode: median(e), bytes: bytes.length });
  }
  return out;
}

(globalThis as unknown as { handleCommand: (b: ArrayBuffer) => ArrayBuffer }).handleCommand = (bytes) => {
  let reply: unknown;
  try {
    const msg = decodeMessage(bytes) as { op: string; items: Array<{ name: string; grammar: string; hex: string }>; n: number };
    if (msg.op !== "exi") throw new Error(`bench-exi: unknown op ${msg.op}`);
    reply = { r: bench(msg.items, msg.n) };
  } catch (e) {
    const err = e as Error;
    reply = { x: { name: String(err?.name ?? "Error"), message: String(err?.message ?? e) } };
  }
  const out = encodeMessage(reply);
  return out.buffer.byteLength === out.byteLength ? (out.buffer as ArrayBuffer) : (out.slice().buffer as ArrayBuffer);
};
