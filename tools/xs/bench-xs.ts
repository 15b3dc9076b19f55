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
import { rm } from "node:fs/promises";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runChild as runKitChild } from "./bench-kit.js";

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
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
  return runChild("--child", options) as Promise<BenchRow[]>;
}

function runChild(mode: string, options: object): Promise<unknown> {
  return runKitChild(here, [mode, JSON.stringify(options)], "bench-xs");
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** One measured tick as the guest reports it (see bench-guest.ts). */
interface TickSample {
  compute: number;
  device: number;
  calls: number;
}

type Xs = Awaited<ReturnType<typeof import("./host.js").XsFirmware.launch>>;

/**
 * The bench session's firmware config: MeterValues every second, so the offline queue reaches its bound (100)
 * within an offline window; reconnect back-off at most 10 s, so the charge point finds the online windows.
 */
export const BENCH_CONFIG: Readonly<Record<string, unknown>> = { meterValueSampleIntervalS: 1, reconnectMaxMs: 10_000 };

/**
 * The bench session's OCPP link (see bench-guest.ts): offline for 120 s (the queue fills to its bound), then
 * online for 80 s (an in-XS CSMS answers; the queue drains), every 200 s = 20,000 ticks.
 */
export const BENCH_NET = { periodMs: 200_000, onlineMs: 80_000 } as const;

/**
 * Ticks after which the bench session is in steady state for the heap. Offline only: the queue is full. With
 * BENCH_NET: two full offline/online cycles are over, and the session (12 s at the end of toCharging) is at
 * 362 s, i.e. 162 s into a period: online, the queue drained; heap checkpoints are then taken every period.
 */
export const WARMUP_TICKS = 35_000;

/** start, 2 s idle, plug, 10 s in 100 ms steps (GC after each): the EV charges. Returns the live-heap maximum. */
async function toCharging(
  xs: Xs,
  config: Record<string, unknown>,
  split: boolean,
  net: typeof BENCH_NET | null,
  track: (m: { currentHeapCount: number }) => void,
  leakEveryTicks = 0,
): Promise<number> {
  track(await xs.commandMeters({ op: "start", config, split, ...(net ? { net } : {}), ...(leakEveryTicks > 0 ? { leakEveryTicks } : {}) }));
  track(await xs.commandMeters({ op: "run", ms: 2_000 }));
  track(await xs.commandMeters({ op: "plug", ev: {} }));
  let liveMax = 0;
  for (let i = 0; i < 100; i++) {
    const m = await xs.commandMeters({ op: "run", ms: 100, gc: true });
    track(m);
    if (m.currentHeapCount > liveMax) liveMax = m.currentHeapCount;
  }
  const charging = (await xs.command({ op: "stats" })) as { contactor: number; interlockTrips: number };
  if (charging.contactor !== 1) throw new Error(`bench: not charging after 12 s (${JSON.stringify(charging)})`);
  return liveMax;
}

async function measureTicks(xs: Xs, n: number, track: (m: { currentHeapCount: number }) => void): Promise<TickSample[]> {
  const out: TickSample[] = [];
  for (let i = 0; i < n; i++) {
    track(await xs.commandMeters({ op: "toTick" }));
    const m = await xs.commandMeters({ op: "tick" });
    track(m);
    out.push(m.value as TickSample);
  }
  return out;
}

/**
 * Runs `ticks` control periods of virtual time in chunks; returns the live heap (after GC) at the end. With
 * `settle`, it then runs on in 10 ms steps (at most 2 s) until no connection attempt is in flight, so that a
 * reconnect that happens to be under way (a transient ~80 slots) does not read as growth.
 */
async function runTicks(xs: Xs, ticks: number, period: number, track: (m: { currentHeapCount: number }) => void, settle = false): Promise<number> {
  const chunk = 5_000;
  for (let done = 0; done < ticks; done += chunk) track(await xs.commandMeters({ op: "run", ms: Math.min(chunk, ticks - done) * period }));
  for (let i = 0; settle && i < 200; i++) {
    if (((await xs.command({ op: "stats" })) as { connecting: number }).connecting === 0) break;
    track(await xs.commandMeters({ op: "run", ms: 10 }));
  }
  return (await xs.gc()).currentHeapCount;
}

/** 100000 -> "100,000" (toLocaleString depends on the Node build's ICU). */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function stats(values: number[]): { median: number; mean: number; p99: number; max: number } {
  const v = values.slice().sort((a, b) => a - b);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { median: percentile(v, 0.5), mean: Math.round(mean), p99: percentile(v, 0.99), max: v[v.length - 1]! };
}

export interface AllocResult {
  /** Live slots after GC at the end of the warm-up, then after every `every` further ticks. */
  checkpoints: number[];
  /** Transaction messages queued (firmware status) at each checkpoint. */
  queuedAt: number[];
  /**
   * set() calls on the "meter" key-value namespace (energy register commits) so far, at each checkpoint: the
   * periodic commit (every 15 min while energy flows) must fall inside the measured window.
   */
  meterSetsAt: number[];
  every: number;
  warmupTicks: number;
  interlockTrips: number;
  contactor: number;
  /** Transaction messages queued at the end (firmware status): 100 = the offline queue's bound. */
  queued: number;
  /** CALLs the in-XS CSMS answered (0 offline). */
  csmsCalls: number;
  /** The firmware's OCPP registration at the end. */
  registration: string;
}

export interface AllocOptions {
  ticks?: number;
  every?: number;
  /**
   * Warm-up ticks. Default: online, WARMUP_TICKS; offline, 10,000-tick steps until the transaction queue stops
   * growing (its bound, whatever the store: at most 200,000 ticks).
   */
  warmupTicks?: number;
  /** Online periods (BENCH_NET) instead of offline throughout. */
  online?: boolean;
  /** Deliberate leak: the bench harness retains one small object every that many ticks (proves the check). */
  leakEveryTicks?: number;
}

/** In the child: the alloc run (test/xs/alloc.test.ts). */
async function allocChild(options: AllocOptions): Promise<AllocResult> {
  await import("@endo/init");
  const { XsFirmware } = await import("./host.js");
  const { bundleFirmware } = await import("../bundle.js");
  // A bundle of its own: the alloc tests run side by side, and one child must not read a bundle another rewrites.
  const bench = await bundleFirmware(root, { format: "iife", guest: "tools/xs/bench-guest.ts", outFile: `dist/xs-alloc-${process.pid}.js` });
  const xs = await XsFirmware.launch({ bundle: bench.file, name: "xs-alloc", stdout: "ignore", historyLimit: 0 }).finally(() => rm(bench.file, { force: true }));
  const noop = () => undefined;
  const ticks = options.ticks ?? 100_000;
  const every = options.every ?? 10_000;
  const queued = async (): Promise<number> => ((await xs.command({ op: "status" })) as { ocpp: { queued: number } }).ocpp.queued;
  const meterSets = async (): Promise<number> => ((await xs.command({ op: "stats" })) as { meterSets: number }).meterSets;
  await toCharging(xs, { ...BENCH_CONFIG }, false, options.online ? BENCH_NET : null, noop, options.leakEveryTicks ?? 0);
  let warmupTicks = options.warmupTicks ?? (options.online ? WARMUP_TICKS : 0);
  let heap: number;
  if (warmupTicks > 0) heap = await runTicks(xs, warmupTicks, 10, noop, true);
  else {
    let q = await queued();
    for (;;) {
      heap = await runTicks(xs, 10_000, 10, noop, true);
      warmupTicks += 10_000;
      const q2 = await queued();
      if (q2 <= q || warmupTicks >= 200_000) break;
      q = q2;
    }
  }
  const checkpoints = [heap];
  const queuedAt = [await queued()];
  const meterSetsAt = [await meterSets()];
  for (let done = 0; done < ticks; done += every) {
    checkpoints.push(await runTicks(xs, Math.min(every, ticks - done), 10, noop, true));
    queuedAt.push(await queued());
    meterSetsAt.push(await meterSets());
  }
  const st = (await xs.command({ op: "stats" })) as { contactor: number; interlockTrips: number; csmsCalls: number };
  const status = (await xs.command({ op: "status" })) as { ocpp: { queued: number; registration: string } };
  await xs.close();
  return {
    checkpoints,
    queuedAt,
    meterSetsAt,
    every,
    warmupTicks,
    interlockTrips: st.interlockTrips,
    contactor: st.contactor,
    queued: status.ocpp.queued,
    csmsCalls: st.csmsCalls,
    registration: status.ocpp.registration,
  };
}

/** Runs the alloc measurement in a child process (SES lockdown stays out of the caller's process). */
export function allocXs(options: AllocOptions = {}): Promise<AllocResult> {
  return runChild("--alloc", options) as Promise<AllocResult>;
}

/** In the child: SES first, then xsnap. */
async function child(options: BenchXsOptions): Promise<BenchRow[]> {
  await import("@endo/init");
  const { XsFirmware } = await import("./host.js");
  const { bundleFirmware, bundleXsGuest } = await import("../bundle.js");
  const growthTicks = options.growthTicks ?? 100_000;
  const measuredTicks = options.measuredTicks ?? 1_000;
  const config = { ...BENCH_CONFIG, ...(options.config ?? {}) };
  const period = typeof config.controlPeriodMs === "number" ? config.controlPeriodMs : 10;
  const rows: BenchRow[] = [];

  const esm = await bundleFirmware(root);
  const bench = await bundleFirmware(root, { format: "iife", guest: "tools/xs/bench-guest.ts", outFile: "dist/xs-bench.js" });
  const guest = await bundleXsGuest(root);
  rows.push({ name: "firmware bundle (dist/firmware.js)", value: esm.bytes, unit: "bytes" });
  rows.push({ name: "XS guest bundle (firmware + bridge)", value: guest.bytes, unit: "bytes" });

  // ---- 1. plain session: firmware + devices inside XS, the tick as a whole, the heap ----
  const xs = await XsFirmware.launch({ bundle: bench.file, name: "xs-bench", stdout: "ignore", historyLimit: 0 });
  const base = (await xs.gc()).currentHeapCount; // the engine's own slots (globals, bundle code)
  let heapMax = 0;
  const track = (m: { currentHeapCount: number }): void => {
    if (m.currentHeapCount > heapMax) heapMax = m.currentHeapCount;
  };
  let liveMax = await toCharging(xs, config, false, BENCH_NET, track);
  const plain = await measureTicks(xs, measuredTicks, track);

  // Heap growth: warm up (two offline/online cycles of the link), then live slots after GC, before vs after, at
  // the same phase of the link's period (growthTicks a multiple of 20,000, or short enough to stay online).
  const before = await runTicks(xs, WARMUP_TICKS - measuredTicks, period, track, true);
  const after = await runTicks(xs, growthTicks, period, track, true);
  const still = (await xs.command({ op: "stats" })) as { contactor: number; interlockTrips: number; csmsCalls: number };

  // End of session: unplug, let the firmware settle.
  track(await xs.commandMeters({ op: "unplug" }));
  for (let i = 0; i < 50; i++) {
    const m = await xs.commandMeters({ op: "run", ms: 100, gc: true });
    track(m);
    if (m.currentHeapCount > liveMax) liveMax = m.currentHeapCount;
  }
  const end = (await xs.gc()).currentHeapCount;
  await xs.close();

  // ---- 2. split session: the same commands with every HAL call metered apart (lockstep with session 1) ----
  const sx = await XsFirmware.launch({ bundle: bench.file, name: "xs-bench-split", stdout: "ignore", historyLimit: 0 });
  const noop = () => undefined;
  await toCharging(sx, config, true, BENCH_NET, noop);
  const split = await measureTicks(sx, measuredTicks, noop);
  const cal = (await sx.command({ op: "calibrate", n: 2_000 })) as { device: number; firmware: number; bracket: number };
  await sx.close();

  const total = plain.map((t) => t.compute);
  const device = split.map((t) => Math.round(t.device - t.calls * cal.device));
  const firmware = total.map((t, i) => t - device[i]!);
  const direct = split.map((t) => Math.round(t.compute - t.calls * cal.firmware));
  const calls = stats(split.map((t) => t.calls));
  const tt = stats(total);
  const fw = stats(firmware);
  const dv = stats(device);
  const dfw = stats(direct);
  const budget = "budget: firmware <= 2,000";
  rows.push({ name: "XS tick, steady charging: FIRMWARE only (tick minus device-layer compute), median", value: fw.median, unit: "compute", note: budget });
  rows.push({ name: "XS tick, steady charging: FIRMWARE only, mean (every 10th tick also reads meter + temperatures)", value: fw.mean, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: FIRMWARE only, p99", value: fw.p99, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: FIRMWARE only, max", value: fw.max, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: DEVICE layer (simulated HAL calls; native drivers on the board), median", value: dv.median, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: DEVICE layer, mean", value: dv.mean, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: DEVICE layer, p99", value: dv.p99, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: HAL calls per tick, median / max", value: calls.median, unit: "calls", note: `max ${calls.max}` });
  rows.push({ name: "XS tick, steady charging: TOTAL (firmware + device layer, measured unsplit), median", value: tt.median, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: TOTAL, mean", value: tt.mean, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: TOTAL, p99", value: tt.p99, unit: "compute" });
  rows.push({ name: "XS tick, steady charging: TOTAL, max", value: tt.max, unit: "compute" });
  rows.push({
    name: "XS tick split cross-check: FIRMWARE metered directly in the split session, median",
    value: dfw.median,
    unit: "compute",
    note: `wrapper cost per HAL call subtracted: ${cal.device} device, ${cal.firmware} firmware`,
  });
  rows.push({
    name: `XS heap growth over ${thousands(growthTicks)} steady charging ticks, link 120 s offline / 80 s online (live slots after GC)`,
    value: after - before,
    unit: "slots",
    note: "budget: 0",
  });
  rows.push({ name: "XS OCPP CALLs answered by the in-XS CSMS during the bench session", value: still.csmsCalls, unit: "count" });
  rows.push({ name: "XS heap high-water over a full session (currentHeapCount, engine included)", value: heapMax, unit: "slots" });
  rows.push({ name: "XS live heap high-water (after GC, sampled every 100 ms of plug-in and unplug), above engine + bundle", value: liveMax - base, unit: "slots" });
  rows.push({ name: "XS live heap after the session (after GC, above engine + bundle)", value: end - base, unit: "slots" });
  rows.push({ name: "XS interlock trips during the bench session", value: still.interlockTrips, unit: "count" });

  // ---- 3. the bridge: XS-side cost and round trip of one bridged HAL call ----
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
  const mode = process.argv[2];
  const isChild = mode === "--child" || mode === "--alloc";
  const opts = isChild && process.argv[3] ? (JSON.parse(process.argv[3]) as BenchXsOptions) : {};
  const run: Promise<unknown> = mode === "--alloc" ? allocChild(opts as Parameters<typeof allocChild>[0]) : isChild ? child(opts) : benchXs(opts);
  run.then(
    (rows) => process.stdout.write(JSON.stringify(rows) + "\n"),
    (e: unknown) => {
      process.stderr.write(String(e instanceof Error ? e.stack : e) + "\n");
      process.exit(1);
    },
  );
}
