/**
 * A plain scenario file with an HLC car runs a whole ISO 15118 session end to end: the simulation binds a
 * ScriptedEvcc to the plugged EV model (no evccHook), the firmware's SECC answers, the car's S2 / limit / DC
 * contactors follow the session and its battery charges to targetSoc. Plus the `ev.hlc` scenario forms.
 */
import test from "ava";
import { start } from "../../firmware/main.js";
import { hlcOf, parseScenario, ScenarioError } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import type { EvModel } from "../../simulator/models/ev.js";

const PLC = `"plcModem": { "chip": "qca7000", "spi": { "hz": 8000000, "mode": 3, "select": 2 }, "irq": 12 }`;

async function run(text: string) {
  const sim = await Simulation.create({ scenario: parseScenario(text) });
  let car: EvModel | null = null;
  sim.scheduler.at(2_001, () => {
    car = sim.world.ev;
  });
  try {
    const result = await sim.run((hal, config) => start(hal, config));
    return { sim, result, car: car as EvModel | null, trace: sim.trace.events, evcc: sim.scriptedEvcc! };
  } finally {
    await sim.close();
  }
}

test("ISO-2 AC from a scenario file: the car's EVCC charges it to targetSoc; C after PowerDelivery Start, the contactor closes in C, B at the end", async (t) => {
  const r = await run(`{
    "name": "hlc-ac", "seed": 5, "duration": "60s", "board": { ${PLC} },
    "config": { "hlcEnabled": true, "freeCharging": true },
    "ev": { "hlc": true, "batteryKWh": 1, "initialSoc": 50, "targetSoc": 55, "maxCurrent": 16 },
    "events": [{ "at": "2s", "do": "plug" }, { "at": "50s", "do": "unplug" }]
  }`);
  t.deepEqual(r.result.problems, []);
  t.deepEqual(r.evcc.failures, []);
  t.true(r.evcc.done);
  t.is(r.evcc.stopReason, "full");
  t.true(r.car!.soc >= 55 && r.car!.soc < 55.1, `SoC ${r.car!.soc}`);
  // The energy the meter saw is what the car drew (50 Wh stored at η 0.9).
  t.true(r.result.energyWh > 50 / 0.9 - 1 && r.result.energyWh < 50 / 0.9 + 2, `${r.result.energyWh} Wh`);
  const ev = (e: string) => r.trace.filter((x) => x.kind === "evcc" && x["event"] === e);
  const s2 = ev("s2");
  t.deepEqual(s2.map((x) => x["closed"]), [true, false]);
  const closeAt = r.trace.find((x) => x.kind === "contactor" && x["closed"] === true)!.t;
  const openAt = r.trace.find((x) => x.kind === "contactor" && x["closed"] === false)!.t;
  t.true(closeAt >= s2[0]!.t, "the contactor closed with the car in C");
  t.true(openAt >= s2[1]!.t && openAt > ev("evcc-stop")[0]!.t);
  t.deepEqual(ev("hlc-limit").map((x) => x["amps"]), [16]);
  // 5 % all along.
  t.deepEqual([...new Set(r.trace.filter((x) => x.kind === "pwm" && x.t > 2_000 && x.t < 50_000).map((x) => x["duty"]))], [5]);
});

