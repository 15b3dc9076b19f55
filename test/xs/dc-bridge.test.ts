/**
 * The DC devices (hal.io.DcPowerModule, hal.io.IsolationMonitor) across the XS bridge: a small firmware drives them
 * in a real XS engine (child process) and on Node against the same simulated DC board; every recorded HAL call,
 * callback, log and observation must match at the same virtual time, and misuse errors keep their class in XS.
 */
import test from "ava";
import * as path from "node:path";
import { ISOLATION_VALID } from "../../hal/dc.js";
import { bundleXsGuest } from "../../tools/bundle.js";
import { start } from "./fixtures/dc-firmware.js";
import { runDcScenario, type DcTraceEvent } from "./fixtures/dc-scenario.js";
import { firstDifference, root, runChild } from "./fixtures/util.js";

let xsTrace: Promise<DcTraceEvent[]> | undefined;
function xsRun(): Promise<DcTraceEvent[]> {
  xsTrace ??= (async () => {
    const guest = await bundleXsGuest(root, { entry: "test/xs/fixtures/dc-firmware.ts", outFile: "build/test/xs/dc-guest.js" });
    const r = await runChild(path.join(root, "build/test/xs/fixtures/dc-child.js"), [guest.file]);
    if (r.code !== 0) throw new Error(`dc child failed (${r.code}):\n${r.stderr}`);
    return (JSON.parse(r.stdout) as { trace: DcTraceEvent[] }).trace;
  })();
  return xsTrace;
}

function logs(trace: DcTraceEvent[], kind: string): Array<{ t: number; fields: Record<string, unknown> }> {
  return trace.filter((e) => e.kind === `log:${kind}`) as unknown as Array<{ t: number; fields: Record<string, unknown> }>;
}

test("DC devices: the XS trace equals the Node trace, event by event with virtual time", async (t) => {
  const node = await runDcScenario((hal, config) => start(hal, config));
  const xs = await xsRun();
  t.true(node.length > 50, `${node.length} events`);
  const diff = firstDifference(JSON.parse(JSON.stringify(node)) as unknown[], xs);
  t.is(diff, null, diff ? `first difference at ${diff.index}:\n node ${diff.a}\n xs   ${diff.b}` : "");
});

test("DC devices in XS: limits, RangeErrors with their class, samples with `this`, the IMD result after the ramp", async (t) => {
  const xs = await xsRun();
  t.deepEqual(logs(xs, "dc-limits")[0]!.fields, { maxVoltage: 920, minVoltage: 150, maxCurrent: 100, minCurrent: 0, maxPower: 40000 });
  const misuse = logs(xs, "dc-misuse")[0]!.fields as Record<string, string>;
  t.regex(misuse["voltage"]!, /^RangeError \(RangeError\): DC voltage setpoint must be in 150\.\.920 V/);
  t.regex(misuse["current"]!, /^RangeError \(RangeError\): DC current setpoint must be 0 or in 0\.\.100 A/);
  t.regex(misuse["enable"]!, /^RangeError \(RangeError\): bad DC enable value 7/);
  const imdMisuse = logs(xs, "imd-misuse")[0]!.fields as Record<string, string>;
  t.is(imdMisuse["again"], "Error: an isolation test is already running");
  t.regex(imdMisuse["zero"]!, /^RangeError \(RangeError\): isolation test voltage must be in/);
  const imd = logs(xs, "imd");
  t.deepEqual(imd[0], { t: 6500, kind: "log:imd", fields: { status: ISOLATION_VALID, resistance: 10_000_000, thisOk: true } } as never);
  const samples = logs(xs, "dc-sample");
  t.true(samples.some((s) => s.fields["v"] === 500 && s.fields["on"] === true), "the module reached 500 V");
  const stop = logs(xs, "dc-stop")[0]!.fields;
  t.true(stop["thisOk"] === true && (stop["samples"] as number) >= 39, JSON.stringify(stop));
});
