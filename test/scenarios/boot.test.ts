/** Boots, reboots and the uplink: external CSMS, power cut, CSMS that answers Pending then Accepted. */
import test from "ava";
import { start } from "../../firmware/main.js";
import { EmbeddedCsms } from "../../simulator/csms/index.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

test("--csms: the firmware charges against an external CSMS just the same", async (t) => {
  const external = await EmbeddedCsms.start({ port: 0, clock: () => Date.UTC(2026, 0, 15, 8) });
  const sim = await Simulation.create({ csms: external.url, once: false });
  try {
    t.is(sim.csms, null);
    const result = await sim.run((hal, config) => start(hal, config));
    t.deepEqual(result.problems, []);
    const txs = [...external.transactions.values()];
    t.is(txs.length, 1);
    t.truthy(txs[0]!.stop);
    t.is(txs[0]!.idTag, "DEMO-CARD-01");
    t.deepEqual(external.validationFailures, []);
  } finally {
    await sim.close();
    await external.close();
  }
});

test("a power cut reboots the firmware: it registers again and charges a new session", async (t) => {
  const scenario = parseScenario(`{
    "name": "power cut", "seed": 5, "duration": "10min",
    "config": { "freeCharging": true },
    "events": [
      { "at": "5s", "do": "plug" },
      { "at": "2min", "do": "powerCut", "offMs": 3000 },
      { "at": "6min", "do": "unplug" }
    ]
  }`);
  const sim = await Simulation.create({ scenario });
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    t.is(result.boots, 2);
    t.is(result.interlockTrips, 0);
    t.is(result.forbiddenCloses, 0);
    t.deepEqual(result.firmwareErrors, []);
    const boots = sim.trace.events.filter((e) => e.kind === "ocpp" && e["dir"] === "out" && (e["frame"] as unknown[])[2] === "BootNotification");
    t.is(boots.length, 2);
    const off = sim.trace.events.find((e) => e.kind === "sim" && e["event"] === "power-off")!;
    t.is(off.t, 120_000);
    // The contactor dropped with the power and closed again only after the reboot, in state C.
    const closes = sim.trace.events.filter((e) => e.kind === "contactor" && e["closed"] === true).map((e) => e.t);
    t.is(closes.length, 2);
    t.true(closes[1]! > 123_000);
    // The second boot found the EV still plugged and charged it (free charging).
    const sessions = sim.trace.events.filter((e) => e.kind === "session" && e["event"] === "started");
    t.is(sessions.length, 2);
  } finally {
    await sim.close();
  }
});

test("BootNotification Pending: the charger retries and starts nothing until Accepted", async (t) => {
  const scenario = parseScenario(`{
    "name": "pending", "seed": 9, "duration": "5min",
    "csms": { "bootStatus": "Pending", "heartbeatInterval": 20 },
    "events": []
  }`);
  const sim = await Simulation.create({ scenario });
  try {
    await sim.run((hal, config) => start(hal, config));
    const out = sim.trace.events.filter((e) => e.kind === "ocpp" && e["dir"] === "out").map((e) => ({ t: e.t, action: (e["frame"] as unknown[])[2] }));
    t.true(out.length >= 5, JSON.stringify(out));
    t.true(out.every((o) => o.action === "BootNotification"), "only BootNotification while Pending");
    // Retried at the interval the CSMS gave in its answer.
    const answer = sim.trace.events.find((e) => e.kind === "ocpp" && e["dir"] === "in")!;
    const interval = ((answer["frame"] as unknown[])[2] as { interval: number; status: string });
    t.is(interval.status, "Pending");
    for (let i = 1; i < out.length; i++) t.is(out[i]!.t - out[i - 1]!.t, interval.interval * 1000);
  } finally {
    await sim.close();
  }
});