test("DIN 70121 DC from a scenario file (board.dc): C before the cable check, the car's contactors after pre-charge, charged to targetSoc, welding detection, B at the end", async (t) => {
  const r = await run(`{
    "name": "hlc-dc", "seed": 6, "duration": "120s", "board": { ${PLC}, "dc": {} },
    "config": { "hlcEnabled": true, "freeCharging": true },
    "ev": { "hlc": { "protocol": "din" }, "batteryKWh": 2, "initialSoc": 60, "targetSoc": 70 },
    "events": [{ "at": "2s", "do": "plug" }]
  }`);
  t.deepEqual(r.result.problems, []);
  t.deepEqual(r.evcc.failures, []);
  t.is(r.evcc.stopReason, "full");
  t.true(r.car!.soc >= 70 && r.car!.soc < 70.5, `SoC ${r.car!.soc}`);
  t.true(Math.abs(r.car!.dcEnergyWh - (r.car!.soc - 60) * 20) < 1e-6, "SoC rose by exactly the DC Wh / capacity");
  const ev = (e: string) => r.trace.filter((x) => x.kind === "evcc" && x["event"] === e);
  const c = ev("s2")[0]!;
  const imd = r.trace.find((x) => x.kind === "imd" && x["start"] !== undefined)!;
  t.true(c["closed"] === true && c.t <= imd.t, "state C before the insulation test");
  const dcOn = ev("dc-contactor")[0]!;
  t.true(dcOn["closed"] === true && dcOn.t > imd.t);
  t.deepEqual(ev("dc-contactor").map((x) => x["closed"]), [true, false]);
  t.true(r.evcc.weldingRequests >= 1);
  t.is(r.car!.state(), "B");
  t.false(r.car!.dcContactorClosed);
});

test("ev.hlc forms: true, { protocol, kind?, current?, loops?, pause? }; bad values are line-numbered errors", (t) => {
  const sc = (ev: string, board = `{ ${PLC} }`) => `{\n  "name": "x",\n  "board": ${board},\n  "ev": { "hlc": ${ev} },\n  "events": []\n}`;
  const bad = (ev: string, re: RegExp, board?: string) => {
    const e = t.throws(() => parseScenario(sc(ev, board)), { instanceOf: ScenarioError, message: re });
    t.is(e?.line, 4, e?.message);
  };
  bad(`{ "protocol": "din", "kind": "ac" }`, /ev\.hlc\.kind: DIN 70121 is DC only/);
  bad(`{ "protocol": "iso15118-20" }`, /ev\.hlc\.protocol/);
  bad(`{ "kind": "ac" }`, /ev\.hlc\.protocol/);
  bad(`{ "protocol": "iso2", "speed": 1 }`, /ev\.hlc\.speed: unknown key/);
  bad(`{ "protocol": "iso2", "loops": 0 }`, /ev\.hlc\.loops/);
  bad(`{ "protocol": "iso2", "current": -3 }`, /ev\.hlc\.current/);
  bad(`{ "protocol": "din", "pause": true }`, /ev\.hlc\.pause: DIN 70121 has no pause/, `{ ${PLC}, "dc": {} }`);
  bad(`{ "protocol": "din" }`, /ev\.hlc\.protocol: a DC session needs board\.dc/);
  bad(`{ "protocol": "iso2", "kind": "dc" }`, /ev\.hlc\.kind: a DC session needs board\.dc/);
  bad(`"yes"`, /ev\.hlc: must be true, false or/);
  t.throws(() => parseScenario(`{ "name": "x", "ev": { "hlc": { "protocol": "iso2" } }, "events": [] }`), { message: /ev\.hlc: needs board\.plcModem/ });
  t.throws(() => parseScenario(`{ "name": "x", "board": { ${PLC} }, "events": [{ "at": 1, "do": "plug", "ev": { "hlc": { "protocol": "din" } } }] }`), { message: /events\[0\]\.ev\.hlc\.protocol/ });
  const ok = parseScenario(sc(`{ "protocol": "iso2", "current": 10, "loops": 40, "pause": true }`));
  t.deepEqual(hlcOf(ok.ev, ok.board), { protocol: "iso2", kind: "ac", current: 10, loops: 40, pause: true });
  const dc = parseScenario(sc(`true`, `{ ${PLC}, "dc": {} }`));
  t.deepEqual(hlcOf(dc.ev, dc.board), { protocol: "iso2", kind: "dc" });
  const din = parseScenario(sc(`{ "protocol": "din" }`, `{ ${PLC}, "dc": {} }`));
  t.deepEqual(hlcOf(din.ev, din.board), { protocol: "din", kind: "dc" });
  t.is(hlcOf(parseScenario(sc("false")).ev, ok.board), null);
});
