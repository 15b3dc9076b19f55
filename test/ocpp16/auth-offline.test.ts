/** Offline authorization (OCA TC_037_1/2/3: the authorization decision; the queue belongs to the transactions module). */
import test from "ava";
import { csms, entry, runAuth } from "./auth-support.js";

const goOffline = (at: string) => [
  { at, do: "network", fault: "refuse" },
  { at, do: "network", fault: "drop" },
];

test("TC_037_1_CS Offline Start Transaction - Valid IdTag: a listed id charges offline, StartTransaction follows online", async (t) => {
  const r = await runAuth(t, {
    events: [
      csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("OFF-1")] }),
      ...goOffline("20s"),
      { at: "30s", do: "plug" },
      { at: "35s", do: "swipe", idTag: "OFF-1" },
      { at: "3min", do: "network", fault: "restore" },
      { at: "6min", do: "unplug" },
    ],
    duration: "8min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(r.of("Authorize").length, 0);
  const starts = r.of("StartTransaction");
  t.is(starts.length, 1);
  t.true(starts[0]!.t > 180_000, "sent after reconnecting");
  t.is(new Date(starts[0]!.payload["timestamp"] as string).getTime() - Date.UTC(2026, 0, 15, 8), 35_000, "timestamped when it started");
  const closes = r.sim.trace.events.filter((e) => e.kind === "contactor" && e["closed"] === true);
  t.true(closes.length >= 1 && closes[0]!.t < 40_000, "charging began offline");
  t.is(r.of("StopTransaction")[0]!.payload["reason"], "EVDisconnected");
});

test("TC_037_2_CS Offline Start Transaction - Invalid IdTag - StopTransactionOnInvalidId = false: charging goes on", async (t) => {
  const r = await runAuth(t, {
    keys: { AllowOfflineTxForUnknownId: "true", StopTransactionOnInvalidId: "false" },
    rejectTags: ["UNKNOWN-1"],
    events: [...goOffline("20s"), { at: "30s", do: "plug" }, { at: "35s", do: "swipe", idTag: "UNKNOWN-1" }, { at: "3min", do: "network", fault: "restore" }, { at: "6min", do: "unplug" }],
    duration: "8min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(r.of("StartTransaction").length, 1);
  const stops = r.of("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "EVDisconnected");
  t.true(stops[0]!.t >= 360_000);
});

test("TC_037_3_CS Offline Start Transaction - Invalid IdTag - StopTransactionOnInvalidId = true: stopped as DeAuthorized", async (t) => {
  const r = await runAuth(t, {
    keys: { AllowOfflineTxForUnknownId: "true", StopTransactionOnInvalidId: "true" },
    rejectTags: ["UNKNOWN-2"],
    events: [...goOffline("20s"), { at: "30s", do: "plug" }, { at: "35s", do: "swipe", idTag: "UNKNOWN-2" }, { at: "3min", do: "network", fault: "restore" }, { at: "6min", do: "unplug" }],
    duration: "8min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(r.of("StartTransaction").length, 1);
  const stops = r.of("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "DeAuthorized");
  t.true(stops[0]!.t < 200_000, "stopped right after the StartTransaction.conf");
});

test("offline: an unknown id does not charge without AllowOfflineTxForUnknownId, nor a listed Blocked one, nor any with LocalAuthorizeOffline false", async (t) => {
  for (const [keys, tag] of [
    [{}, "UNKNOWN-3"],
    [{ AllowOfflineTxForUnknownId: "true" }, "BLOCKED-LISTED"],
    [{ LocalAuthorizeOffline: "false" }, "OFF-2"],
  ] as const) {
    const r = await runAuth(t, {
      keys: { ...keys },
      events: [
        csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("OFF-2"), entry("BLOCKED-LISTED", "Blocked")] }),
        ...goOffline("20s"),
        { at: "30s", do: "plug" },
        { at: "35s", do: "swipe", idTag: tag },
        { at: "2min", do: "network", fault: "restore" },
        { at: "3min", do: "unplug" },
      ],
      duration: "4min",
    });
    t.deepEqual(r.sim.csms!.validationFailures, []);
    t.is(r.of("StartTransaction").length, 0, tag);
    t.is(r.sim.trace.events.filter((e) => e.kind === "contactor" && e["closed"] === true).length, 0, tag);
  }
});

test("online with an unanswered Authorize.req (timeout): the offline rules decide", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "false" },
    config: { callTimeoutMs: 5_000 },
    events: [
      csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("SLOW-1")] }),
      { at: "20s", do: "plug" },
      { at: "25s", do: "network", fault: "blackhole" },
      { at: "25s", do: "swipe", idTag: "SLOW-1" },
      { at: "2min", do: "network", fault: "restore" },
      { at: "5min", do: "unplug" },
    ],
    duration: "6min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  const started = r.sim.trace.events.find((e) => e.kind === "session" && e["event"] === "started");
  t.truthy(started);
  t.true(started!.t >= 30_000 && started!.t < 32_000, `started after the 5 s timeout, at ${started!.t}`);
});
