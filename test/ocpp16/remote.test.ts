/** RemoteStartTransaction / RemoteStopTransaction (Core) against the strict embedded CSMS. */
import test from "ava";
import { runScenario, sessions } from "./core-harness.js";

test("TC_010_CS Remote Start Charging Session - Cable Plugged in First", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "2s", do: "plug" },
      { at: "5s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 1, idTag: "REMOTE1" } },
    ],
  });
  t.deepEqual(run.answers("RemoteStartTransaction"), [{ status: "Accepted" }]);
  const start = run.out("StartTransaction");
  t.is(start.length, 1);
  t.is(start[0]!.payload["idTag"], "REMOTE1");
  t.true(start[0]!.t >= 5_000 && start[0]!.t < 5_100);
  t.is(run.out("Authorize").length, 0, "AuthorizeRemoteTxRequests is false by default");
  t.deepEqual(run.statuses().map((s) => s.status).slice(0, 3), ["Available", "Preparing", "SuspendedEV"]);
  t.true(run.statuses().some((s) => s.status === "Charging"));
});

test("TC_011_1_CS Remote Start Charging Session - Remote Start First", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "2s", do: "csms", action: "RemoteStartTransaction", payload: { idTag: "REMOTE1" } },
      { at: "10s", do: "plug" },
    ],
  });
  t.deepEqual(run.answers("RemoteStartTransaction"), [{ status: "Accepted" }]);
  const start = run.out("StartTransaction");
  t.is(start.length, 1);
  t.true(start[0]!.t >= 10_000);
  t.deepEqual(run.statuses().map((s) => s.status).slice(0, 2), ["Available", "Preparing"]);
  t.true(run.statuses().some((s) => s.status === "Charging"));
});

test("TC_011_2_CS Remote Start Charging Session - Time Out (ConnectionTimeOut set by the CSMS)", async (t) => {
  const run = await runScenario(t, {
    duration: "90s",
    events: [
      { at: "1s", do: "csms", action: "ChangeConfiguration", payload: { key: "ConnectionTimeOut", value: "20" } },
      { at: "2s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 1, idTag: "REMOTE1" } },
      { at: "40s", do: "plug" },
    ],
  });
  t.deepEqual(run.answers("ChangeConfiguration"), [{ status: "Accepted" }]);
  t.is(run.out("StartTransaction").length, 0);
  const st = run.statuses();
  t.deepEqual(st.map((s) => s.status), ["Available", "Preparing", "Available", "Preparing"]);
  t.true(st[2]!.t > 22_000 && st[2]!.t <= 22_100, String(st[2]!.t));
});

test("TC_012_CS Remote Stop Charging Session", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "30s", do: "remoteStop" },
    ],
  });
  t.deepEqual(run.answers("RemoteStopTransaction"), [{ status: "Accepted" }]);
  const stop = run.out("StopTransaction");
  t.is(stop.length, 1);
  t.is(stop[0]!.payload["reason"], "Remote");
  t.is(stop[0]!.payload["transactionId"], 1);
  t.true(run.statuses().some((s) => s.status === "Finishing" && s.t >= 30_000));
});

test("TC_023_5_CS Start remote Charging Session - Authorize invalid (AuthorizeRemoteTxRequests true)", async (t) => {
  const run = await runScenario(t, {
    duration: "30s",
    csms: { rejectTags: ["BADCARD"] },
    events: [
      { at: "1s", do: "csms", action: "ChangeConfiguration", payload: { key: "AuthorizeRemoteTxRequests", value: "true" } },
      { at: "2s", do: "plug" },
      { at: "5s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 1, idTag: "BADCARD" } },
      { at: "15s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 1, idTag: "GOOD" } },
    ],
  });
  t.deepEqual(run.answers("RemoteStartTransaction"), [{ status: "Accepted" }, { status: "Accepted" }]);
  const auth = run.out("Authorize");
  t.deepEqual(auth.map((a) => a.payload["idTag"]), ["BADCARD", "GOOD"]);
  // The Authorize.req went out after the RemoteStartTransaction.conf.
  const confAt = run.trace.find((e) => e.kind === "ocpp" && e["dir"] === "out" && (e["frame"] as unknown[])[0] === 3)!.t;
  t.true(auth[0]!.t >= confAt);
  const start = run.out("StartTransaction");
  t.is(start.length, 1);
  t.is(start[0]!.payload["idTag"], "GOOD");
});

test("TC_026_CS Remote Start Charging Session - Rejected (unavailable, occupied)", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "2s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Inoperative" } },
      { at: "3s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 1, idTag: "REMOTE1" } },
      { at: "4s", do: "csms", action: "ChangeAvailability", payload: { connectorId: 1, type: "Operative" } },
      { at: "5s", do: "plug" },
      { at: "6s", do: "swipe", idTag: "CARD1" },
      { at: "20s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 1, idTag: "REMOTE2" } },
    ],
  });
  t.deepEqual(run.answers("RemoteStartTransaction"), [{ status: "Rejected" }, { status: "Rejected" }]);
  t.deepEqual(run.out("StartTransaction").map((s) => s.payload["idTag"]), ["CARD1"]);
});

test("TC_027_CS Remote start transaction - connector id shall not be 0", async (t) => {
  const run = await runScenario(t, {
    duration: "20s",
    events: [
      { at: "2s", do: "plug" },
      { at: "5s", do: "csms", action: "RemoteStartTransaction", payload: { connectorId: 0, idTag: "REMOTE1" } },
    ],
  });
  t.deepEqual(run.answers("RemoteStartTransaction"), [{ status: "Rejected" }]);
  t.is(run.out("StartTransaction").length, 0);
  t.is(sessions(run, "started").length, 0);
});

test("TC_028_CS Remote Stop Transaction - Rejected (unknown transactionId)", async (t) => {
  const run = await runScenario(t, {
    duration: "30s",
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "CARD1" },
      { at: "10s", do: "csms", action: "RemoteStopTransaction", payload: { transactionId: 99 } },
    ],
  });
  t.deepEqual(run.answers("RemoteStopTransaction"), [{ status: "Rejected" }]);
  t.is(run.out("StopTransaction").length, 0);
});
