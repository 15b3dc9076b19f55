/**
 * The charger behind ISO 15118 / DIN 70121 sessions, end to end with the firmware of firmware/main.ts in virtual
 * time: OCPP sees the HLC transaction and the EV's SoC; failures (insulation fault at the cable check, a power
 * module fault mid-charge, an unplug under load, a remote stop) end in the standard's way with a safe stop; and over
 * random event sequences the DC output never runs with the output contactor open, the interlock never acts and the
 * car never gets energy before its session asked for it.
 */
import test, { type ExecutionContext } from "ava";
import { start, type FirmwareHandle } from "../../firmware/main.js";
import type { EvModel } from "../../simulator/models/ev.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import type { TraceEvent } from "../../simulator/trace.js";
import { Rng } from "../../simulator/rng.js";
import { callsIn } from "../ocpp16/transactions-support.js";

const PLC = `"plcModem": { "chip": "qca7000", "spi": { "hz": 8000000, "mode": 3, "select": 2 }, "irq": 12 }`;

interface Run {
  sim: Simulation;
  result: Awaited<ReturnType<Simulation["run"]>>;
  trace: TraceEvent[];
  car: EvModel | null;
  handle: FirmwareHandle | null;
}

async function run(json: Record<string, unknown>, carAt = 2_001): Promise<Run> {
  const sim = await Simulation.create({ scenario: parseScenario(JSON.stringify(json)) });
  let car: EvModel | null = null;
  sim.scheduler.at(carAt, () => {
    car = sim.world.ev;
  });
  let handle: FirmwareHandle | null = null;
  try {
    const result = await sim.run((hal, config) => (handle = start(hal, config)));
    return { sim, result, trace: sim.trace.events, car, handle };
  } finally {
    await sim.close();
  }
}

/**
 * The DC output's safety over a trace: at the end of every virtual instant the power module is off unless the
 * output contactor is closed (the firmware turns it off in the tick the contactor opens). "" when it holds.
 */
function dcInvariant(trace: TraceEvent[]): string {
  let closed = false;
  let enabled = false;
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if (e.kind === "contactor" && e["index"] === 0) closed = e["closed"] === true;
    if (e.kind === "dc" && typeof e["enabled"] === "boolean") enabled = e["enabled"] as boolean;
    if (e.kind === "sim" && (e["event"] === "boot" || e["event"] === "power-off")) enabled = closed = false;
    const last = i === trace.length - 1 || trace[i + 1]!.t !== e.t;
    if (last && enabled && !closed) return `t=${e.t}: the power module runs with the output contactor open`;
  }
  return "";
}

const evccEvents = (r: Run, name: string) => r.trace.filter((e) => e.kind === "evcc" && e["event"] === name);
const hlcLog = (r: Run, name: string) => r.trace.filter((e) => e.kind === "hlc" && e["event"] === name);

test("DIN 70121 DC with OCPP: one transaction, MeterValues carry the EV's SoC, energy metered on the AC side; StopTransaction at the unplug", async (t) => {
  const r = await run({
    name: "din-ocpp", seed: 21, duration: "150s",
    board: { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 }, dc: {} },
    config: { hlcEnabled: true, freeCharging: true, statusIntervalMs: 600_000 },
    ev: { hlc: { protocol: "din" }, batteryKWh: 2, initialSoc: 60, targetSoc: 70 },
    events: [
      { at: "1s", do: "csms", action: "ChangeConfiguration", payload: { key: "MeterValuesSampledData", value: "Energy.Active.Import.Register,SoC" } },
      { at: "1s", do: "csms", action: "ChangeConfiguration", payload: { key: "MeterValueSampleInterval", value: "10" } },
      { at: "2s", do: "plug" },
      { at: "140s", do: "unplug" },
    ],
  });
  t.deepEqual(r.result.problems, []);
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(dcInvariant(r.trace), "");
  t.deepEqual(r.sim.scriptedEvcc!.failures, []);
  t.is(r.sim.scriptedEvcc!.stopReason, "full");
  t.is(callsIn(r.sim, "StartTransaction").length, 1);
  const stops = callsIn(r.sim, "StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "EVDisconnected");
  const socs: number[] = [];
  for (const mv of callsIn(r.sim, "MeterValues")) {
    for (const v of (mv.payload["meterValue"] as { sampledValue: Record<string, string>[] }[])[0]!.sampledValue) {
      if (v["measurand"] === "SoC") {
        t.is(v["unit"], "Percent");
        t.is(v["location"], "EV");
        socs.push(Number(v["value"]));
      }
    }
  }
  t.true(socs.length >= 3, `SoC in ${socs.length} MeterValues`);
  t.true(socs[0]! >= 60 && socs[socs.length - 1]! <= 70);
  for (let i = 1; i < socs.length; i++) t.true(socs[i]! >= socs[i - 1]!, "SoC never goes backwards");
  // The AC meter counted the DC energy / η (the converter), within what the last 100 ms read may leave.
  const dcWh = r.car!.dcEnergyWh;
  const wh = Number(stops[0]!.payload["meterStop"]) - Number(callsIn(r.sim, "StartTransaction")[0]!.payload["meterStart"]);
  t.true(wh >= dcWh / 0.95 - 2 && wh <= dcWh / 0.95 + 2, `meter ${wh} Wh, DC ${dcWh} Wh`);
  // The EV's maximum became its claim; the session status reached the handle.
  t.true(r.trace.some((e) => e.kind === "limit" && e["source"] === "ev") || r.trace.some((e) => e.kind === "hlc" && e["event"] === "handshake"));
  t.is(hlcLog(r, "safe-stop").length, 0);
});

