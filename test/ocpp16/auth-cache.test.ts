/** The Authorization Cache end to end (OCA TC_007_x, TC_061_x). */
import test from "ava";
import { csms, runAuth } from "./auth-support.js";

/** A first session fills the cache through Authorize.conf; a second identification follows. */
const firstSession = [
  { at: "20s", do: "plug" },
  { at: "25s", do: "swipe", idTag: "CACHED-1" },
  { at: "1min", do: "swipe", idTag: "CACHED-1" },
  { at: "70s", do: "unplug" },
];

test("TC_007_1_CS Regular Start Charging Session - Cached Id: no Authorize.req with LocalPreAuthorize", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true" },
    events: [...firstSession, { at: "2min", do: "plug" }, { at: "125s", do: "swipe", idTag: "CACHED-1" }, { at: "4min", do: "unplug" }],
    duration: "5min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  // Only the first identification was asked; the second came from the cache.
  t.deepEqual(r.of("Authorize").map((c) => c.t < 60_000), [true]);
  const starts = r.of("StartTransaction");
  t.is(starts.length, 2);
  t.true(starts[1]!.t >= 125_000 && starts[1]!.t < 127_000, "started at once from the cache");
});

test("TC_007_2_CS Remote Start Charging Session - Cached Id: AuthorizeRemoteTxRequests uses the cache", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true", AuthorizeRemoteTxRequests: "true" },
    events: [...firstSession, { at: "2min", do: "plug" }, csms("125s", "RemoteStartTransaction", { idTag: "CACHED-1", connectorId: 1 }), { at: "4min", do: "unplug" }],
    duration: "5min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }]);
  t.is(r.of("Authorize").length, 1);
  t.is(r.of("StartTransaction").length, 2);
});

test("TC_061_1_CS Clear Authorization Data in Authorization Cache - Local: the next identification is asked online", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true" },
    events: [...firstSession, csms("90s", "ClearCache"), { at: "2min", do: "plug" }, { at: "125s", do: "swipe", idTag: "CACHED-1" }, { at: "4min", do: "unplug" }],
    duration: "5min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }]);
  t.is(r.of("Authorize").length, 2);
  t.is(r.of("StartTransaction").length, 2);
});

test("TC_061_2_CS Clear Authorization Data in Authorization Cache - Remote: the remote start is asked online", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true", AuthorizeRemoteTxRequests: "true" },
    events: [...firstSession, csms("90s", "ClearCache"), { at: "2min", do: "plug" }, csms("125s", "RemoteStartTransaction", { idTag: "CACHED-1", connectorId: 1 }), { at: "4min", do: "unplug" }],
    duration: "5min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Accepted" }]);
  t.is(r.of("Authorize").length, 2);
  t.is(r.of("StartTransaction").length, 2);
});

test("ClearCache is Rejected while AuthorizationCacheEnabled is false; a disabled cache is not consulted", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true", AuthorizationCacheEnabled: "false" },
    events: [...firstSession, csms("90s", "ClearCache"), { at: "2min", do: "plug" }, { at: "125s", do: "swipe", idTag: "CACHED-1" }, { at: "4min", do: "unplug" }],
    duration: "5min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Rejected" }]);
  t.is(r.of("Authorize").length, 2);
});

test("the cache survives a reboot and a cached Blocked id does not charge offline", async (t) => {
  const r = await runAuth(t, {
    rejectTags: ["BAD-1"],
    events: [
      { at: "20s", do: "swipe", idTag: "BAD-1" },
      { at: "30s", do: "swipe", idTag: "GOOD-1" },
      { at: "40s", do: "restart" },
      { at: "1min", do: "network", fault: "refuse" },
      { at: "1min", do: "network", fault: "drop" },
      { at: "70s", do: "plug" },
      { at: "75s", do: "swipe", idTag: "BAD-1" },
      { at: "80s", do: "swipe", idTag: "GOOD-1" },
      { at: "3min", do: "network", fault: "restore" },
      { at: "5min", do: "unplug" },
    ],
    duration: "6min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.of("Authorize").map((c) => c.payload["idTag"]), ["BAD-1", "GOOD-1"]);
  t.deepEqual(r.of("StartTransaction").map((c) => c.payload["idTag"]), ["GOOD-1"]);
  const denied = r.sim.trace.events.filter((e) => e.kind === "auth" && e["idTag"] === "BAD-1" && e["accepted"] === false).map((e) => e["detail"]);
  t.deepEqual(denied.slice(-1), ["Invalid"]);
});

test("StopTransaction.conf idTagInfo updates the cache: an id Blocked at the stop is asked online next time despite LocalPreAuthorize", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true" },
    onCall: ({ action }) => (action === "StopTransaction" ? { idTagInfo: { status: "Blocked" } } : undefined),
    events: [...firstSession, { at: "2min", do: "plug" }, { at: "125s", do: "swipe", idTag: "CACHED-1" }, { at: "4min", do: "unplug" }],
    duration: "5min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(r.of("StopTransaction")[0]!.payload["idTag"], "CACHED-1");
  // Without the StopTransaction.conf in the cache the second swipe would start from the cache (TC_007_1); Blocked
  // there, it is not pre-authorized: Authorize.req decides (the CSMS accepts it again).
  t.deepEqual(r.of("Authorize").map((c) => c.t >= 125_000), [false, true]);
  t.is(r.of("StartTransaction").length, 2);
});
