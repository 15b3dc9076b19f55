/**
 * The EV's state of charge (Session.setEvSoc, fed by ISO 15118 / DIN 70121 DC_EVStatus.EVRESSSOC) in OCPP 1.6:
 * the "SoC" measurand in the *Data keys, MeterValues, StopTransaction.transactionData, TriggerMessage and the
 * transaction journal, against the strict embedded CSMS in virtual time. The session is called directly here (the
 * ISO 15118 path is tested end to end elsewhere).
 */
import test, { type ExecutionContext } from "ava";
import type { Hal } from "../../hal/index.js";
import { start } from "../../firmware/main.js";
import { pack, unpack } from "../../firmware/ocpp/transactions/compact.js";
import { JournalTxStore } from "../../firmware/ocpp/transactions/journal-store.js";
import { MEASURANDS, sampledValues, socSampledValue, type MeterSources } from "../../firmware/ocpp/transactions/meter-values.js";
import { Journal } from "../../firmware/storage/journal.js";
import { Session } from "../../firmware/session/session.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";
import { SimStorage } from "../../simulator/storage/index.js";
import { callsIn } from "./transactions-support.js";

type Sv = Record<string, string | undefined>;
type Mv = { timestamp: string; sampledValue: Sv[] };

const T0 = Date.parse("2026-01-15T08:00:00Z");
const FAST = { controlPeriodMs: 50, statusIntervalMs: 600_000 };

interface SocRun {
  sim: Simulation;
  /** Session.evSoc as seen at the probe times (probe(at)). */
  probes: Map<number, number | null>;
  answers(action: string): Array<Record<string, unknown>>;
}

/**
 * Runs a scenario with the firmware of firmware/main.ts; `soc` calls session.setEvSoc(value) at virtual times (ms),
 * `probe` records session.evSoc at virtual times. The Session main.ts makes is captured while start() runs (it is
 * not on the FirmwareHandle): the first Session that registers a listener.
 */
async function runSoc(
  t: ExecutionContext,
  json: Record<string, unknown>,
  soc: Array<[number, unknown]>,
  probe: number[] = [],
  setup?: (sim: Simulation) => void,
): Promise<SocRun> {
  const scenario = parseScenario(JSON.stringify({ seed: 11, duration: "3min", ...json, config: { ...FAST, ...((json["config"] as object) ?? {}) } }));
  const sim = await Simulation.create({ scenario });
  setup?.(sim);
  let session: Session | null = null;
  const probes = new Map<number, number | null>();
  for (const [at, v] of soc) sim.scheduler.at(at, () => session!.setEvSoc(v as number | null));
  for (const at of probe) sim.scheduler.at(at, () => probes.set(at, session!.evSoc));
  const boot = (hal: Hal, config: Record<string, unknown>) => {
    const listen = Session.prototype.listen;
    let captured: Session | null = null;
    Session.prototype.listen = function (this: Session, l) {
      captured ??= this;
      listen.call(this, l);
    };
    try {
      return start(hal, config);
    } finally {
      Session.prototype.listen = listen;
      session = captured;
    }
  };
  try {
    const result = await sim.run(boot);
    t.deepEqual(sim.csms!.validationFailures, [], "strict validation both ways");
    t.deepEqual(result.firmwareErrors, []);
  } finally {
    await sim.close();
  }
  const trace = sim.trace.events;
  return {
    sim,
    probes,
    answers: (action) => trace.filter((e) => e.kind === "csms" && e["action"] === action).map((e) => (e["result"] ?? { error: e["error"] }) as Record<string, unknown>),
  };
}

const change = (at: string, key: string, value: string) => ({ at, do: "csms", action: "ChangeConfiguration", payload: { key, value } });
const socOf = (svs: Sv[]) => svs.filter((s) => s["measurand"] === "SoC");
/** MeterValues the charge point sent: wall time relative to T0 and their first meterValue. */
const meterValues = (sim: Simulation) =>
  callsIn(sim, "MeterValues").map((c) => ({ at: c.t - T0, payload: c.payload, mv: (c.payload["meterValue"] as Mv[])[0]! }));

