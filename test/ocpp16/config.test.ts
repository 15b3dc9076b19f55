/** GetConfiguration / ChangeConfiguration (Core) against the strict embedded CSMS. */
import test from "ava";
import { runScenario } from "./core-harness.js";

const CORE_KEYS = [
  "AuthorizeRemoteTxRequests", "ConnectionTimeOut", "ConnectorPhaseRotation", "ConnectorPhaseRotationMaxLength", "GetConfigurationMaxKeys",
  "HeartbeatInterval", "MeterValueSampleInterval", "MinimumStatusDuration", "NumberOfConnectors", "ResetRetries", "StopTransactionOnInvalidId",
  "SupportedFeatureProfiles", "SupportedFeatureProfilesMaxLength", "MaxEnergyOnInvalidId",
];

type Entry = { key: string; readonly: boolean; value?: string };

test("TC_019_CS Retrieve configuration: all keys, and selected ones with unknown ones listed", async (t) => {
  const run = await runScenario(t, {
    duration: "20s",
    events: [
      { at: "5s", do: "csms", action: "GetConfiguration", payload: {} },
      { at: "6s", do: "csms", action: "GetConfiguration", payload: { key: ["NumberOfConnectors", "NoSuchKey", "SupportedFeatureProfiles"] } },
    ],
  });
  const [all, some] = run.answers("GetConfiguration") as Array<{ configurationKey: Entry[]; unknownKey?: string[] }>;
  const names = all!.configurationKey.map((e) => e.key);
  for (const k of CORE_KEYS) t.true(names.includes(k), k);
  t.is(new Set(names).size, names.length);
  t.deepEqual(some!.unknownKey, ["NoSuchKey"]);
  const byKey = new Map(some!.configurationKey.map((e) => [e.key, e]));
  t.deepEqual(byKey.get("NumberOfConnectors"), { key: "NumberOfConnectors", readonly: true, value: "1" });
  const profiles = byKey.get("SupportedFeatureProfiles")!;
  t.true(profiles.readonly);
  t.true(profiles.value!.split(",").includes("Core"));
  t.true(profiles.value!.split(",").includes("RemoteTrigger"));
});

test("TC_021_CS Change/set Configuration: accepted, applied, persisted across a reboot", async (t) => {
  const run = await runScenario(t, {
    duration: "60s",
    events: [
      { at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "MeterValueSampleInterval", value: "15" } },
      { at: "6s", do: "csms", action: "ChangeConfiguration", payload: { key: "AuthorizeRemoteTxRequests", value: "TRUE" } },
      { at: "7s", do: "csms", action: "ChangeConfiguration", payload: { key: "ConnectorPhaseRotation", value: "0.RTS,1.RTS" } },
      { at: "10s", do: "restart" },
      { at: "20s", do: "csms", action: "GetConfiguration", payload: { key: ["MeterValueSampleInterval", "AuthorizeRemoteTxRequests", "ConnectorPhaseRotation"] } },
    ],
  });
  t.deepEqual(run.answers("ChangeConfiguration"), [{ status: "Accepted" }, { status: "Accepted" }, { status: "Accepted" }]);
  const got = (run.answers("GetConfiguration")[0]!["configurationKey"] as Entry[]).map((e) => [e.key, e.value]);
  t.deepEqual(got, [["MeterValueSampleInterval", "15"], ["AuthorizeRemoteTxRequests", "true"], ["ConnectorPhaseRotation", "0.RTS,1.RTS"]]);
});

test("TC_040_1_CS Configuration key - NotSupported", async (t) => {
  const run = await runScenario(t, {
    duration: "20s",
    events: [{ at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "NoSuchKey", value: "1" } }],
  });
  t.deepEqual(run.answers("ChangeConfiguration"), [{ status: "NotSupported" }]);
});

test("TC_040_2_CS Configuration key - Invalid value: Rejected, nothing changes; read-only keys Rejected", async (t) => {
  const run = await runScenario(t, {
    duration: "20s",
    events: [
      { at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "MeterValueSampleInterval", value: "-1" } },
      { at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "ConnectionTimeOut", value: "abc" } },
      { at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "ConnectorPhaseRotation", value: "0.XYZ" } },
      { at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "NumberOfConnectors", value: "2" } },
      { at: "5s", do: "csms", action: "ChangeConfiguration", payload: { key: "SupportedFeatureProfiles", value: "Core" } },
      { at: "6s", do: "csms", action: "GetConfiguration", payload: { key: ["MeterValueSampleInterval", "ConnectionTimeOut", "NumberOfConnectors"] } },
    ],
  });
  t.deepEqual(run.answers("ChangeConfiguration"), Array(5).fill({ status: "Rejected" }));
  const got = (run.answers("GetConfiguration")[0]!["configurationKey"] as Entry[]).map((e) => e.value);
  t.not(got[0], "-1");
  t.regex(got[0]!, /^\d+$/);
  t.deepEqual(got.slice(1), ["60", "1"]);
});

test("GetConfigurationMaxKeys is enforced: more keys -> OccurenceConstraintViolation", async (t) => {
  const keys = Array.from({ length: 101 }, (_, i) => `K${i}`);
  const run = await runScenario(t, { duration: "20s", events: [{ at: "5s", do: "csms", action: "GetConfiguration", payload: { key: keys } }] });
  const a = run.answers("GetConfiguration")[0]!;
  t.regex(String(a["error"]), /OccurenceConstraintViolation/);
});
