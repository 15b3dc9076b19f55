/**
 * XS guest for tools/bench-exi.ts: the EXI codec inside xsnap, measured with xsnap's meter (compute units,
 * deterministic).
 *   {op:"exi", items:[{name, grammar, hex}], n}  -> [{name, decode, encode, bytes}] (median compute units of n runs)
 */
import { ExiDecoder, ExiEncoder, type ExiGrammar } from "../firmware/iso15118/exi/index.js";
import { grammar as app } from "../firmware/iso15118/exi/grammars/app.js";
import { grammar as din } from "../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../firmware/iso15118/exi/grammars/iso2.js";
import { median, meterBracket, meterNow, serveCommands } from "./xs/guest-kit.js";

const bracket = meterBracket();

const GR: Record<string, ExiGrammar> = { app, din, iso2 };

function unhex(s: string): Uint8Array {
  const b = new Uint8Array(s.length >> 1);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return b;
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

serveCommands("bench-exi", { exi: (m) => bench(m["items"] as Array<{ name: string; grammar: string; hex: string }>, m["n"] as number) });