test("SoC in MeterValuesSampledData and StopTxnSampledData: reported while known (integer, Percent, EV), left out while not", async (t) => {
  const run = await runSoc(
    t,
    {
      duration: "150s",
      events: [
        change("1s", "MeterValuesSampledData", "Energy.Active.Import.Register,SoC"),
        change("1200ms", "MeterValueSampleInterval", "10"),
        change("1400ms", "StopTxnSampledData", "SoC,Energy.Active.Import.Register"),
        { at: "2s", do: "plug" },
        { at: "4s", do: "swipe", idTag: "SOC-1" },
        { at: "90s", do: "unplug" },
      ],
    },
    [
      [30_500, 41.7],
      [50_500, Number.NaN],
      [51_000, -1],
      [51_500, 101],
      [52_000, "50"],
      [52_500, Infinity],
      [60_500, 57],
      [95_000, 80], // unplugged: ignored
    ],
    [89_000, 91_000, 96_000],
  );
  t.deepEqual(run.answers("ChangeConfiguration"), Array(3).fill({ status: "Accepted" }));
  const mv = meterValues(run.sim).filter((m) => m.payload["transactionId"] === 1);
  t.true(mv.length >= 7, `${mv.length} MeterValues`);
  for (const m of mv) {
    const soc = socOf(m.mv.sampledValue);
    t.is(m.mv.sampledValue[0]!["measurand"], "Energy.Active.Import.Register", "the energy value is always there");
    if (m.at < 30_500) t.deepEqual(soc, [], `no SoC known yet at ${m.at}: left out, not a made-up 0`);
    else if (m.at < 60_500) t.deepEqual(soc, [{ value: "41", context: "Sample.Periodic", measurand: "SoC", location: "EV", unit: "Percent" }], `at ${m.at}: invalid values ignored`);
    else t.deepEqual(soc, [{ value: "57", context: "Sample.Periodic", measurand: "SoC", location: "EV", unit: "Percent" }], `at ${m.at}`);
  }
  t.true(mv.some((m) => m.at < 30_500) && mv.some((m) => m.at > 30_500 && m.at < 60_500) && mv.some((m) => m.at > 60_500));
  // The StopTransaction: Transaction.Begin without SoC (unknown at the start), Transaction.End with the last one.
  const stop = callsIn(run.sim, "StopTransaction")[0]!;
  t.is(stop.payload["reason"], "EVDisconnected");
  const data = stop.payload["transactionData"] as Mv[];
  t.deepEqual(data.map((d) => d.sampledValue[0]!["context"]), ["Transaction.Begin", "Transaction.End"]);
  t.deepEqual(socOf(data[0]!.sampledValue), []);
  t.deepEqual(data[0]!.sampledValue.map((s) => s["measurand"]), ["Energy.Active.Import.Register"]);
  t.deepEqual(socOf(data[1]!.sampledValue), [{ value: "57", context: "Transaction.End", measurand: "SoC", location: "EV", unit: "Percent" }]);
  // Cleared at the unplug; a SoC while nothing is plugged in is ignored.
  t.is(run.probes.get(89_000), 57);
  t.is(run.probes.get(91_000), null);
  t.is(run.probes.get(96_000), null);
});

test("SoC is cleared when the session ends with the EV still plugged in, and a new car's transaction never shows the old SoC", async (t) => {
  const run = await runSoc(
    t,
    {
      duration: "200s",
      config: { meterValueSampleIntervalS: 10 },
      events: [
        change("1s", "MeterValuesSampledData", "SoC,Energy.Active.Import.Register"),
        change("1200ms", "StopTxnSampledData", "SoC"),
        { at: "2s", do: "plug" },
        { at: "4s", do: "swipe", idTag: "SOC-2" },
        { at: "50s", do: "swipe", idTag: "SOC-2" },
        { at: "70s", do: "unplug" },
        { at: "80s", do: "plug" },
        { at: "82s", do: "swipe", idTag: "SOC-3" },
        { at: "150s", do: "unplug" },
      ],
    },
    [[20_000, 64]],
    [49_000, 55_000, 100_000],
  );
  t.is(run.probes.get(49_000), 64);
  t.is(run.probes.get(55_000), null, "cleared when the transaction ended (Local stop), the cable still in");
  t.is(run.probes.get(100_000), null);
  const stops = callsIn(run.sim, "StopTransaction");
  t.is(stops.length, 2);
  t.is(stops[0]!.payload["reason"], "Local");
  // StopTxnSampledData = SoC only: the first transaction ends with its SoC, the second (never one) has no End values.
  t.deepEqual((stops[0]!.payload["transactionData"] as Mv[]).map((d) => d.sampledValue), [[{ value: "64", context: "Transaction.End", measurand: "SoC", location: "EV", unit: "Percent" }]]);
  t.is(stops[1]!.payload["transactionData"], undefined, "nothing to report: no empty sampledValue");
  const second = meterValues(run.sim).filter((m) => m.payload["transactionId"] === 2);
  t.true(second.length >= 5);
  for (const m of second) t.deepEqual(socOf(m.mv.sampledValue), [], "the second car's values never carry the first car's SoC");
});

