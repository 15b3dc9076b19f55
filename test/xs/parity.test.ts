/**
 * Parity: the same scenario with the real firmware on Node (in this process) and on the real XS engine
 * (child process tools/xs/run.js, HAL bridged to the same simulator) must give the same trace: every
 * event, recorded HAL calls and OCPP frames included, with the same virtual timestamps.
 * The embedded CSMS listens on a random port: port numbers are the one thing normalised.
 * Two scenarios: short.json on the default board (the simulator's Meter), and ade9000.json on the demo's board
 * (Board.meterIc: the ADE9000 driver of hal/drivers in the loop, its SPI.transfer(buffer) filled in place
 * across the bridge; power-fail hold-up; signed meter values).
 */
import test, { type ExecutionContext } from "ava";
import { readFile, mkdir } from "node:fs/promises";
import * as path from "node:path";
import { start } from "../../firmware/main.js";
import { Simulation } from "../../simulator/simulation.js";
import { bundleXsGuest } from "../../tools/bundle.js";
import { firstDifference, root, runChild } from "./fixtures/util.js";


function normalise(events: unknown[]): unknown[] {
  return events.map((e) => JSON.parse(JSON.stringify(e).replace(/(127\.0\.0\.1|localhost):\d+/g, "$1:PORT")) as unknown);
}

let guestBundle: ReturnType<typeof bundleXsGuest> | undefined;

const parity = test.macro(async (t, fixture: string, check?: (t: ExecutionContext, trace: unknown[]) => void) => {
  const scenario = path.join(root, "test/xs/fixtures", fixture);
  const outDir = path.join(root, "build/test/xs/out");
  await mkdir(outDir, { recursive: true });
  const guest = await (guestBundle ??= bundleXsGuest(root, { outFile: "build/test/xs/parity-guest.js" }));
  const traceFile = path.join(outDir, `parity-xs-${path.basename(fixture, ".json")}.trace.jsonl`);
  const xsRun = runChild(path.join(root, "build/tools/xs/run.js"), ["--scenario", scenario, "--trace", traceFile, "--bundle", guest.file]);

  const sim = await Simulation.create({ scenario, recordHal: true });
  const nodeResult = await sim.run((hal, config) => start(hal, config));
  const nodeTrace = normalise(sim.trace.events);
  await sim.close();

  const child = await xsRun;
  t.is(child.code, 0, child.stderr);
  const summary = JSON.parse(child.stdout.trim().split("\n").pop()!) as { ok: boolean; interlockTrips: number; boots: number; xs: Array<{ reentrantCallbacks: number }> };
  const xsTrace = normalise(
    (await readFile(traceFile, "utf8"))
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as unknown),
  );

  const diff = firstDifference(nodeTrace, xsTrace);
  if (diff) t.log(`first difference at event ${diff.index} (of ${nodeTrace.length} / ${xsTrace.length}):\n  node: ${diff.a}\n  xs:   ${diff.b}`);
  t.is(diff, null);
  t.true(nodeTrace.length > 1000, `only ${nodeTrace.length} events`);
  t.true(nodeTrace.some((e) => (e as { kind: string }).kind === "hal"));
  t.true(nodeTrace.some((e) => (e as { kind: string }).kind === "ocpp"));
  t.is(summary.ok, nodeResult.ok);
  t.is(summary.interlockTrips, nodeResult.interlockTrips);
  t.is(summary.xs[0]!.reentrantCallbacks, 0);
  check?.(t, nodeTrace);
});

test("short charging session: XS trace equals Node trace (HAL calls, OCPP frames, virtual time)", parity, "short.json");

test("short session with the ADE9000 driver as the meter (SPI filled in place across the bridge): XS trace equals Node trace", parity, "ade9000.json", (t, trace) => {
  // The driver really was the meter, and it worked: register reads over SPI, no meter fault, energy counted.
  const events = trace as Array<{ kind: string; dev?: string; op?: string; fault?: string; device?: string; dir?: string; frame?: unknown[] }>;
  t.true(events.filter((e) => e.kind === "hal" && e.dev?.startsWith("SPI") && e.op === "transfer").length > 1000);
  t.deepEqual(events.filter((e) => (e.kind === "fault" && e.fault === "meter") || (e.kind === "device-error" && e.device === "meter")), []);
  const stop = events.find((e) => e.kind === "ocpp" && e.dir === "out" && Array.isArray(e.frame) && e.frame[2] === "StopTransaction");
  t.true(((stop?.frame?.[3] as { meterStop?: number } | undefined)?.meterStop ?? 0) > 0, "meterStop > 0 Wh");
});
