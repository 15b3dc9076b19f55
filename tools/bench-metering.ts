/**
 * Metering rows of `npm run bench`:
 *  - XS: the ADE9000 driver's read cycle (14 CRC-checked register reads, scaling, energy accumulation) in
 *    compute units, with the SPI replayed natively (tools/bench-metering-guest.ts);
 *  - XS: the power-fail path (fresh read, accounting update, commit of the registers) in compute units, and the
 *    bytes one commit writes;
 *  - Node: flash bytes the metering writes per hour of charging (a 1 h session of the demo board: periodic
 *    commits, session start/end commits, OCMF pagination counter), as key + value bytes and as ESP-IDF NVS entry
 *    bytes (32-byte entries: one header entry plus ceil(length / 32) data entries per string).
 * The XS part runs in a child process (xsnap needs SES lockdown, which must stay out of the caller).
 */
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./bench-node.js";
import { isMain, printJson, runChild, withGuest } from "./xs/bench-kit.js";

const here = fileURLToPath(import.meta.url);

export async function benchMetering(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  try {
    rows.push(...((await runChild(here, ["--child"], "bench-metering")) as BenchRow[]));
  } catch (e) {
    rows.push({ name: "metering XS rows unavailable", value: 0, unit: "", note: (e as Error).message.split("\n")[0] });
  }
  rows.push(...(await flashPerHour()));
  return rows;
}

function child(): Promise<BenchRow[]> {
  return withGuest("tools/bench-metering-guest.ts", "dist/xs-bench-metering.js", "xs-metering", async (xs) => {
    const d = (await xs.command({ op: "driver", n: 300 })) as { median: number; max: number; bytes: number; fault: string };
    const c = (await xs.command({ op: "commit", n: 300 })) as { median: number; max: number; bytes: number };
    return [
      { name: "ADE9000 driver read cycle (XS, median)", value: d.median, unit: "cu", note: `max ${d.max}; ${d.bytes} SPI bytes per cycle (14 reads with CRC)${d.fault ? `; fault ${d.fault}` : ""}` },
      { name: "power-fail commit path (XS, median)", value: c.median, unit: "cu", note: `read + update + key-value commit; max ${c.max}` },
      { name: "power-fail commit size", value: c.bytes, unit: "bytes", note: "key + value of one register record" },
    ];
  });
}

async function flashPerHour(): Promise<BenchRow[]> {
  const { Simulation, DEMO_SCENARIO } = await import("../simulator/simulation.js");
  const { parseScenario } = await import("../simulator/scenario.js");
  const { start } = await import("../firmware/main.js");
  const demo = JSON.parse(DEMO_SCENARIO) as Record<string, unknown>;
  demo["duration"] = "70min";
  demo["ev"] = { batteryKWh: 200, initialSoc: 10, targetSoc: 100, maxCurrent: 32 };
  demo["events"] = [
    { at: "5s", do: "plug" },
    { at: "8s", do: "swipe", idTag: "DEMO-CARD-01" },
    { at: "60min8s", do: "unplug" },
  ];
  const sim = await Simulation.create({ scenario: parseScenario(JSON.stringify(demo), "bench-1h"), once: true });
  let raw = 0;
  let nvs = 0;
  let sets = 0;
  const kv = sim.storage.keyValue;
  const open = kv.open.bind(kv);
  kv.open = (o) => {
    const inst = open(o);
    if (o.path !== "meter") return inst;
    const set = inst.set.bind(inst);
    inst.set = (k: string, v: string) => {
      set(k, v);
      sets++;
      raw += k.length + v.length;
      nvs += 32 * (1 + Math.ceil(v.length / 32));
    };
    return inst;
  };
  try {
    const res = await sim.run((hal, c) => start(hal, c));
    const wh = res.sessions[0]?.Wh ?? 0;
    return [
      { name: "metering flash writes per hour of charging", value: raw, unit: "bytes", note: `${sets} key-value sets (key + value bytes); ${nvs} bytes as NVS entries; ${wh} Wh charged` },
    ];
  } finally {
    await sim.close();
  }
}

if (isMain(here, "--child")) printJson(child());