test("DC: an insulation fault at the cable check → CableCheckRes FAILED, safe stop, no energy reaches the car", async (t) => {
  const r = await run({
    name: "imd-fault", seed: 22, duration: "60s",
    board: { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 }, dc: {} },
    config: { hlcEnabled: true, freeCharging: true },
    ev: { hlc: { protocol: "din" }, batteryKWh: 2, initialSoc: 60, targetSoc: 70 },
    events: [{ at: "1s", do: "insulation", ohms: 20_000 }, { at: "2s", do: "plug" }],
  });
  t.deepEqual(r.result.problems, []);
  t.is(dcInvariant(r.trace), "");
  const evcc = r.sim.scriptedEvcc!;
  t.true(evcc.failures.some((f) => f.startsWith("CableCheckRes:FAILED")), evcc.failures.join());
  t.is(hlcLog(r, "safe-stop").length, 1);
  t.is(r.car!.dcEnergyWh, 0, "nothing flowed into the battery");
  t.false(r.car!.dcContactorClosed);
  const imd = r.trace.filter((e) => e.kind === "imd" && e["status"] !== undefined).map((e) => e["status"]);
  t.true(imd.length >= 1);
  // The output contactor is open at the end and the module off.
  const last = (kind: string, key: string) => [...r.trace].reverse().find((e) => e.kind === kind && e[key] !== undefined)?.[key];
  t.is(last("contactor", "closed"), false);
  t.is(last("dc", "enabled"), false);
});

test("DC: a power module fault mid-charge → CurrentDemandRes FAILED with EVSE_EmergencyShutdown, the module off in the same instant, safe stop", async (t) => {
  const r = await run({
    name: "module-fault", seed: 23, duration: "90s",
    board: { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 }, dc: {} },
    config: { hlcEnabled: true, freeCharging: true },
    ev: { hlc: { protocol: "din" }, batteryKWh: 20, initialSoc: 30, targetSoc: 90 },
    events: [{ at: "2s", do: "plug" }, { at: "40s", do: "dcFault", fault: "overTemperature" }],
  });
  t.deepEqual(r.result.problems, []);
  t.is(dcInvariant(r.trace), "");
  const evcc = r.sim.scriptedEvcc!;
  t.true(evcc.failures.some((f) => f.startsWith("CurrentDemandRes:FAILED")), evcc.failures.join());
  t.is(hlcLog(r, "safe-stop").length, 1);
  t.true(r.car!.dcEnergyWh > 0, "it charged before the fault");
  const fault = r.trace.find((e) => e.kind === "dc" && e["fault"] !== undefined && e["fault"] !== 0)!;
  const off = r.trace.find((e) => e.kind === "dc" && e["enabled"] === false && e.t >= fault.t)!;
  t.true(off.t - fault.t <= 100, `module off ${off.t - fault.t} ms after the fault (one sample)`);
});

test("DC: unplug under load → the output contactor opens and the module stops in the same tick; the session ends with a safe stop", async (t) => {
  const r = await run({
    name: "dc-unplug", seed: 24, duration: "60s",
    board: { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 }, dc: {} },
    config: { hlcEnabled: true, freeCharging: true },
    ev: { hlc: { protocol: "din" }, batteryKWh: 20, initialSoc: 30, targetSoc: 90 },
    events: [{ at: "2s", do: "plug" }, { at: "40s", do: "unplug" }],
  });
  t.deepEqual(r.result.problems, []);
  t.is(dcInvariant(r.trace), "");
  const open = r.trace.find((e) => e.kind === "contactor" && e["closed"] === false && e.t >= 40_000)!;
  const off = r.trace.find((e) => e.kind === "dc" && e["enabled"] === false && e.t >= 40_000)!;
  t.true(open.t - 40_000 <= 20, `open ${open.t - 40_000} ms after the unplug`);
  t.true(off.t <= open.t, "the module stops no later than the contactor opens (here: the session's end at the car's unplug)");
  t.true(r.car!.dcEnergyWh > 0);
});

test("ISO-2 AC: a remote stop → EVSENotification StopCharging, the car stops with PowerDelivery Stop, StopTransaction Remote", async (t) => {
  const r = await run({
    name: "ac-remote-stop", seed: 25, duration: "80s",
    board: { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 } },
    config: { hlcEnabled: true, freeCharging: true },
    ev: { hlc: true, batteryKWh: 60, initialSoc: 30, targetSoc: 90, maxCurrent: 16 },
    events: [{ at: "2s", do: "plug" }, { at: "40s", do: "remoteStop" }],
  });
  t.deepEqual(r.result.problems, []);
  t.deepEqual(r.sim.csms!.validationFailures, []);
  const evcc = r.sim.scriptedEvcc!;
  t.is(evcc.stopReason, "evse-stop", "the car stopped on the charger's notification, not on the pilot");
  t.deepEqual(evcc.failures, []);
  const stops = callsIn(r.sim, "StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "Remote");
  const open = r.trace.find((e) => e.kind === "contactor" && e["closed"] === false && e.t >= 40_000)!;
  t.true(open.t - 40_000 < 4_000, `open ${open.t - 40_000} ms after the remote stop`);
  t.true(r.car!.energyWh > 0);
});