test("SoC in MeterValuesAlignedData: with it only and none known no MeterValues at all (never an empty sampledValue); in the transaction it is sent", async (t) => {
  const run = await runSoc(
    t,
    {
      duration: "5min",
      rtc: "2026-01-15T08:00:07Z",
      config: { meterValueSampleIntervalS: 0 },
      events: [
        change("1s", "MeterValuesAlignedData", "SoC"),
        change("1200ms", "StopTxnAlignedData", "SoC"),
        change("1400ms", "ClockAlignedDataInterval", "30"),
        { at: "70s", do: "plug" },
        { at: "72s", do: "swipe", idTag: "SOC-4" },
        { at: "200s", do: "unplug" },
      ],
    },
    [[130_000, 72.9]],
  );
  t.deepEqual(run.answers("ChangeConfiguration"), Array(3).fill({ status: "Accepted" }));
  const mv = meterValues(run.sim);
  t.true(mv.length >= 2, `${mv.length}`);
  for (const m of mv) {
    t.true(m.at > 130_000, `sent at ${m.at}: only once a SoC was known`);
    t.deepEqual(m.mv.sampledValue, [{ value: "72", context: "Sample.Clock", measurand: "SoC", location: "EV", unit: "Percent" }]);
    t.is(m.payload["transactionId"], 1);
    t.is(Date.parse(m.mv.timestamp) % 30_000, 0);
  }
  const data = callsIn(run.sim, "StopTransaction")[0]!.payload["transactionData"] as Mv[];
  t.true(data.length >= 2);
  for (const d of data) t.deepEqual(d.sampledValue, [{ value: "72", context: "Sample.Clock", measurand: "SoC", location: "EV", unit: "Percent" }]);
});

test("TriggerMessage MeterValues: the connector's values carry the SoC when known; connector 0 and an unknown SoC do not", async (t) => {
  const trig = (at: string, connectorId?: number) => ({ at, do: "csms", action: "TriggerMessage", payload: connectorId === undefined ? { requestedMessage: "MeterValues" } : { requestedMessage: "MeterValues", connectorId } });
  const run = await runSoc(
    t,
    { duration: "60s", config: { meterValueSampleIntervalS: 0 }, events: [{ at: "2s", do: "plug" }, { at: "3s", do: "swipe", idTag: "SOC-5" }, trig("10s", 1), trig("30s", 1), trig("31s", 0), trig("32s")] },
    [[20_000, 35]],
  );
  t.deepEqual(run.answers("TriggerMessage"), Array(4).fill({ status: "Accepted" }));
  const mv = meterValues(run.sim);
  const at = (ms: number) => mv.filter((m) => m.at >= ms && m.at < ms + 1000);
  t.deepEqual(socOf(at(10_000)[0]!.mv.sampledValue), [], "unknown: left out");
  t.deepEqual(socOf(at(30_000)[0]!.mv.sampledValue), [{ value: "35", context: "Trigger", measurand: "SoC", location: "EV", unit: "Percent" }]);
  t.is(at(30_000)[0]!.payload["transactionId"], 1);
  t.deepEqual(socOf(at(31_000)[0]!.mv.sampledValue), [], "connector 0 is the main meter: no EV");
  t.deepEqual(socOf(at(32_000)[0]!.mv.sampledValue).map((s) => s["value"]), ["35"]);
});

test("ChangeConfiguration: SoC is accepted in the four *Data keys, unknown measurands are still Rejected, MaxLength counts it", async (t) => {
  const keys = ["MeterValuesSampledData", "MeterValuesAlignedData", "StopTxnSampledData", "StopTxnAlignedData"];
  const run = await runSoc(
    t,
    {
      duration: "20s",
      events: [
        ...keys.map((k) => change("2s", k, "SoC")),
        change("3s", "MeterValuesSampledData", "SoC,Bogus"),
        change("3s", "MeterValuesSampledData", "soc"),
        change("4s", "MeterValuesSampledData", "Energy.Active.Import.Register,SoC,Current.Offered"),
        { at: "5s", do: "csms", action: "GetConfiguration", payload: { key: [...keys, "MeterValuesSampledDataMaxLength"] } },
      ],
    },
    [],
  );
  t.deepEqual(run.answers("ChangeConfiguration").map((a) => a["status"]), ["Accepted", "Accepted", "Accepted", "Accepted", "Rejected", "Rejected", "Accepted"]);
  const got = (run.answers("GetConfiguration")[0]!["configurationKey"] as Array<{ key: string; value: string }>).map((e) => [e.key, e.value]);
  t.deepEqual(got, [
    ["MeterValuesSampledData", "Energy.Active.Import.Register,SoC,Current.Offered"],
    ["MeterValuesAlignedData", "SoC"],
    ["StopTxnSampledData", "SoC"],
    ["StopTxnAlignedData", "SoC"],
    ["MeterValuesSampledDataMaxLength", String(MEASURANDS.length)],
  ]);
  t.true((MEASURANDS as readonly string[]).includes("SoC"));
});

