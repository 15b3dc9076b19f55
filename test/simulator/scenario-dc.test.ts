import test from "ava";
import { start } from "../../firmware/main.js";
import { DC_FAULT_OVER_TEMPERATURE } from "../../simulator/models/dc.js";
import { World, worldConfig } from "../../simulator/models/world.js";
import type { WorldConfig } from "../../simulator/models/world.js";
import { Rng } from "../../simulator/rng.js";
import { parseScenario, ScenarioError } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

test("board.dc + world.insulationOhms + world.dc become WorldConfig.dc; board.dc stays on the board; events parse", (t) => {
  const s = parseScenario(`{
    "board": { "phases": 3, "ratedCurrent": 80, "dc": { "maxVoltage": 920, "minVoltage": 200, "maxCurrent": 100, "minCurrent": 1, "maxPower": 50000 } },
    "world": { "insulationOhms": 2000000, "ambientC": 30, "dc": { "imdTestMs": 1000, "rampVPerS": 400 } },
    "events": [
      { "at": "30s", "do": "insulation", "ohms": 40000 },
      { "at": "40s", "do": "dcFault", "fault": "overTemperature" },
      { "at": "50s", "do": "dcFault", "fault": "none" }
    ]
  }`);
  t.deepEqual(s.world, { ambientC: 30, dc: { imdTestMs: 1000, rampVPerS: 400, maxVoltage: 920, minVoltage: 200, maxCurrent: 100, minCurrent: 1, maxPower: 50000, insulationOhms: 2000000 } });
  t.deepEqual((s.board as unknown as Record<string, unknown>)["dc"], { maxVoltage: 920, minVoltage: 200, maxCurrent: 100, minCurrent: 1, maxPower: 50000 });
  t.deepEqual(s.events, [
    { at: 30_000, do: "insulation", ohms: 40000 },
    { at: 40_000, do: "dcFault", fault: "overTemperature", code: DC_FAULT_OVER_TEMPERATURE },
    { at: 50_000, do: "dcFault", fault: "none", code: 0 },
  ]);
  const w = new World(worldConfig({ phases: 3, ...(s.world as Partial<WorldConfig>) }), new Rng(1));
  t.is(w.dc!.config.maxVoltage, 920);
  t.is(w.dc!.imd.insulationOhms, 2000000);
  t.is(w.dc!.config.imdTestMs, 1000);
  t.is(w.dc!.config.efficiency, 0.95);
  const plain = parseScenario(`{ "board": { "dc": {} } }`);
  t.deepEqual(plain.world, { dc: {} });
  const ac = parseScenario(`{ "world": { "ambientC": 20 } }`);
  t.deepEqual(ac.world, { ambientC: 20 });
});

const bad: Array<[string, string, number, RegExp]> = [
  ["board.dc not an object", '{\n "board": {\n  "dc": 5\n }\n}', 3, /board\.dc: must be \{/],
  ["unknown board.dc key", '{\n "board": {\n  "dc": {\n   "maxVolts": 500\n  }\n }\n}', 4, /board\.dc\.maxVolts: unknown key; allowed: maxVoltage/],
  ["board.dc value", '{\n "board": {\n  "dc": {\n   "maxVoltage": 500,\n   "maxCurrent": -5\n  }\n }\n}', 5, /board\.dc\.maxCurrent: must be a number in \(0, 1000\]/],
  ["board.dc zero power", '{\n "board": {\n  "dc": {\n   "maxPower": 0\n  }\n }\n}', 4, /board\.dc\.maxPower: must be a number in \(0, 1000000\]/],
  ["board.dc min above max", '{\n "board": {\n  "dc": {\n   "maxVoltage": 500,\n   "minVoltage": 600\n  }\n }\n}', 3, /board\.dc: DcConfig: minVoltage must be in 0\.\.maxVoltage/],
  ["two contactors", '{\n "board": {\n  "contactors": 2,\n  "dc": {}\n }\n}', 3, /board\.contactors: a DC board has one output contactor/],
  ["insulation without dc", '{\n "world": {\n  "insulationOhms": 1000\n }\n}', 3, /world\.insulationOhms: needs a DC board/],
  ["bad insulation", '{\n "board": { "dc": {} },\n "world": {\n  "insulationOhms": -1\n }\n}', 4, /world\.insulationOhms: must be a positive number/],
  ["unknown world.dc key", '{\n "board": { "dc": {} },\n "world": {\n  "dc": {\n   "maxVoltage": 5\n  }\n }\n}', 5, /world\.dc\.maxVoltage: unknown key; allowed: rampVPerS/],
  ["insulation action on an AC board", '{\n "events": [\n  { "at": "1s", "do": "insulation", "ohms": 1000 }\n ]\n}', 3, /events\[0\]: this board has no DC power module/],
  ["insulation action bad ohms", '{\n "board": { "dc": {} },\n "events": [\n  { "at": "1s", "do": "insulation",\n    "ohms": 0 }\n ]\n}', 5, /events\[0\]\.ohms: must be a positive number/],
  ["dcFault unknown", '{\n "board": { "dc": {} },\n "events": [\n  { "at": "1s", "do": "dcFault",\n    "fault": "melted" }\n ]\n}', 5, /events\[0\]\.fault: must be none, overTemperature, shortCircuit/],
  ["dcFault missing", '{\n "board": { "dc": {} },\n "events": [\n  { "at": "1s", "do": "dcFault" }\n ]\n}', 4, /events\[0\]: "dcFault" needs "fault"/],
];
for (const [name, text, line, reason] of bad) {
  test(`a bad DC scenario names its line and the reason: ${name}`, (t) => {
    const e = t.throws(() => parseScenario(text, "s.json"), { instanceOf: ScenarioError });
    t.is(e!.line, line, e!.message);
    t.regex(e!.message, reason);
  });
}

test("a run on a DC board: the devices exist, the actions reach the world (insulation, module fault traced)", async (t) => {
  const s = parseScenario(`{
    "duration": "20s",
    "board": { "dc": { "maxVoltage": 500, "minVoltage": 150, "maxCurrent": 100, "minCurrent": 0, "maxPower": 40000 } },
    "config": { "freeCharging": true },
    "events": [
      { "at": "5s", "do": "insulation", "ohms": 30000 },
      { "at": "6s", "do": "dcFault", "fault": "shortCircuit" }
    ]
  }`);
  const sim = await Simulation.create({ scenario: s });
  let io: string[] = [];
  try {
    const result = await sim.run((hal, config) => {
      io = Object.keys(hal.io);
      return start(hal, config);
    });
    t.deepEqual(result.problems, []);
  } finally {
    await sim.close();
  }
  t.true(io.includes("DcPowerModule") && io.includes("IsolationMonitor"), io.join(", "));
  t.is(sim.world.dc!.imd.insulationOhms, 30000);
  t.is(sim.world.dc!.module.fault, 2);
  t.true(sim.trace.events.some((e) => e.kind === "dc" && e["fault"] === 2));
});
