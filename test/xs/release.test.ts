/**
 * The XS bridge forgets closed instances (tools/xs/guest.ts, host.ts): a closed or dead connection's stand-in, its
 * callbacks and what they capture are collected in XS, the host drops its table entry once XS collected the
 * stand-in, late callbacks are dropped, and a closed stand-in the firmware still holds keeps working (the HAL's own
 * error). A small firmware (fixtures/release-firmware.ts) in a real XS engine (child process fixtures/release-child.ts)
 * opens 3 connections and 2 accepted ones per round (Listener → frozen handle → TCP({from})), each callback capturing
 * 64 records; one gets a terminal onError and is dropped without close(), the rest are closed.
 */
import test from "ava";
import * as path from "node:path";
import { bundleXsGuest } from "../../tools/bundle.js";
import { root, runChild } from "./fixtures/util.js";

interface Round {
  heap: number;
  guest: Record<string, number>;
  host: { instances: number; ended: number };
  live: { open: number; readable: number; errors: number };
}
interface Output {
  afterStart: Round;
  perRound: Round[];
  useKept: { read: string; closeAgain: string };
  unknownCb: { ok: boolean; value?: unknown; error?: string };
  final: { guest: Record<string, number>; status: Record<string, number>; meters: { droppedCallbacks: number; released: number; reentrantCallbacks: number } };
}

const ROUNDS = 4;
let output: Promise<Output> | undefined;
function run(): Promise<Output> {
  output ??= (async () => {
    const guest = await bundleXsGuest(root, { entry: "test/xs/fixtures/release-firmware.ts", outFile: "build/test/xs/release-guest.js" });
    const r = await runChild(path.join(root, "build/test/xs/fixtures/release-child.js"), [guest.file, String(ROUNDS)]);
    if (r.code !== 0) throw new Error(`release child failed (${r.code}):\n${r.stderr}`);
    return JSON.parse(r.stdout) as Output;
  })();
  return output;
}

test("bridge: closed and dead instances are released in XS (no live-heap growth per round of connections)", async (t) => {
  const out = await run();
  const heaps = out.perRound.map((r) => r.heap);
  t.log(`XS live slots after start ${out.afterStart.heap}, after each round ${heaps.join(" -> ")}`);
  // Every round really opened its 5 connections and delivered their callbacks before closing them.
  out.perRound.forEach((r, i) => {
    t.is(r.live.readable, 5 * (i + 1));
    t.is(r.live.errors, i + 1);
    t.is(r.live.open, 4); // 5 opened, the dead one dropped by its onError
  });
  // Round 1 adds the bridge's prototypes (TCP, Listener, the accepted handle's shape) and the closed stand-in the
  // firmware keeps until round 2: from round 2 on the live heap is the same after every round, to the slot (XS's
  // collector is deterministic). Before the fix each round kept its 5 connections' callbacks (~1,900 slots).
  for (let i = 2; i < heaps.length; i++) t.is(heaps[i], heaps[1], `round ${i + 1}: ${heaps.join(" -> ")}`);
  t.true(heaps[0]! - heaps[1]! >= 0, "dropping the kept stand-in cannot grow the heap");
});

test("bridge: the guest's and the host's instance tables go back to what is still held", async (t) => {
  const out = await run();
  t.deepEqual(out.afterStart.host, { instances: 0, ended: 0 });
  // Round 1: the firmware still holds one closed stand-in: it stays known on both sides (and ended on the host).
  const r1 = out.perRound[0]!;
  t.is(r1.guest.live, 0, "no live callbacks");
  t.is(r1.guest.standIns, 1);
  t.deepEqual(r1.host, { instances: 1, ended: 1 });
  // Later rounds: nothing held, nothing known. Per round: 5 instances forgotten (4 closed + 1 terminal onError),
  // 8 stand-ins collected (5 connections, 2 accepted handles, the Listener) and released on the host.
  for (const r of out.perRound.slice(1)) {
    t.is(r.guest.live, 0);
    t.is(r.guest.standIns, 0);
    t.deepEqual(r.host, { instances: 0, ended: 0 });
  }
  t.is(out.final.guest.forgotten, 5 * ROUNDS);
  t.is(out.final.guest.collected, 8 * ROUNDS);
  t.is(out.final.meters.released, 8 * ROUNDS);
});

test("bridge: a closed stand-in still held keeps the HAL's behaviour; late callbacks are dropped", async (t) => {
  const out = await run();
  // A call after close reaches the host HAL and throws its own error; close() stays idempotent.
  t.deepEqual(out.useKept, { read: "Error: TCP: closed", closeAgain: "ok" });
  // Each round the HAL fired onReadable after close() and after the terminal onError: dropped by the host, the
  // firmware never saw them (its onReadable count is exactly 5 per round).
  t.is(out.final.meters.droppedCallbacks, 2 * ROUNDS);
  t.is(out.final.status.readable, 5 * ROUNDS);
  t.is(out.final.meters.reentrantCallbacks, 0);
  // A callback message for an instance the guest does not know is dropped by the guest itself, without an error.
  t.deepEqual(out.unknownCb, { ok: true, value: null });
  t.is(out.final.guest.dropped, 1);
});
