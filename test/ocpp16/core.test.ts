/** OCPP 1.6 Core profile against the strict embedded CSMS: boot, reset, availability, DataTransfer, faults, lock. */
import test, { type ExecutionContext } from "ava";
import { runScenario, sessions } from "./core-harness.js";

test("TC_001_CS Cold Boot Charge Point", async (t) => {
  const run = await runScenario(t, { duration: "70s", csms: { heartbeatInterval: 30 } });
  const out = run.out();
  t.is(out[0]!.action, "BootNotification");
  t.deepEqual(run.statuses(0).map((s) => s.status), ["Available"]);
  t.deepEqual(run.statuses(1).map((s) => s.status), ["Available"]);
  const hb = run.out("Heartbeat");
  t.is(hb.length, 2);
  t.is(hb[1]!.t - hb[0]!.t, 30_000);
});

test("TC_002_CS Cold Boot Charge Point - Pending: answers the CSMS while Pending, then Accepted", async (t) => {
  let boots = 0;
  const run = await runScenario(
    t,
    {
      duration: "90s",
      csms: { heartbeatInterval: 20 },
      events: [{ at: "5s", do: "csms", action: "GetConfiguration", payload: { key: ["HeartbeatInterval"] } }],
    },
    (sim) => {
      sim.csms!.onCall = ({ action }) => {
        if (action !== "BootNotification") return undefined;
        boots++;
        return { status: boots < 3 ? "Pending" : "Accepted", currentTime: new Date(sim.trueWallTime()).toISOString(), interval: boots < 3 ? 10 : 20 };
      };
    },
  );
  const b = run.out("BootNotification");
  t.is(b.length, 3);
  t.is(b[1]!.t - b[0]!.t, 10_000);
  // Nothing but BootNotification before the acceptance.
  t.true(run.out().filter((o) => o.t < b[2]!.t).every((o) => o.action === "BootNotification"));
  t.is((run.answers("GetConfiguration")[0]!["configurationKey"] as unknown[]).length, 1);
  t.true(run.out("StatusNotification").every((s) => s.t >= b[2]!.t));
  t.true(run.out("Heartbeat").length >= 2);
});

// One body per reset type; the titles are literal so that the OCA coverage check (oca-coverage.test.ts) sees them.
const resetWithout = async (t: ExecutionContext, type: "Hard" | "Soft") => {
  const run = await runScenario(t, { duration: "40s", events: [{ at: "10s", do: "csms", action: "Reset", payload: { type } }] });
  t.deepEqual(run.answers("Reset"), [{ status: "Accepted" }]);
  t.is(run.result.boots, 2);
  const off = run.trace.find((e) => e.kind === "sim" && e["event"] === "power-off")!;
  t.true(off.t >= 10_000 && off.t <= 11_000, String(off.t));
  t.is(run.out("BootNotification").length, 2);
  t.deepEqual(run.statuses(1).map((s) => s.status), ["Available", "Available"]);
};

const resetWith = async (t: ExecutionContext, type: "Hard" | "Soft") => {
  const run = await runScenario(t, {
    duration: "90s",
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "40s", do: "csms", action: "Reset", payload: { type } },
    ],
  });
  t.deepEqual(run.answers("Reset"), [{ status: "Accepted" }]);
  const stops = run.out("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], `${type}Reset`);
  const off = run.trace.find((e) => e.kind === "sim" && e["event"] === "power-off")!;
  // The transaction was stopped (contactor open, StopTransaction out) before the restart.
  t.true(stops[0]!.t <= off.t);
  const opens = run.trace.filter((e) => e.kind === "contactor" && e["closed"] === false);
  t.true(opens.some((o) => o.t <= off.t));
  t.is(run.result.boots, 2);
  t.is([...run.sim.csms!.transactions.values()][0]!.stop!["reason"], `${type}Reset`);
};

test("TC_013_CS Hard Reset Without transaction", (t) => resetWithout(t, "Hard"));
test("TC_014_CS Soft Reset Without Transaction", (t) => resetWithout(t, "Soft"));
test("TC_015_CS Hard Reset With Transaction", (t) => resetWith(t, "Hard"));
test("TC_016_CS Soft Reset With Transaction", (t) => resetWith(t, "Soft"));

test("ChangeAvailability: connector Inoperative -> Unavailable, persisted across a reboot; Operative again; unknown connector Rejected", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "5s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Inoperative" } },
      { at: "6s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 3, type: "Inoperative" } },
      { at: "10s", do: "restart" },
      { at: "20s", do: "plug" },
      { at: "21s", do: "swipe", idTag: "CARD1" },
      { at: "30s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Operative" } },
    ],
  });
  t.deepEqual(run.answers("ChangeAvailability"), [{ status: "Accepted" }, { status: "Rejected" }, { status: "Accepted" }]);
  const st = run.statuses(1);
  t.deepEqual(
    st.map((s) => s.status),
    ["Available", "Unavailable", "Unavailable", "Preparing"],
    JSON.stringify(st),
  );
  // After the reboot it came up Unavailable, and the card did nothing while it was.
  t.is(run.out("Authorize").length, 0);
  t.is(run.out("StartTransaction").length, 0);
});

