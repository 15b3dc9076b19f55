/** The link's health: WebSocket ping with dead-link detection, and randomized exponential reconnect back-off. */
import test from "ava";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

test("WebSocketPingInterval: a silent link (blackhole) is detected, replaced, and the queued transaction delivered", async (t) => {
  const sim = await Simulation.create({
    scenario: parseScenario(`{ "name": "dead link", "seed": 11, "duration": "6min",
      "config": { "freeCharging": true, "webSocketPingIntervalS": 30, "reconnectMinMs": 1000, "reconnectMaxMs": 8000 },
      "events": [
        { "at": "40s", "do": "network", "fault": "blackhole" },
        { "at": "45s", "do": "plug" },
        { "at": "150s", "do": "network", "fault": "restore" },
        { "at": "5min", "do": "unplug" }
      ] }`),
  });
  try {
    const result = await sim.run((hal, cfg) => start(hal, cfg));
    t.deepEqual(sim.csms!.validationFailures, []);
    t.deepEqual(result.firmwareErrors, []);
    const dead = sim.trace.events.filter((e) => e.kind === "ocpp-link" && String(e["reason"]).includes("link dead"));
    t.true(dead.length >= 1, "dead link detected");
    t.true(dead[0]!.t > 40_000 && dead[0]!.t <= 40_000 + 3 * 30_000, `detected at ${dead[0]!.t}`);
    const connects = sim.csms!.connections.filter((c) => c.event === "connect");
    t.true(connects.length >= 2, "the link was replaced");
    const txs = [...sim.csms!.transactions.values()];
    t.is(txs.length, 1, "StartTransaction queued while the link was dead reached the CSMS");
    t.truthy(txs[0]!.stop);
  } finally {
    await sim.close();
  }
});

test("reconnect back-off: delays follow reconnectMinMs·2^n with jitter, capped at reconnectMaxMs", async (t) => {
  const sim = await Simulation.create({
    scenario: parseScenario(`{ "name": "backoff", "seed": 12, "duration": "5min",
      "config": { "reconnectMinMs": 1000, "reconnectMaxMs": 16000 },
      "events": [
        { "at": "20s", "do": "network", "fault": "refuse" },
        { "at": "20s", "do": "network", "fault": "drop" },
        { "at": "4min", "do": "network", "fault": "restore" }
      ] }`),
  });
  try {
    await sim.run((hal, cfg) => start(hal, cfg));
    const delays = sim.trace.events.filter((e) => e.kind === "ocpp-link" && e["event"] === "backoff").map((e) => e["delayMs"] as number);
    t.true(delays.length >= 10, `seed ${sim.seed}: ${delays.length} back-offs`);
    delays.forEach((d, n) => {
      const base = Math.min(16_000, 1000 * 2 ** n);
      t.true(d >= base / 2 && d <= base, `seed ${sim.seed}: attempt ${n}: ${d} ms not in [${base / 2}, ${base}]`);
    });
    t.true(new Set(delays.slice(5)).size > 1, "jittered, not constant");
    const connects = sim.csms!.connections.filter((c) => c.event === "connect");
    t.is(connects.length, 2, "connected again after the fault lifted");
    t.true(connects[1]!.t - sim.scenario.rtcMs >= 240_000);
  } finally {
    await sim.close();
  }
});
