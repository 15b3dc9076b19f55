/**
 * The XS bridge with a hand-written fake firmware on a fake HAL: the firmware runs in a real XS engine
 * (child process, SES locked down there), the same firmware runs on Node here, and every recorded HAL call,
 * callback and log event must match at the same virtual time.
 */
import test from "ava";
import * as path from "node:path";
import { bundleXsGuest } from "../../tools/bundle.js";
import { start } from "./fixtures/fake-firmware.js";
import { runFakeScenario } from "./fixtures/fake-scenario.js";
import { firstDifference, root, runChild } from "./fixtures/util.js";

interface ChildOutput {
  trace: unknown[];
  status: { ticks: number; thisOk: boolean; duty: number };
  echoOk: boolean;
  describe: Record<string, string>;
  misuse: Record<string, { name: string; message: string; range: boolean; type: boolean }>;
  thrown: { name: string; message: string };
  meters: { reentrantCallbacks: number; halRequests: number; byKind: Record<string, { count: number }> };
}

let output: Promise<ChildOutput> | undefined;
function xsRun(): Promise<ChildOutput> {
  output ??= (async () => {
    const guest = await bundleXsGuest(root, {
      entry: "test/xs/fixtures/fake-firmware.ts",
      outFile: "build/test/xs/fake-guest.js",
    });
    const r = await runChild(path.join(root, "build/test/xs/fixtures/bridge-child.js"), [guest.file, "3000"]);
    if (r.code !== 0) throw new Error(`bridge child failed (${r.code}):\n${r.stderr}`);
    return JSON.parse(r.stdout) as ChildOutput;
  })();
  return output;
}

test("binary, NaN, ±Infinity, -0, undefined, bigint, $-keys and non-ASCII text round-trip host → XS → host", async (t) => {
  const out = await xsRun();
  t.true(out.echoOk);
  t.deepEqual(out.describe, {
    ab: "ArrayBuffer(3)",
    u8: "Uint8Array(2)",
    dv: "DataView(3)",
    nan: "NaN",
    inf: "-Infinity",
    negZero: "-0",
    undef: "undefined",
    arr: "object",
    nested: "object",
  });
});

test("misuse throws synchronously inside XS with the host's error class and message", async (t) => {
  const out = await xsRun();
  t.deepEqual(out.misuse, {
    duty: { name: "RangeError", message: "ControlPilot: bad duty 1001", range: true, type: false },
    hz: { name: "RangeError", message: "ControlPilot: hz must be 1000", range: true, type: false },
    setWall: { name: "RangeError", message: "setWall: bad time", range: true, type: false },
    timer: { name: "RangeError", message: "timers.set: bad delay", range: true, type: false },
    kvKey: { name: "RangeError", message: "keyValue: key too long", range: true, type: false },
    wsUrl: { name: "TypeError", message: "WebSocketClient: bad url", range: false, type: true },
  });
  t.deepEqual(out.thrown, { name: "Error", message: "bridge: unknown op no-such-op" });
});

test("callbacks run in XS with `this` bound to the instance the firmware holds", async (t) => {
  const out = await xsRun();
  t.true(out.status.thisOk);
  t.is(out.status.ticks, 30);
  t.is(out.meters.reentrantCallbacks, 0);
  t.is(out.meters.byKind["cb:ControlPilot.onReadable"]?.count, 30);
  const logs = out.trace.filter((e) => (e as { kind: string }).kind.startsWith("log:")) as Array<{ kind: string; fields: Record<string, unknown> }>;
  const withThis = logs.filter((e) => "thisOk" in e.fields);
  t.true(withThis.length >= 5);
  t.true(withThis.every((e) => e.fields.thisOk === true));
});

test("fake firmware: the XS trace equals the Node trace, event by event with virtual time", async (t) => {
  const out = await xsRun();
  const node = await runFakeScenario(start, { until: 3000 });
  // The child ran extra bridge checks after the scenario (misuse etc.), recorded after it: compare the scenario part.
  const xsTrace = out.trace.slice(0, node.trace.length);
  const diff = firstDifference(node.trace, xsTrace);
  if (diff) t.log(`first difference at event ${diff.index}:\n  node: ${diff.a}\n  xs:   ${diff.b}`);
  t.is(diff, null);
  t.true(node.trace.length > 200);
});
