/**
 * ISO 15118 rows of `npm run bench` (XS, deterministic meters; the guest is tools/xs/bench-hlc-guest.ts):
 *  - the per-message path CurrentDemandReq -> CurrentDemandRes (DIN 70121 DC, ISO 15118-2 DC) and ChargingStatusReq
 *    -> ChargingStatusRes (ISO 15118-2 AC) through the firmware's HlcSessionHost on its V2gChannel, median / p99 of
 *    1,000 replays in the charge loop: the session host (snapshot, decode, machine, encode, V2GTP send, actions to
 *    a recording sink), and the whole TCP-bytes-in -> TCP-bytes-out path (V2GTP receive added); the control tick
 *    (bench-xs: firmware only, steady charging) next to it and the sum, against the 10,000-unit budget;
 *  - the session layer's heap on XS: live slots + chunk bytes (XS snapshot after a full GC, like bench-memory.ts)
 *    with a session in its charge loop (10 rounds), above the evaluated bundle, on a fresh engine per case: the
 *    host, its machine, the channel, the snapshot record, and the module state the codecs built lazily.
 * `node build/tools/xs/bench-hlc.js` prints the rows; `--json` the raw figures.
 */
import { fileURLToPath } from "node:url";
import { rm } from "node:fs/promises";
import * as path from "node:path";
import { isMain, printJson, root, runChild, withGuest } from "./bench-kit.js";
import type { BenchRow } from "./bench-xs.js";

const here = fileURLToPath(import.meta.url);

interface Dist {
  median: number;
  p99: number;
  max: number;
}

export interface HlcPath {
  protocol: "din" | "iso2";
  kind: "ac" | "dc";
  request: string;
  response: string;
  code: string;
  requestBytes: number;
  responseBytes: number;
  actionsPerMessage: number;
  state: string;
  host: Dist;
  full: Dist;
  decode: Dist;
  handle: Dist;
  encode: Dist;
}

export interface HlcMemory {
  protocol: "din" | "iso2";
  kind: "ac" | "dc";
  /** Above the evaluated bundle, after a full GC, with the session in its charge loop. */
  session: { slots: number; chunks: number };
  messages: number;
}

export interface HlcReport {
  paths: HlcPath[];
  memory: HlcMemory[];
}

const CASES: Array<["din" | "iso2", "ac" | "dc"]> = [
  ["din", "dc"],
  ["iso2", "dc"],
  ["iso2", "ac"],
];

export function measureHlc(): Promise<HlcReport> {
  return runChild(here, ["--child"], "bench-hlc") as Promise<HlcReport>;
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * The bench rows. `tick`: the control tick's figures from bench-xs (firmware only, steady charging), for the sum;
 * without it the sum rows are left out.
 */
export async function benchHlc(tick?: { median: number; p99: number }): Promise<BenchRow[]> {
  const r = await measureHlc();
  const rows: BenchRow[] = [];
  const label = (p: HlcPath) => `${p.protocol === "din" ? "DIN 70121" : "ISO 15118-2"} ${p.kind.toUpperCase()} ${p.request} -> ${p.response}`;
  for (const p of r.paths) {
    rows.push({
      name: `XS HLC ${label(p)}: session host (decode + machine + encode + send + actions), median`,
      value: p.host.median,
      unit: "cu",
      note: `p99 ${thousands(p.host.p99)}; decode ${thousands(p.decode.median)} + machine ${thousands(p.handle.median)} + encode ${thousands(p.encode.median)}; ${p.requestBytes} -> ${p.responseBytes} B, ${p.actionsPerMessage} actions, ${p.code}`,
    });
    rows.push({
      name: `XS HLC ${label(p)}: TCP bytes in -> TCP bytes out (V2GTP receive added), median`,
      value: p.full.median,
      unit: "cu",
      note: `p99 ${thousands(p.full.p99)}; budget with the control tick: 10,000`,
    });
    if (tick) {
      rows.push({
        name: `XS HLC ${label(p)}: path + control tick (firmware only, steady charging), median`,
        value: p.full.median + tick.median,
        unit: "cu",
        note: `p99 ${thousands(p.full.p99 + tick.p99)} (sum of p99s); tick ${thousands(tick.median)} / p99 ${thousands(tick.p99)}; budget 10,000`,
      });
    }
  }
  for (const m of r.memory) {
    rows.push({
      name: `XS HLC session layer heap mid-session, ${m.protocol === "din" ? "DIN 70121" : "ISO 15118-2"} ${m.kind.toUpperCase()} (after GC, above the bundle)`,
      value: m.session.slots * 16 + m.session.chunks,
      unit: "bytes",
      note: `${thousands(m.session.slots)} slots x 16 B + ${thousands(m.session.chunks)} chunk B (64-bit xsnap: an upper bound); ${m.messages} messages in`,
    });
  }
  return rows;
}

async function child(): Promise<HlcReport> {
  // A bundle of its own per process: two benches side by side (the tests) must not read a bundle the other rewrites.
  const bundle = `build/xs-bench/hlc-${process.pid}.js`;
  return withGuest("tools/xs/bench-hlc-guest.ts", bundle, "xs-hlc", async (xs) => {
    const { snapshotFootprint } = await import("./bench-memory.js");
    const { XsFirmware } = await import("./host.js");
    const paths: HlcPath[] = [];
    for (const [protocol, kind] of CASES) paths.push((await xs.command({ op: "path", protocol, kind, n: 1000 })) as HlcPath);
    // Memory: each case on a fresh engine (bundle evaluated, nothing run), so the codecs' lazily built module
    // state counts (it is the stack's too) and nothing of another case does.
    const memory: HlcMemory[] = [];
    for (const [protocol, kind] of CASES) {
      const fresh = await XsFirmware.launch({ bundle: path.join(root, bundle), name: "xs-hlc-memory", stdout: "ignore", historyLimit: 0 });
      try {
        const base = await snapshotFootprint(fresh);
        const s = (await fresh.command({ op: "session", protocol, kind, loops: 10 })) as { messages: number };
        const mid = await snapshotFootprint(fresh);
        memory.push({ protocol, kind, session: { slots: mid.slots - base.slots, chunks: mid.chunks - base.chunks }, messages: s.messages });
      } finally {
        await fresh.close();
      }
    }
    return { paths, memory };
  }).finally(() => rm(path.join(root, bundle), { force: true }));
}

if (isMain(here, "--child")) printJson(child());
else if (isMain(here, "--json")) printJson(measureHlc());
else if (isMain(here)) {
  benchHlc().then((rows) => {
    for (const r of rows) process.stdout.write(`${r.name.padEnd(110)} ${String(r.value).padStart(8)} ${r.unit.padEnd(5)} ${r.note ?? ""}\n`);
  });
}
