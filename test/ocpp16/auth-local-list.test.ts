/** LocalAuthListManagement end to end against the strict embedded CSMS (OCA TC_008_x, TC_042_x, TC_043_x). */
import test from "ava";
import { csms, entry, runAuth } from "./auth-support.js";

const plugSwipe = (tag: string, plugAt = "20s", swipeAt = "25s") => [
  { at: plugAt, do: "plug" },
  { at: swipeAt, do: "swipe", idTag: tag },
];

test("TC_042_1_CS Get Local List Version (not supported): LocalAuthListEnabled false answers -1", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalAuthListEnabled: "false" },
    events: [csms("10s", "GetLocalListVersion"), csms("11s", "ChangeConfiguration", { key: "LocalAuthListEnabled", value: "true" }), csms("12s", "GetLocalListVersion")],
    duration: "20s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ listVersion: -1 }, { status: "Accepted" }, { listVersion: 0 }]);
});

test("TC_042_2_CS Get Local List Version (empty): 0 before any list and after a Full update with an empty list", async (t) => {
  const r = await runAuth(t, {
    events: [
      csms("10s", "GetLocalListVersion"),
      csms("11s", "SendLocalList", { listVersion: 4, updateType: "Full", localAuthorizationList: [entry("TAG-1")] }),
      csms("12s", "GetLocalListVersion"),
      csms("13s", "SendLocalList", { listVersion: 0, updateType: "Full" }),
      csms("14s", "GetLocalListVersion"),
      csms("15s", "SendLocalList", { listVersion: 9, updateType: "Full", localAuthorizationList: [] }),
      csms("16s", "GetLocalListVersion"),
    ],
    duration: "20s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [
    { listVersion: 0 },
    { status: "Accepted" },
    { listVersion: 4 },
    { status: "Accepted" },
    { listVersion: 0 },
    { status: "Accepted" },
    { listVersion: 0 },
  ]);
});

test("TC_043_1_CS Send Local Authorization List - NotSupported: LocalAuthListEnabled false", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalAuthListEnabled: "false" },
    events: [csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("TAG-1")] })],
    duration: "15s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "NotSupported" }]);
});

test("TC_043_2_CS Send Local Authorization List - VersionMismatch: a Differential update not newer than the list", async (t) => {
  const r = await runAuth(t, {
    events: [
      csms("10s", "SendLocalList", { listVersion: 5, updateType: "Full", localAuthorizationList: [entry("TAG-1")] }),
      csms("11s", "SendLocalList", { listVersion: 5, updateType: "Differential", localAuthorizationList: [entry("TAG-2")] }),
      csms("12s", "SendLocalList", { listVersion: 3, updateType: "Differential", localAuthorizationList: [entry("TAG-2")] }),
      csms("13s", "GetLocalListVersion"),
      csms("14s", "SendLocalList", { listVersion: 6, updateType: "Differential", localAuthorizationList: [entry("TAG-2")] }),
      csms("15s", "GetLocalListVersion"),
    ],
    duration: "20s",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [
    { status: "Accepted" },
    { status: "VersionMismatch" },
    { status: "VersionMismatch" },
    { listVersion: 5 },
    { status: "Accepted" },
    { listVersion: 6 },
  ]);
});

test("TC_043_3_CS Send Local Authorization List - Failed: an update that cannot be applied changes nothing", async (t) => {
  const many = Array.from({ length: 65 }, (_, i) => entry(`T${i}`));
  const r = await runAuth(t, {
    events: [
      csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("KEEP")] }),
      // Full entry without idTagInfo, duplicate idTags (case-insensitive), more than SendLocalListMaxLength.
      csms("11s", "SendLocalList", { listVersion: 2, updateType: "Full", localAuthorizationList: [{ idTag: "A" }] }),
      csms("12s", "SendLocalList", { listVersion: 2, updateType: "Differential", localAuthorizationList: [entry("dup"), entry("DUP")] }),
      csms("13s", "SendLocalList", { listVersion: 2, updateType: "Full", localAuthorizationList: many }),
      csms("14s", "GetLocalListVersion"),
      csms("15s", "GetConfiguration", { key: ["SendLocalListMaxLength", "LocalAuthListMaxLength"] }),
    ],
    duration: "2min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.slice(0, 5).map((a) => a.result), [{ status: "Accepted" }, { status: "Failed" }, { status: "Failed" }, { status: "Failed" }, { listVersion: 1 }]);
  t.deepEqual(r.answers[5]!.result, {
    configurationKey: [
      { key: "SendLocalListMaxLength", readonly: true, value: "64" },
      { key: "LocalAuthListMaxLength", readonly: true, value: "256" },
    ],
  });
});

