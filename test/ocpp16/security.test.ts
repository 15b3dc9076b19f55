/** Security profiles 1–3, AuthorizationKey, SecurityProfile upgrade/downgrade, security events (OCA TC_073, TC_083–TC_087). */
import test from "ava";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import { CLIENT_CERT, CLIENT_KEY, SERVER_CERT, SERVER_KEY } from "../net/tls-fixtures.js";

const CP = "CP-SIM-0001";
const PASS1 = "factory-pass-0001";
const PASS2 = "rotated-pass-0002x";
const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

async function run(
  config: Record<string, unknown>,
  options: { tls?: boolean; clientCa?: boolean; auth?: Record<string, string> },
  calls: Array<{ at: number; action: string; payload: Record<string, unknown>; then?: (sim: Simulation) => void }>,
  duration = "2min",
) {
  const sim = await Simulation.create({
    scenario: parseScenario(`{ "name": "sec", "seed": 3, "duration": "${duration}", "events": [] }`),
    config,
    ...(options.tls ? { tls: { cert: SERVER_CERT, key: SERVER_KEY, ...(options.clientCa ? { clientCa: [CLIENT_CERT] } : {}) } } : {}),
    ...(options.auth ? { csmsBasicAuth: options.auth } : {}),
    keys: { cp: CLIENT_KEY },
  });
  const results: Array<{ action: string; result?: unknown; error?: string }> = [];
  for (const c of calls) {
    sim.scheduler.at(c.at, () => {
      c.then?.(sim);
      void sim.csms!.call(CP, c.action, c.payload).then(
        (r) => results.push({ action: c.action, result: r }),
        (e: unknown) => results.push({ action: c.action, error: String(e) }),
      );
    });
  }
  await sim.run((hal, cfg) => start(hal, cfg));
  const connects = sim.csms!.connections.filter((c) => c.event === "connect");
  const events = sim.trace.events.filter((e) => e.kind === "security-event").map((e) => e["type"] as string);
  const sent = sim.csms!.frames.filter((f) => f.dir === "in" && (f.frame as unknown[])[2] === "SecurityEventNotification").map((f) => ((f.frame as unknown[])[3] as { type: string }).type);
  return { sim, results, connects, events, sent };
}

test("TC_085_CS Basic Authentication - Valid username/password combination", async (t) => {
  const { sim, connects, sent } = await run({ securityProfile: 1, basicAuthPassword: PASS1 }, { auth: { [CP]: PASS1 } }, []);
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.is(connects.length, 1);
    t.true(sent.includes("StartupOfTheDevice"), "SecurityEventNotification sent and accepted by the strict peer");
  } finally {
    await sim.close();
  }
});

test("TC_073_CS Update Charge Point Password for HTTP Basic Authentication (write-only key)", async (t) => {
  const auth = { [CP]: PASS1 };
  const { sim, results, connects, events } = await run({ securityProfile: 1, basicAuthPassword: PASS1 }, { auth }, [
    { at: 30_000, action: "ChangeConfiguration", payload: { key: "AuthorizationKey", value: hex(PASS2) }, then: () => (auth[CP] = PASS2) },
    { at: 60_000, action: "GetConfiguration", payload: { key: ["AuthorizationKey"] } },
    { at: 70_000, action: "ChangeConfiguration", payload: { key: "AuthorizationKey", value: "not-hex" } },
  ]);
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(results[0], { action: "ChangeConfiguration", result: { status: "Accepted" } });
    t.is(connects.length, 2, "reconnected with the new password");
    t.true(connects[1]!.t - sim.scenario.rtcMs < 31_000);
    t.deepEqual(results[1]!.result, { configurationKey: [{ key: "AuthorizationKey", readonly: false }] }, "no value revealed");
    t.deepEqual(results[2]!.result, { status: "Rejected" });
    t.true(events.includes("ReconfigurationOfSecurityParameters"));
  } finally {
    await sim.close();
  }
});

test("TC_086_CS TLS - server-side certificate - Valid certificate (profile 2)", async (t) => {
  const { sim, connects } = await run({ securityProfile: 2, basicAuthPassword: PASS1, csmsCaCertificate: SERVER_CERT }, { tls: true, auth: { [CP]: PASS1 } }, []);
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.is(connects.length, 1);
    t.is(sim.tlsProxy!.sessions.length, 1, "over wss://");
  } finally {
    await sim.close();
  }
});

test("TC_087_CS TLS - Client-side certificate - valid certificate (profile 3)", async (t) => {
  const { sim, connects } = await run(
    { securityProfile: 3, csmsCaCertificate: SERVER_CERT, clientCertificate: CLIENT_CERT, clientKeyName: "cp" },
    { tls: true, clientCa: true },
    [],
  );
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.is(connects.length, 1);
    t.deepEqual(sim.tlsProxy!.sessions, [{ authorized: true, clientCn: "CP1" }]);
  } finally {
    await sim.close();
  }
});

test("TC_083_CS Upgrade security profile (1 -> 2: reconnects over TLS)", async (t) => {
  const { sim, results, connects } = await run({ securityProfile: 1, basicAuthPassword: PASS1, csmsCaCertificate: SERVER_CERT }, { tls: true, auth: { [CP]: PASS1 } }, [
    { at: 30_000, action: "ChangeConfiguration", payload: { key: "SecurityProfile", value: "2" } },
  ]);
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(results[0]!.result, { status: "Accepted" });
    t.is(connects.length, 2);
    t.is(sim.tlsProxy!.sessions.length, 1, "the second connection is wss://");
  } finally {
    await sim.close();
  }
});

test("TC_084_CS Downgrade security profile - Rejected (and an upgrade without its certificate)", async (t) => {
  const { sim, results, connects } = await run({ securityProfile: 2, basicAuthPassword: PASS1, csmsCaCertificate: SERVER_CERT }, { tls: true, auth: { [CP]: PASS1 } }, [
    { at: 30_000, action: "ChangeConfiguration", payload: { key: "SecurityProfile", value: "1" } },
    { at: 40_000, action: "ChangeConfiguration", payload: { key: "SecurityProfile", value: "3" } },
    { at: 50_000, action: "GetConfiguration", payload: { key: ["SecurityProfile"] } },
  ]);
  try {
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(results[0]!.result, { status: "Rejected" });
    t.deepEqual(results[1]!.result, { status: "Rejected" }, "no client certificate: no profile 3");
    t.deepEqual(results[2]!.result, { configurationKey: [{ key: "SecurityProfile", readonly: false, value: "2" }] });
    t.is(connects.length, 1);
  } finally {
    await sim.close();
  }
});

test("security event: a CSMS certificate that does not validate is InvalidCentralSystemCertificate", async (t) => {
  const { sim, connects, events } = await run({ securityProfile: 2, basicAuthPassword: PASS1, csmsCaCertificate: CLIENT_CERT }, { tls: true, auth: { [CP]: PASS1 } }, [], "30s");
  try {
    t.is(connects.length, 0);
    t.true(events.includes("InvalidCentralSystemCertificate"), JSON.stringify(events));
  } finally {
    await sim.close();
  }
});
