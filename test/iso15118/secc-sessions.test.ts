/** The SECC across plug-ins and reboots, in the simulator: HLC is armed again for every EV. */
import test from "ava";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

const BOARD = `"board": { "holdUpMs": 50, "plcModem": { "chip": "qca7000", "spi": { "hz": 8000000, "mode": 3, "select": 2 }, "irq": 12 } }`;

test("a fallback lasts one plug-in: the next EV gets 5 % and HLC again", async (t) => {
  const sc = parseScenario(`{
    "name": "replug", "seed": 4, "duration": "70s", ${BOARD},
    "config": { "hlcEnabled": true, "freeCharging": true, "slacInitTimeoutMs": 10000 },
    "ev": { "hlc": true },
    "events": [{ "at": "2s", "do": "plug" }, { "at": "30s", "do": "unplug" }, { "at": "40s", "do": "plug" }]
  }`);
  const sim = await Simulation.create({ scenario: sc });
  sim.chips.plc!.medium.blocked = true;
  sim.scheduler.at(35_000, () => {
    sim.chips.plc!.medium.blocked = false;
  });
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    t.deepEqual(result.problems, []);
    const hlc = sim.trace.events.filter((e) => e.kind === "hlc" && e["event"] !== "modem").map((e) => [e["event"], e.t < 35_000 ? 1 : 2]);
    t.deepEqual(hlc.filter(([, s]) => s === 1).map(([e]) => e), ["slac", "slac-failed", "fallback"]);
    t.deepEqual(hlc.filter(([, s]) => s === 2).map(([e]) => e).slice(0, 5), ["slac", "matched", "joined", "sdp", "connected"]);
    const duties = sim.trace.events.filter((e) => e.kind === "pwm").map((e) => [e.t, e["duty"]] as [number, number]);
    t.is(duties.find(([tt]) => tt >= 40_000)![1], 5, "5 % again for the second EV");
  } finally {
    await sim.close();
  }
});

test("a power cut during HLC: after the reboot the plugged EV is matched and connected again", async (t) => {
  const sc = parseScenario(`{
    "name": "hlc-power-cut", "seed": 8, "duration": "40s", ${BOARD},
    "config": { "hlcEnabled": true, "freeCharging": true },
    "ev": { "hlc": true },
    "events": [{ "at": "2s", "do": "plug" }, { "at": "10s", "do": "powerCut", "offMs": 2000 }]
  }`);
  const sim = await Simulation.create({ scenario: sc });
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    t.deepEqual(result.problems, []);
    t.is(result.boots, 2);
    const connected = sim.trace.events.filter((e) => (e.kind === "hlc" && e["event"] === "connected") || (e.kind === "evcc" && e["state"] === "connected")).map((e) => [e.kind, e.t > 12_000]);
    t.deepEqual(connected, [["hlc", false], ["evcc", false], ["hlc", true], ["evcc", true]]);
  } finally {
    await sim.close();
  }
});
