/**
 * The XS bridge with a hand-written fake firmware on a fake HAL: the firmware runs in a real XS engine
 * (child process, SES locked down there), the same firmware runs on Node here, and every recorded HAL call,
 * callback and log event must match at the same virtual time.
 */
import test from "ava";
import * as path from "node:path";
import { bundleXsGuest } from "../../tools/bundle.js";
import { start, xsCommands } from "./fixtures/fake-firmware.js";
import { runFakeScenario } from "./fixtures/fake-scenario.js";
import { firstDifference, root, runChild } from "./fixtures/util.js";

interface ChildOutput {
  trace: unknown[];
  status: { ticks: number; thisOk: boolean; duty: number };
  echoOk: boolean;
  describe: Record<string, string>;
  misuse: Record<string, { name: string; message: string; range: boolean; type: boolean }>;
  inplace: Record<string, unknown>;
  copiedBack: number;
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

test("bytes a host HAL method writes into a buffer argument in place (SPI.transfer/read) reach the XS caller's buffer", async (t) => {
  const out = await xsRun();
  // The same calls on Node, directly on the fake HAL: the reference.
  await runFakeScenario(start, { until: 0 });
  const node = xsCommands.inplace!({});
  t.deepEqual(out.inplace, node);
  t.deepEqual(node, {
    transferU8: "081018202830", // (b * 7 + 1 + k) & 255 of 01..06
    transferArrayBuffer: "403a34",
    readSubarray: "eeeea0a1a2a3eeee", // the view's range only
    otherView: "a0a1a2a3", // another view over the same memory sees the bytes
    readDataView: "00a0a1a2a300",
    dataViewU32: 0xa0a1a2a3,
    transferFloat32: "010243bd05060748", // the bytes of the view, whatever its element type
    write: "050607",
    written: 3,
    returnedSelf: true, // a method that returns its argument gives back the caller's own buffer
    fillAndReturn: "42424242",
    threw: "RangeError: SPI: bus fault after half the buffer",
    fillThenThrow: "33330000", // filled before the throw: as on Node
  });
  // Copied back only when the host changed the bytes: transfer x3, read x2, fillAndReturn, fillThenThrow; not write.
  t.is(out.copiedBack, 7);
});
