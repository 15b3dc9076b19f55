/** `npm run bench`: the project's figures, one table. Deterministic rows (XS meters) and timed rows (Node). */
import { statSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { benchNode, type BenchRow } from "./bench-node.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  try {
    const { benchXs } = (await import("./xs/bench-xs.js")) as { benchXs: () => Promise<BenchRow[]> };
    rows.push(...(await benchXs()));
  } catch (e) {
    rows.push({ name: "XS rows unavailable", value: 0, unit: "", note: (e as Error).message.split("\n")[0] });
  }
  rows.push(...benchNode());
  rows.push(...(await (await import("./bench-metering.js")).benchMetering()));
  rows.push(...(await (await import("./bench-ocpp.js")).benchOcpp()));
  rows.push(...(await (await import("./bench-exi.js")).benchExi()));
  try {
    // The ISO 15118 session path, with the control tick's figures (bench-xs, firmware only) for the sum.
    const tickRow = (what: string) => rows.find((r) => r.name.startsWith("XS tick, steady charging: FIRMWARE only") && r.name.endsWith(what))?.value;
    const median = tickRow("median"), p99 = tickRow("p99");
    const { benchHlc } = await import("./xs/bench-hlc.js");
    rows.push(...(await benchHlc(median !== undefined && p99 !== undefined ? { median, p99 } : undefined)));
  } catch (e) {
    rows.push({ name: "XS HLC rows unavailable", value: 0, unit: "", note: (e as Error).message.split("\n")[0] });
  }
  rows.push(...(await (await import("./bench-network.js")).benchNetwork()));
  rows.push(...(await (await import("./bench-loadbalancing.js")).benchLoadBalancing()));
  rows.push(...(await (await import("./bench-telemetry.js")).benchTelemetry()));
  rows.push(...(await (await import("./xs/bench-memory.js")).benchMemory()));
  for (const f of ["dist/firmware.js", "dist/xs-guest.js"]) {
    try {
      rows.push({ name: `bundle ${f}`, value: statSync(path.join(root, f)).size, unit: "bytes" });
    } catch {
      rows.push({ name: `bundle ${f}`, value: 0, unit: "bytes", note: "not built (npm run build)" });
    }
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write(`${"figure".padEnd(w)}  ${"value".padStart(12)}  unit   note\n${"-".repeat(w + 40)}\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(w)}  ${String(r.value).padStart(12)}  ${r.unit.padEnd(5)}  ${r.note ?? ""}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
