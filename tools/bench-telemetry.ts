/**
 * Telemetry rows of `npm run bench` (XS, deterministic compute units; tools/bench-telemetry-guest.ts):
 *  - bytes per state and per measurement message, CBOR vs JSON (payload bytes, the MQTT header aside);
 *  - compute per publish and the telemetry's cost per second of charging: 2 state checks (500 ms) plus a tenth of
 *    a measurement (10 s period), plus a state change every 10 s as an upper bound.
 * The XS part runs in a child process (xsnap needs SES lockdown, which must stay out of the caller).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./bench-node.js";

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), "../..");

export async function benchTelemetry(): Promise<BenchRow[]> {
  try {
    return (await runChild()) as BenchRow[];
  } catch (e) {
    return [{ name: "telemetry XS rows unavailable", value: 0, unit: "", note: (e as Error).message.split("\n")[0] }];
  }
}

function runChild(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here, "--child"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`bench-telemetry child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as unknown);
      } catch (e) {
        reject(e);
      }
    });
  });
}

async function child(): Promise<BenchRow[]> {
  await import("@endo/init");
  const { bundleFirmware } = await import("./bundle.js");
  const { XsFirmware } = await import("./xs/host.js");
  const b = await bundleFirmware(root, { format: "esm", entry: "tools/bench-telemetry-guest.ts", outFile: "dist/xs-bench-telemetry.js" });
  const xs = await XsFirmware.launch({ bundle: b.file, name: "xs-telemetry", stdout: "ignore", historyLimit: 0 });
  type R = { median: number; max: number; bytes: number };
  try {
    const poll = (await xs.command({ op: "poll", n: 200 })) as R;
    const mc = (await xs.command({ op: "measure", n: 200, format: "cbor" })) as R;
    const mj = (await xs.command({ op: "measure", n: 200, format: "json" })) as R;
    const sc = (await xs.command({ op: "state", n: 200, format: "cbor" })) as R;
    const sj = (await xs.command({ op: "state", n: 200, format: "json" })) as R;
    const perSecond = (m: R) => Math.round(2 * poll.median + m.median / 10);
    return [
      { name: "telemetry measurement bytes CBOR / JSON", value: Math.round(mc.bytes), unit: "bytes", note: `JSON ${Math.round(mj.bytes)} bytes (${Math.round((100 * mc.bytes) / mj.bytes)} %); 3-phase amps/volts, W, Wh, time + synced` },
      { name: "telemetry state bytes CBOR / JSON", value: Math.round(sc.bytes), unit: "bytes", note: `JSON ${Math.round(sj.bytes)} bytes (${Math.round((100 * sc.bytes) / sj.bytes)} %); pilot, contactor, limit + reason, session, energy` },
      { name: "telemetry state check, no change (XS, median)", value: poll.median, unit: "cu", note: `every 500 ms; max ${poll.max}` },
      { name: "telemetry measurement publish CBOR (XS, median)", value: mc.median, unit: "cu", note: `JSON ${mj.median} cu; max ${mc.max}` },
      { name: "telemetry state publish CBOR (XS, median)", value: sc.median, unit: "cu", note: `JSON ${sj.median} cu; max ${sc.max}` },
      { name: "telemetry cost per second (XS, CBOR)", value: perSecond(mc), unit: "cu/s", note: `2 checks + 1/10 measurement; JSON ${perSecond(mj)} cu/s; +${Math.round(sc.median / 10)} cu/s with a state change every 10 s` },
    ];
  } finally {
    await xs.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === here && process.argv[2] === "--child") {
  child().then(
    (rows) => process.stdout.write(JSON.stringify(rows) + "\n"),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