test("journal: MeterValues with SoC taken offline survive a power cut in the journal and reach the CSMS unchanged", async (t) => {
  const run = await runSoc(
    t,
    {
      duration: "4min",
      config: { meterValueSampleIntervalS: 10 },
      events: [
        change("1s", "MeterValuesSampledData", "Energy.Active.Import.Register,SoC"),
        { at: "2s", do: "plug" },
        { at: "4s", do: "swipe", idTag: "SOC-6" },
        { at: "20s", do: "network", fault: "blackhole" },
        { at: "60s", do: "powerCut", offMs: 5000 },
        { at: "200s", do: "unplug" },
      ],
    },
    [[10_000, 88]],
  );
  const mv = meterValues(run.sim).filter((m) => m.payload["transactionId"] === 1);
  // Taken between the SoC and the cut (offline from 20 s), delivered by the next boot (65 s), from the journal.
  const journaled = mv.filter((m) => Date.parse(m.mv.timestamp) - T0 > 20_000 && Date.parse(m.mv.timestamp) - T0 < 60_000);
  t.true(journaled.length >= 3, `${journaled.length} journaled MeterValues`);
  for (const m of journaled) {
    t.true(m.at >= 65_000, "delivered after the power cut: read back from the journal");
    t.deepEqual(socOf(m.mv.sampledValue), [{ value: "88", context: "Sample.Periodic", measurand: "SoC", location: "EV", unit: "Percent" }]);
  }
  const after = callsIn(run.sim, "StopTransaction");
  t.is(after.length, 1);
  t.is(after[0]!.payload["reason"], "PowerLoss");
});

test("compact + JournalTxStore: a MeterValues and a StopTransaction with SoC round-trip through the flash journal (dictionary codes)", (t) => {
  const sv = { value: "57", context: "Sample.Periodic", measurand: "SoC", location: "EV", unit: "Percent" };
  const mv = { connectorId: 1, transactionId: 3, meterValue: [{ timestamp: "2026-01-15T08:00:10.000Z", sampledValue: [{ value: "12", context: "Sample.Periodic", measurand: "Energy.Active.Import.Register", unit: "Wh" }, sv] }] };
  // The words are dictionary entries: each packs to two characters.
  const packed = pack(sv) as Record<string, string>;
  for (const [k, v] of Object.entries(packed)) {
    t.is(k.length, 2);
    if (k !== pack("value")) t.is(v.length, 2, `${unpack(k) as string}: ${v}`);
  }
  t.deepEqual(unpack(pack(mv)), mv);
  const stop = { meterStop: 40, reason: "Local", timestamp: "2026-01-15T08:01:00.000Z", transactionData: [{ timestamp: "2026-01-15T08:01:00.000Z", sampledValue: [{ ...sv, context: "Transaction.End" }] }] };
  const storage = new SimStorage({ partitions: { journal: { size: 8 * 4096, blockLength: 4096 } }, seed: 7 });
  const store = new JournalTxStore(Journal.open(storage.storage.flash.open({ path: "journal" })));
  store.append({ action: "MeterValues", session: 3, payload: mv, droppable: true, attempts: 0 });
  store.append({ action: "StopTransaction", session: 3, payload: stop, droppable: false, attempts: 0 });
  storage.reboot();
  const reopened = new JournalTxStore(Journal.open(storage.storage.flash.open({ path: "journal" })));
  t.is(reopened.invalid, 0);
  t.deepEqual(reopened.all().map((m) => [m.action, m.session, m.payload]), [
    ["MeterValues", 3, mv],
    ["StopTransaction", 3, stop],
  ]);
});

test("sampledValues / socSampledValue: integer rounded down, 0 and 100 kept, nothing for null or invalid values", (t) => {
  let soc: number | null = null;
  const src: MeterSources = {
    reading: { energyImport: 1000, power: [0, 0, 0], current: [0, 0, 0], voltage: [230, 230, 230], frequency: 50 } as unknown as MeterSources["reading"],
    phases: 1,
    temperature: () => NaN,
    offered: () => 16,
    soc: () => soc,
  };
  t.deepEqual(sampledValues(["SoC"], "Sample.Periodic", src), []);
  for (const [v, s] of [[0, "0"], [0.9, "0"], [99.99, "99"], [100, "100"], [42, "42"]] as const) {
    soc = v;
    t.deepEqual(sampledValues(["SoC"], "Sample.Clock", src), [{ value: s, context: "Sample.Clock", measurand: "SoC", location: "EV", unit: "Percent" }]);
  }
  for (const bad of [NaN, -1, 101, Infinity, -Infinity, "50" as unknown as number, undefined, null]) t.is(socSampledValue(bad, "Trigger"), null, String(bad));
  // A source without soc() (another caller of sampledValues): SoC is simply left out.
  const { soc: _omit, ...old } = src;
  t.deepEqual(sampledValues(["SoC", "Current.Offered"], "Sample.Periodic", old).map((x) => x["measurand"]), ["Current.Offered"]);
});
