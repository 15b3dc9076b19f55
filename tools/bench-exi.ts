/**
 * EXI rows of `npm run bench`: decode and encode cost per message type (one reference stream per DIN / ISO 15118-2
 * message type, the first one in exi-vectors.jsonl, plus the app handshake), on XS (compute units, xsnap's
 * deterministic meter, median of n runs) and on Node (ns per operation, wall clock, informational).
 * The hot path row: decode CurrentDemandReq + encode CurrentDemandRes (budget 10,000 XS compute units for the
 * whole request -> response path). The XS part runs in a child process (xsnap needs SES lockdown).
 * `node build/tools/bench-exi.js` prints the rows.
 */
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./bench-node.js";
import { ExiDecoder, ExiEncoder } from "../firmware/iso15118/exi/index.js";
import { fuzzExi, loadVectors, VECTOR_GRAMMARS } from "./exi-fuzz.js";
import { printJson, runChild, withGuest } from "./xs/bench-kit.js";

const here = fileURLToPath(import.meta.url);

interface Item {
  name: string;
  grammar: string;
  hex: string;
}

/** One stream per (protocol, message) for app, din, iso2. */
export function benchItems(): Item[] {
  const seen = new Set<string>();
  const out: Item[] = [];
  for (const v of loadVectors()) {
    if (!["app", "din", "iso2"].includes(v.protocol)) continue;
    const k = `${v.protocol} ${v.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ name: k, grammar: v.protocol, hex: v.hex });
  }
  if (out.length === 0) {
    out.push({ name: "din SessionSetupReq", grammar: "din", hex: "809a004011d018038131a0007400" });
    out.push({ name: "din CurrentDemandReq", grammar: "din", hex: "809a0223e95ff78afebf9e10d1400780c0c00404050320000c203e804080e1807c00018103200c0814010140b800" });
  }
  return out;
}

function nodeRows(items: Item[]): Map<string, { decode: number; encode: number }> {
  const dec = new ExiDecoder();
  const enc = new ExiEncoder();
  const res = new Map<string, { decode: number; encode: number }>();
  for (const it of items) {
    const g = VECTOR_GRAMMARS[it.grammar]!;
    const bytes = Uint8Array.from(Buffer.from(it.hex, "hex"));
    const doc = dec.decode(g, bytes);
    const n = 3000;
    for (let i = 0; i < 300; i++) enc.encodeView(g, dec.decode(g, bytes));
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) dec.decode(g, bytes);
    const d = Number(process.hrtime.bigint() - t0) / n;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) enc.encodeView(g, doc);
    const e = Number(process.hrtime.bigint() - t0) / n;
    res.set(it.name, { decode: Math.round(d), encode: Math.round(e) });
  }
  return res;
}

export async function benchExi(): Promise<BenchRow[]> {
  const items = benchItems();
  const node = nodeRows(items);
  type XsRow = { name: string; decode: number; encode: number; bytes: number };
  let xs: XsRow[] | null = null;
  let xsError = "";
  try {
    xs = (await runChild(here, ["--child", JSON.stringify(items)], "bench-exi")) as XsRow[];
  } catch (e) {
    xsError = (e as Error).message.split("\n")[0]!;
  }
  const rows: BenchRow[] = [];
  if (!xs) rows.push({ name: "EXI XS rows unavailable", value: 0, unit: "", note: xsError });
  for (const it of items) {
    const x = xs?.find((r) => r.name === it.name);
    const n = node.get(it.name)!;
    if (x) {
      rows.push({ name: `EXI decode ${it.name} (XS)`, value: x.decode, unit: "cu", note: `${x.bytes} bytes; Node ${n.decode} ns` });
      rows.push({ name: `EXI encode ${it.name} (XS)`, value: x.encode, unit: "cu", note: `Node ${n.encode} ns` });
    } else {
      rows.push({ name: `EXI decode ${it.name} (Node)`, value: n.decode, unit: "ns" });
      rows.push({ name: `EXI encode ${it.name} (Node)`, value: n.encode, unit: "ns" });
    }
  }
  // The longer fuzz run (CI runs 100,000 inputs in test/exi): every input decodes or fails with an ExiError.
  const FUZZ_INPUTS = 2_000_000;
  const FUZZ_SEED = 0x15118;
  const t0 = performance.now();
  const fz = fuzzExi(FUZZ_INPUTS, FUZZ_SEED);
  const ms = performance.now() - t0;
  rows.push({
    name: `EXI decoder fuzz, ${FUZZ_INPUTS.toLocaleString("en")} inputs (seed ${FUZZ_SEED}): inputs that threw anything but an ExiError`,
    value: fz.crashes,
    unit: "inputs",
    note: `must be 0${fz.firstCrash ? ` (first: ${fz.firstCrash.slice(0, 80)})` : ""}; ${fz.decoded.toLocaleString("en")} decoded, ${fz.rejected.toLocaleString("en")} rejected; Node ${Math.round((FUZZ_INPUTS / ms) * 1000).toLocaleString("en")} inputs/s`,
  });
  for (const p of ["din", "iso2"]) {
    const req = xs?.find((r) => r.name === `${p} CurrentDemandReq`);
    const res = xs?.find((r) => r.name === `${p} CurrentDemandRes`);
    if (req && res) rows.push({ name: `EXI ${p} CurrentDemandReq decode + CurrentDemandRes encode (XS)`, value: req.decode + res.encode, unit: "cu", note: "budget for the whole req -> res path: 10,000" });
  }
  return rows;
}

function child(items: Item[]): Promise<unknown> {
  return withGuest("tools/bench-exi-guest.ts", "dist/xs-bench-exi.js", "xs-exi", async (xs) => {
    // one command per message: a command has a compute limit
    const out: unknown[] = [];
    for (const it of items) out.push(...((await xs.command({ op: "exi", items: [it], n: 51 })) as unknown[]));
    return out;
  });
}

if (process.argv[1] === here) {
  if (process.argv[2] === "--child") {
    printJson(child(JSON.parse(process.argv[3]!) as Item[]));
  } else {
    benchExi().then((rows) => {
      for (const r of rows) process.stdout.write(`${r.name.padEnd(72)} ${String(r.value).padStart(8)} ${r.unit.padEnd(3)} ${r.note ?? ""}\n`);
    });
  }
}