test("ChangeAvailability during a transaction: Scheduled, applied when it ends; connector 0 is the whole charge point", async (t) => {
  const run = await runScenario(t, {
    duration: "80s",
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "20s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 0, type: "Inoperative" } },
      { at: "40s", do: "swipe", idTag: "CARD1" },
      { at: "60s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 0, type: "Operative" } },
    ],
  });
  t.deepEqual(run.answers("ChangeAvailability"), [{ status: "Scheduled" }, { status: "Accepted" }]);
  const stop = run.out("StopTransaction")[0]!;
  t.is(stop.payload["reason"], "Local");
  const unavailable = run.statuses(1).find((s) => s.status === "Unavailable")!;
  t.true(unavailable.t >= stop.t);
  t.deepEqual(run.statuses(0).map((s) => s.status), ["Available", "Unavailable", "Available"]);
});

test("TC_062_CS Data Transfer to a Charge Point: unknown vendor -> UnknownVendorId", async (t) => {
  const run = await runScenario(t, {
    duration: "20s",
    events: [{ at: "5s", do: "csms", action: "DataTransfer", payload: { vendorId: "com.example", messageId: "hello", data: "x" } }],
  });
  t.deepEqual(run.answers("DataTransfer"), [{ status: "UnknownVendorId" }]);
});

test("TC_023_4_CS Start local Charging Session - Authorize invalid: no transaction, back to Available", async (t) => {
  const run = await runScenario(t, {
    duration: "30s",
    csms: { rejectTags: ["BADCARD"] },
    events: [
      { at: "2s", do: "swipe", idTag: "BADCARD" },
      { at: "5s", do: "plug" },
    ],
  });
  t.is(run.out("Authorize").length, 1);
  t.is(run.out("StartTransaction").length, 0);
  t.deepEqual(run.statuses().map((s) => s.status), ["Available", "Preparing"]);
  t.false(run.trace.some((e) => e.kind === "contactor" && e["closed"] === true));
});

test("TC_024_CS Start Charging Session - Lock Failure: Faulted ConnectorLockFailure, no transaction, no energy; recovers on unplug", async (t) => {
  const run = await runScenario(t, {
    duration: "40s",
    events: [
      { at: "1s", do: "lockFault" },
      { at: "2s", do: "swipe", idTag: "CARD1" },
      { at: "4s", do: "plug" },
      { at: "20s", do: "unplug" },
      { at: "25s", do: "lockFault", on: false },
    ],
  });
  t.is(run.out("StartTransaction").length, 0);
  t.false(run.trace.some((e) => e.kind === "contactor" && e["closed"] === true));
  const st = run.statuses();
  t.deepEqual(st.map((s) => `${s.status}/${s.errorCode}`), ["Available/NoError", "Preparing/NoError", "Faulted/ConnectorLockFailure", "Available/NoError"]);
  const faulted = st[2]!;
  t.true(faulted.t >= 5_000 && faulted.t <= 5_200, String(faulted.t)); // the lock timeout after the plug
});

test("TC_041_CS Fault Behavior: over-temperature (ambient) -> Faulted HighTemperature, recovery after cooling", async (t) => {
  const run = await runScenario(t, {
    duration: "40min",
    config: { freeCharging: true },
    events: [
      { at: "2s", do: "plug" },
      { at: "1min", do: "ambient", c: 140 },
      { at: "15min", do: "ambient", c: 20 },
    ],
  });
  const st = run.statuses();
  const faulted = st.findIndex((s) => s.status === "Faulted");
  t.true(faulted > 0, JSON.stringify(st));
  t.is(st[faulted]!.errorCode, "HighTemperature");
  t.true(st.slice(faulted + 1).some((s) => s.errorCode === "NoError" && s.status !== "Faulted"), JSON.stringify(st));
  t.is(sessions(run, "started").length, 1);
});

test("MinimumStatusDuration: a status that does not last is not reported", async (t) => {
  const run = await runScenario(t, {
    duration: "40s",
    events: [
      { at: "2s", do: "csms", action: "ChangeConfiguration", payload: { key: "MinimumStatusDuration", value: "5" } },
      { at: "5s", do: "swipe", idTag: "CARD1" },
      { at: "6s", do: "csms", action: "RemoteStartTransaction", payload: { idTag: "X" } },
      { at: "8s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Inoperative" } },
      { at: "9s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Operative" } },
      { at: "20s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Inoperative" } },
    ],
  });
  t.deepEqual(run.answers("ChangeConfiguration"), [{ status: "Accepted" }]);
  // Preparing (5 s .. 8 s) and the 1 s Unavailable/Available flicker are not sent; the lasting Unavailable is, 5 s late.
  const st = run.statuses();
  t.deepEqual(st.map((s) => s.status), ["Available", "Unavailable"], JSON.stringify(st));
  t.is(st[1]!.t, 25_000);
});
