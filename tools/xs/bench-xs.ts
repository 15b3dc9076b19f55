/**
 * XS rows of the benchmark (deterministic XS meters, not wall time):
 *  - control-loop tick cost in compute units, steady state (charging, contactor closed), measured with the
 *    firmware and the simulator's device layer in the same XS engine (no bridge); the physics is
 *    integrated before each tick, so the figure is the firmware's tick plus the device calls it makes;
 *  - XS heap high-water (currentHeapCount max over a full session), and live slots after GC;
 *  - heap growth over 100,000 steady-state ticks (live slots after GC, before vs after): must be 0;
 *  - the bridge: XS-side compute per bridged HAL call, and its wall-clock round trip (informational).
 *
 * benchXs() spawns this file as a child process (SES lockdown stays out of the caller's process).
 * `node build/tools/xs/bench-xs.js` prints the rows as JSON.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), "../../..");

export interface BenchXsOptions {
  /** Steady-state ticks for the heap-growth row. Default 100,000. */
  growthTicks?: number;
  /** Ticks measured one by one for the tick-cost rows. Default 1,000. */
  measuredTicks?: number;
  /** Firmware config overrides for the in-XS session. */
  config?: Record<string, unknown>;
}

/** Runs the XS benchmark in a child process and returns its rows. */
export function benchXs(options: BenchXsOptions = {}): Promise<BenchRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here, "--child", JSON.stringify(options)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`bench-xs child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!) as BenchRow[]);
      } catch (e) {
        reject(e);
      }
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** In the child: SES first, then xsnap. */
async function child(options: BenchXsOptions): Promise<BenchRow[]> {
  await import("@endo/init");
  const { XsFirmware } = await import("./host.js");
  const { bundleFirmware, bundleXsGuest } = await import("../bundle.js");
  const growthTicks = options.growthTicks ?? 100_000;
  const measuredTicks = options.measuredTicks ?? 1_000;
  const rows: BenchRow[] = [];

  const esm = await bundleFirmware(root);
  const bench = await bundleFirmware(root, { format: "iife", guest: "tools/xs/bench-guest.ts", outFile: "dist/xs-bench.js" });
  const guest = await bundleXsGuest(root);
  rows.push({ name: "firmware bundle (dist/firmware.js)", value: esm.bytes, unit: "bytes" });
  rows.push({ name: "XS guest bundle (firmware + bridge)", value: guest.bytes, unit: "bytes" });

  // ---- firmware + devices inside XS ----
  const xs = await XsFirmware.launch({ bundle: bench.file, name: "xs-bench", stdout: "ignore", historyLimit: 0 });
  const base = (await xs.gc()).currentHeapCount; // the engine's own slots (globals, bundle code)
  let heapMax = 0;
  const track = <M extends { currentHeapCount: number }>(m: M): M => {
    if (m.currentHeapCount > heapMax) heapMax = m.currentHeapCount;
    return m;
  };
  track(await xs.commandMeters({ op: "start", config: options.config ?? {} }));
  track(await xs.commandMeters({ op: "run", ms: 2_000 }));
  track(await xs.commandMeters({ op: "plug", ev: {} }));
  // Charging: run until the contactor is closed and the EV draws current (10 s is ample), in 100 ms steps.
  let liveMax = 0;
  for (let i = 0; i < 100; i++) {
    const m = track(await xs.commandMeters({ op: "run", ms: 100, gc: true }));
    if (m.currentHeapCount > liveMax) liveMax = m.currentHeapCount;
  }
  const charging = (await xs.command({ op: "stats" })) as { contactor: number; interlockTrips: number };
  if (charging.contactor !== 1) throw new Error(`bench: not charging after 12 s (${JSON.stringify(charging)})`);

  const costs: number[] = [];
  for (let i = 0; i < measuredTicks; i++) {
    track(await xs.commandMeters({ op: "toTick" }));
    costs.push(track(await xs.commandMeters({ op: "tick" })).compute);
  }
  costs.sort((a, b) => a - b);
  rows.push({ name: "XS control tick, steady state charging (median)", value: percentile(costs, 0.5), unit: "compute" });
  rows.push({ name: "XS control tick, steady state charging (p99)", value: percentile(costs, 0.99), unit: "compute" });
  rows.push({ name: "XS control tick, steady state charging (max)", value: costs[costs.length - 1]!, unit: "compute" });

  // Heap growth over many steady-state ticks: live slots after GC, before and after.
  const period = 10;
  const before = (await xs.gc()).currentHeapCount;
  const chunk = 5_000;
  for (let done = 0; done < growthTicks; done += chunk) {
    track(await xs.commandMeters({ op: "run", ms: Math.min(chunk, growthTicks - done) * period }));
  }
  const after = (await xs.gc()).currentHeapCount;
  const still = (await xs.command({ op: "stats" })) as { contactor: number; interlockTrips: number };
  rows.push({ name: `XS heap growth over ${growthTicks.toLocaleString("en")} steady ticks (live slots after GC)`, value: after - before, unit: "slots" });

  // End of session: unplug, let the firmware settle.
  track(await xs.commandMeters({ op: "unplug" }));
  for (let i = 0; i < 50; i++) {
    const m = track(await xs.commandMeters({ op: "run", ms: 100, gc: true }));
    if (m.currentHeapCount > liveMax) liveMax = m.currentHeapCount;
  }
  const end = (await xs.gc()).currentHeapCount;
  rows.push({ name: "XS heap high-water over a full session (currentHeapCount, engine included)", value: heapMax, unit: "slots" });
  rows.push({ name: "XS live heap high-water (after GC, sampled every 100 ms of plug-in and unplug), above engine + bundle", value: liveMax - base, unit: "slots" });
  rows.push({ name: "XS live heap after the session (after GC, above engine + bundle)", value: end - base, unit: "slots" });
  rows.push({ name: "XS interlock trips during the bench session", value: still.interlockTrips, unit: "count" });
  await xs.close();

  // ---- the bridge: XS-side cost and round trip of one bridged HAL call ----
  const bridged = await XsFirmware.launch({ bundle: guest.file, name: "xs-bridge-bench", stdout: "ignore", historyLimit: 0 });
  let now = 0;
  bridged.attach({ clock: { now: () => now++ } } as never);
  const n = 2_000;
  const t0 = performance.now();
  const m = await bridged.commandMeters({ op: "benchBridge", n });
  const wall = performance.now() - t0;
  rows.push({ name: "XS bridge: compute per bridged HAL call (XS side, clock.now())", value: Math.round(m.compute / n), unit: "compute" });
  rows.push({ name: "XS bridge: wall time per bridged HAL call (informational)", value: Math.round((wall / n) * 1000) / 1000, unit: "ms" });
  await bridged.close();
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === here) {
  const isChild = process.argv[2] === "--child";
  const opts = isChild && process.argv[3] ? (JSON.parse(process.argv[3]) as BenchXsOptions) : {};
  const run = isChild ? child(opts) : benchXs(opts);
  run.then(
    (rows) => process.stdout.write(JSON.stringify(rows) + "\n"),
    (e: unknown) => {
      process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
      process.exit(1);
    },
  );
}
