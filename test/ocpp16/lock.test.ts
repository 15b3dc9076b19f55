/** UnlockConnector and the socket lock (Core), simulated lock motor with a position switch and a jam switch. */
import test from "ava";
import { runScenario } from "./core-harness.js";

const unlock = (at: string, connectorId = 1) => ({ at, do: "csms", action: "UnlockConnector", payload: { connectorId } });

test("TC_017_1_CS Unlock connector - no session (Not fixed cable)", async (t) => {
  const run = await runScenario(t, { duration: "20s", events: [{ at: "2s", do: "plug" }, unlock("5s")] });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "Unlocked" }]);
  t.is(run.sim.world.lockPosition(), 0);
});

test("TC_017_2_CS Unlock connector - no session (Fixed cable)", async (t) => {
  const run = await runScenario(t, { duration: "20s", board: { tetheredCable: true }, events: [{ at: "2s", do: "plug" }, unlock("5s")] });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "NotSupported" }]);
});

test("TC_018_1_CS Unlock Connector - With Charging Session (Not fixed cable): stopped with UnlockCommand, then unlocked", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD1" }, unlock("30s")],
  });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "Unlocked" }]);
  const stop = run.out("StopTransaction");
  t.is(stop.length, 1);
  t.is(stop[0]!.payload["reason"], "UnlockCommand");
  // Locked while charging; released only after the contactor opened.
  const locks = run.trace.filter((e) => e.kind === "lock");
  const lockedAt = locks.find((e) => e["locked"] === true)!.t;
  const closeAt = run.trace.find((e) => e.kind === "contactor" && e["closed"] === true)!.t;
  const openAt = run.trace.find((e) => e.kind === "contactor" && e["closed"] === false)!.t;
  const unlockedAt = locks.find((e) => e["locked"] === false && e.t > lockedAt)!.t;
  t.true(lockedAt <= closeAt);
  t.true(unlockedAt >= openAt && unlockedAt >= 30_000);
  t.is(run.sim.world.lockPosition(), 0);
});

test("TC_018_2_CS Unlock Connector - With Charging Session (Fixed cable): NotSupported, the transaction goes on", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    board: { tetheredCable: true },
    events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD1" }, unlock("30s")],
  });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "NotSupported" }]);
  t.is(run.out("StopTransaction").length, 0);
  t.is(run.out("StartTransaction").length, 1);
});

test("TC_030_CS Unlock Connector - Unlock Failure: a jammed lock -> UnlockFailed, Faulted ConnectorLockFailure; recovers", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "10s", do: "lockFault" },
      { at: "20s", do: "remoteStop" },
      unlock("30s"),
      { at: "40s", do: "lockFault", on: false },
    ],
  });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "UnlockFailed" }]);
  const st = run.statuses();
  const f = st.find((s) => s.status === "Faulted")!;
  t.is(f.errorCode, "ConnectorLockFailure");
  t.true(f.t > 20_000 && f.t < 30_000);
  t.is(st[st.length - 1]!.status, "Finishing");
  t.is(run.sim.world.lockPosition(), 0, "unlocked once the jam was cleared (retry)");
});

test("TC_031_CS Unlock Connector - Unknown Connector", async (t) => {
  const run = await runScenario(t, { duration: "20s", events: [unlock("5s", 2), unlock("6s", 0)] });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "NotSupported" }, { status: "NotSupported" }]);
});

test("the contactor never closes on an unlocked socket; a fixed-cable board charges without a lock", async (t) => {
  const socket = await runScenario(t, { duration: "30s", events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD1" }] });
  const lockedAt = socket.trace.find((e) => e.kind === "lock" && e["locked"] === true)!.t;
  const closeAt = socket.trace.find((e) => e.kind === "contactor" && e["closed"] === true)!.t;
  t.true(lockedAt <= closeAt);
  t.true(socket.out("StartTransaction")[0]!.t >= lockedAt);
  const tethered = await runScenario(t, { duration: "30s", board: { tetheredCable: true }, events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD1" }] });
  t.false(tethered.trace.some((e) => e.kind === "lock"));
  t.true(tethered.trace.some((e) => e.kind === "contactor" && e["closed"] === true));
});

/** The simulator's lock-position trace (true: locked) from `from` on. */
const lockTrace = (run: Awaited<ReturnType<typeof runScenario>>, from = 0) => run.trace.filter((e) => e.kind === "lock" && typeof e["locked"] === "boolean" && e.t >= from).map((e) => ({ t: e.t, locked: e["locked"] as boolean }));

test("TC_005_1_CS EV Side Disconnected - StopTransactionOnEVSideDisconnect = true (unlock true): stopped EVDisconnected, the cable unlocked", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "CARD1" }, { at: "30s", do: "unplug" }],
  });
  const stops = run.out("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "EVDisconnected");
  const unlocked = lockTrace(run, 30_000).find((e) => !e.locked)!;
  t.true(unlocked.t >= 30_000 && unlocked.t < 31_000, `unlocked at ${unlocked.t}`);
  t.is(run.sim.world.lockPosition(), 0);
  t.is(run.statuses(1).at(-1)!.status, "Available");
});

test("TC_005_2_CS EV Side Disconnected - StopTransactionOnEVSideDisconnect = true (unlock false): stopped, the cable stays locked until the driver's card", async (t) => {
  const run = await runScenario(t, {
    duration: "90s",
    events: [
      { at: "1s", do: "csms", action: "ChangeConfiguration", payload: { key: "UnlockConnectorOnEVSideDisconnect", value: "false" } },
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "30s", do: "unplug" },
      // Another card does not release the cable; the driver's does.
      { at: "45s", do: "swipe", idTag: "CARD2" },
      { at: "60s", do: "swipe", idTag: "CARD1" },
    ],
  });
  t.deepEqual(run.answers("ChangeConfiguration"), [{ status: "Accepted" }]);
  const stops = run.out("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "EVDisconnected");
  const after = lockTrace(run, 20_000);
  const released = after.find((e) => !e.locked)!;
  t.true(released.t >= 60_000 && released.t < 61_000, `unlocked at ${released.t} (${JSON.stringify(after)})`);
  t.is(run.trace.filter((e) => e.kind === "lock-released").length, 1);
  t.is(run.sim.world.lockPosition(), 0);
  t.is(run.out("StartTransaction").length, 1);
});

test("UnlockConnectorOnEVSideDisconnect = false: UnlockConnector from the CSMS releases the held cable", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "1s", do: "csms", action: "ChangeConfiguration", payload: { key: "UnlockConnectorOnEVSideDisconnect", value: "false" } },
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "20s", do: "unplug" },
      unlock("40s"),
    ],
  });
  t.deepEqual(run.answers("UnlockConnector"), [{ status: "Unlocked" }]);
  const released = lockTrace(run, 10_000).find((e) => !e.locked)!;
  t.true(released.t >= 40_000 && released.t < 41_000, `unlocked at ${released.t}`);
  t.is(run.sim.world.lockPosition(), 0);
});