test("ISO-2 AC: a lower site limit mid-charge → EVSEMaxCurrent follows at once, the car renegotiates, no overdraw", async (t) => {
  const r = await run({
    name: "ac-limit", seed: 26, duration: "80s",
    board: { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 } },
    config: { hlcEnabled: true, freeCharging: true, hlcRenegotiateDeltaA: 2 },
    ev: { hlc: true, batteryKWh: 60, initialSoc: 30, targetSoc: 90, maxCurrent: 16 },
    events: [{ at: "2s", do: "plug" }, { at: "30s", do: "limit", amps: 8 }],
  });
  t.deepEqual(r.result.problems, []);
  const evcc = r.sim.scriptedEvcc!;
  t.deepEqual(evcc.failures, []);
  t.true(evcc.renegotiations >= 1);
  t.is(evcc.negotiatedLimit, 8);
  const amps = r.trace.filter((e) => e.kind === "status" && e.t > 45_000).map((e) => Math.max(...(e["amps"] as number[])));
  t.true(amps.length > 0 && amps.every((a) => a <= 8.5), `drawn ${amps.join(",")}`);
  t.false(r.trace.some((e) => e.kind === "fault" && e["fault"] === "overdraw"));
});

/** Random HLC sessions with random disturbances: the safety invariants hold in every one. */
test("random HLC sessions with unplugs, insulation and module faults, remote stops, limits and power cuts keep the invariants (seeded)", async (t: ExecutionContext) => {
  const SEEDS = 10;
  for (let k = 0; k < SEEDS; k++) {
    const seed = 0x15118 + k * 31;
    const rng = new Rng(seed);
    const dc = rng.int(0, 1) === 1;
    const events: Record<string, unknown>[] = [{ at: 2_000, do: "plug" }];
    const n = rng.int(1, 4);
    for (let i = 0; i < n; i++) {
      const at = rng.int(3_000, 70_000);
      const kinds = dc ? ["unplug", "plug", "insulation", "dcFault", "remoteStop", "limit", "powerCut"] : ["unplug", "plug", "remoteStop", "limit", "powerCut"];
      const what = rng.pick(kinds);
      if (what === "insulation") events.push({ at, do: "insulation", ohms: rng.pick([20_000, 10_000_000]) });
      else if (what === "dcFault") events.push({ at, do: "dcFault", fault: rng.pick(["overTemperature", "none"]) });
      else if (what === "limit") events.push({ at, do: "limit", amps: rng.pick([0, 6, 10, 16]) });
      else if (what === "powerCut") events.push({ at, do: "powerCut", offMs: rng.int(100, 3000) });
      else events.push({ at, do: what });
    }
    events.sort((a, b) => (a["at"] as number) - (b["at"] as number));
    const json = {
      name: `hlc-random-${seed}`, seed, duration: "90s",
      board: dc ? { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 }, dc: {} } : { plcModem: { chip: "qca7000", spi: { hz: 8000000, mode: 3, select: 2 }, irq: 12 } },
      config: { hlcEnabled: true, freeCharging: true },
      ev: { hlc: dc ? { protocol: rng.pick(["din", "iso2"]) } : true, batteryKWh: 20, initialSoc: rng.int(10, 80), targetSoc: 95, maxCurrent: 16 },
      events,
    };
    const r = await run(json);
    const where = `seed ${seed}: ${JSON.stringify(events)}`;
    // remoteStop with no transaction (before the car started, or after a cut) is a scenario note, not a failure.
    const problems = r.result.problems.filter((p) => !/remoteStop at .*: no active transaction|the charge point is not connected/.test(p));
    t.deepEqual(problems, [], where);
    t.is(dcInvariant(r.trace), "", where);
    // Energy only when the session allowed it (PowerDelivery Start on AC, the cable check on DC), in this boot; or
    // basic charging after a SLAC fallback (AC only: a DC charger never charges without a session).
    let allowed = false;
    let fellBack = false;
    for (const e of r.trace) {
      if (e.kind === "sim" && e["event"] === "boot") allowed = fellBack = false;
      if (e.kind === "hlc" && e["event"] === "energy") allowed = e["on"] === true;
      if (e.kind === "hlc" && e["event"] === "fallback") fellBack = true;
      if (e.kind === "ev" && e["ev"] === "A") fellBack = false;
      if (e.kind === "contactor" && e["index"] === 0 && e["closed"] === true && !allowed) {
        t.true(fellBack && !dc, `${where}: contactor closed at ${e.t} without the session allowing energy`);
      }
    }
  }
});