test("TC_043_CS Send Local Authorization List: Full then Differential (add, update, remove), kept across a reboot", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true" },
    events: [
      csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("TAG-A"), entry("TAG-B"), entry("TAG-C")] }),
      csms("11s", "SendLocalList", {
        listVersion: 2,
        updateType: "Differential",
        localAuthorizationList: [{ idTag: "TAG-A" }, entry("TAG-B", "Blocked"), entry("TAG-D", "Accepted", { parentIdTag: "FLEET" })],
      }),
      csms("12s", "GetLocalListVersion"),
      { at: "20s", do: "restart" },
      csms("40s", "GetLocalListVersion"),
      // After the reboot: TAG-D (from the list, no Authorize.req) charges; TAG-B (Blocked) is asked online.
      ...plugSwipe("TAG-D", "50s", "55s"),
      { at: "2min", do: "unplug" },
    ],
    duration: "3min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers.map((a) => a.result), [{ status: "Accepted" }, { status: "Accepted" }, { listVersion: 2 }, { listVersion: 2 }]);
  t.is(r.of("Authorize").length, 0);
  t.deepEqual(r.of("StartTransaction").map((c) => c.payload["idTag"]), ["TAG-D"]);
});

test("TC_008_1_CS Regular Start Charging Session - Id in Local Authorization List: no Authorize.req with LocalPreAuthorize", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true" },
    events: [csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("LIST-1")] }), ...plugSwipe("LIST-1"), { at: "2min", do: "unplug" }],
    duration: "3min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(r.of("Authorize").length, 0);
  const starts = r.of("StartTransaction");
  t.is(starts.length, 1);
  t.is(starts[0]!.payload["idTag"], "LIST-1");
  t.true(starts[0]!.t - 25_000 < 2_000, "started at once");
  t.is(r.of("StopTransaction").length, 1);
});

test("TC_008_2_CS Remote Start Charging Session - Id in Local Authorization List: authorized from the list", async (t) => {
  const r = await runAuth(t, {
    keys: { LocalPreAuthorize: "true", AuthorizeRemoteTxRequests: "true" },
    events: [
      csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("LIST-2")] }),
      { at: "20s", do: "plug" },
      csms("25s", "RemoteStartTransaction", { idTag: "LIST-2", connectorId: 1 }),
      { at: "2min", do: "unplug" },
    ],
    duration: "3min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.answers[1]!.result, { status: "Accepted" });
  t.is(r.of("Authorize").length, 0);
  t.deepEqual(r.of("StartTransaction").map((c) => c.payload["idTag"]), ["LIST-2"]);
});

test("without LocalPreAuthorize a listed id is still checked online (Authorize.req)", async (t) => {
  const r = await runAuth(t, {
    events: [
      csms("10s", "SendLocalList", { listVersion: 1, updateType: "Full", localAuthorizationList: [entry("LIST-3")] }),
      ...plugSwipe("LIST-3"),
      { at: "1min", do: "unplug" },
    ],
    duration: "2min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.of("Authorize").map((c) => c.payload["idTag"]), ["LIST-3"]);
  t.is(r.of("StartTransaction").length, 1);
});
