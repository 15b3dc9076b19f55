/**
 * Transaction timestamps never come from an unsynchronised clock without correction: with the RTC lost and the
 * CSMS unreachable, StartTransaction / MeterValues / StopTransaction (and its transactionData) are held until the
 * BootNotification sets the clock, then every time is rewritten from the monotonic time of its reading.
 * In the simulation with `"rtc": null` the true wall time is the virtual time itself (sim.trueWallTime() =
 * 0 + scheduler.now), so the time of a reading taken at virtual t must come out as t.
 */
import test from "ava";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import type { SimNetwork } from "../../simulator/net/index.js";
import { Simulation } from "../../simulator/simulation.js";
import { presetKeys } from "./auth-support.js";
import { callsIn, checkTransactions } from "./transactions-support.js";

/** When the CSMS becomes reachable (the scenarios' "restore" event). */
const RESTORE_AT = 180_000;
const TX_ACTIONS = ["StartTransaction", "MeterValues", "StopTransaction"];

async function run(events: Array<Record<string, unknown>>, duration = "10min") {
  const sim = await Simulation.create({
    scenario: parseScenario(
      JSON.stringify({
        name: "unsynced clock",
        seed: 21,
        duration,
        rtc: null,
        config: { freeCharging: true, meterValueSampleIntervalS: 10, reconnectMinMs: 1000, reconnectMaxMs: 4000 },
        events,
      }),
    ),
    // The CSMS is unreachable (connections refused) from the first instant of every boot until RESTORE_AT: a
    // scenario event at 0 s would come after the first connection, and the Wi-Fi uplink sets the faults itself.
    decorateNetwork: (net) => {
      const faults = net.faults;
      const until = () => sim.scheduler.now < RESTORE_AT;
      const wrapped: SimNetwork["faults"] = {
        blackhole: (on: boolean) => faults.blackhole(on),
        dropAll: () => faults.dropAll(),
        refuse: (on: boolean) => faults.refuse(on || until()),
        get blackholed() {
          return faults.blackholed;
        },
        get refusing() {
          return faults.refusing;
        },
      };
      faults.refuse(true);
      const out = Object.create(net) as SimNetwork;
      Object.defineProperty(out, "faults", { value: wrapped });
      return out;
    },
  });
  presetKeys(sim, { StopTxnSampledData: "Energy.Active.Import.Register" });
  try {
    const result = await sim.run((hal, cfg) => start(hal, cfg));
    return { sim, result };
  } finally {
    await sim.close();
  }
}

/** Every timestamp a payload carries, with where it is. */
function stamps(payload: Record<string, unknown>): Array<{ where: string; ms: number }> {
  const out: Array<{ where: string; ms: number }> = [];
  if (typeof payload["timestamp"] === "string") out.push({ where: "timestamp", ms: Date.parse(payload["timestamp"] as string) });
  for (const k of ["meterValue", "transactionData"]) {
    const list = payload[k];
    if (Array.isArray(list)) for (const [i, mv] of list.entries()) out.push({ where: `${k}[${i}]`, ms: Date.parse((mv as { timestamp: string }).timestamp) });
  }
  return out;
}

test("RTC lost, CSMS unreachable: transaction times are held until the clock is set, then corrected from the monotonic clock", async (t) => {
  const { sim, result } = await run([
    { at: "5s", do: "plug" },
    { at: "95s", do: "unplug" },
    { at: "3min", do: "network", fault: "restore" },
    { at: "5min", do: "plug" },
    { at: "6min", do: "unplug" },
  ]);
  t.deepEqual(sim.csms!.validationFailures, []);
  t.deepEqual(result.firmwareErrors, []);
  t.deepEqual(checkTransactions(sim).problems, []);
  const boot = callsIn(sim, "BootNotification");
  t.true(boot.length >= 1 && boot[0]!.t >= 180_000, "no BootNotification while the CSMS was unreachable");
  const tx = callsIn(sim).filter((c) => TX_ACTIONS.includes(c.action));
  for (const c of tx) t.true(c.t >= boot[0]!.t, `${c.action} at ${c.t} sent before the clock was set`);

  const sessions = sim.trace.events.filter((e) => e.kind === "session");
  const started = sessions.filter((e) => e["event"] === "started").map((e) => e.t);
  const ended = sessions.filter((e) => e["event"] === "ended").map((e) => e.t);
  t.is(started.length, 2);
  t.is(ended.length, 2);

  const starts = callsIn(sim, "StartTransaction");
  const stops = callsIn(sim, "StopTransaction");
  t.is(starts.length, 2);
  t.is(stops.length, 2);
  const near = (ms: number, want: number, what: string) => t.true(Math.abs(ms - want) <= 5, `${what}: ${new Date(ms).toISOString()} vs true ${new Date(want).toISOString()}`);
  for (let i = 0; i < 2; i++) {
    near(stamps(starts[i]!.payload)[0]!.ms, started[i]!, `StartTransaction ${i}`);
    const st = stamps(stops[i]!.payload);
    near(st[0]!.ms, ended[i]!, `StopTransaction ${i}`);
    // transactionData: the Transaction.Begin reading at the start, the Transaction.End one at the stop
    t.is(st.length, 3);
    near(st[1]!.ms, started[i]!, `transactionData begin ${i}`);
    near(st[2]!.ms, ended[i]!, `transactionData end ${i}`);
  }
  // Periodic samples: every 10 s from each start while it runs; each one's time is its true time.
  const mvs = callsIn(sim, "MeterValues").filter((c) => c.payload["transactionId"] !== undefined);
  let first = 0;
  for (const c of mvs) {
    const ms = stamps(c.payload)[0]!.ms;
    const i = ms < started[1]! ? 0 : 1;
    const k = Math.round((ms - started[i]!) / 10_000);
    t.true(k >= 1 && started[i]! + k * 10_000 < ended[i]!, `sample at ${ms} within session ${i}`);
    near(ms, started[i]! + k * 10_000, `MeterValues ${k} of session ${i}`);
    if (i === 0) first++;
  }
  t.is(first, 8, "the first session's 8 samples (15 s .. 85 s) delivered with corrected times");
  t.true(mvs.length > first, "the second session's samples too");
  t.is(sim.trace.events.filter((e) => e.kind === "tx-time-unsynced").length, 0);
});

test("a previous boot's unsynchronised times cannot be corrected: they keep the RTC time, logged; this boot's are corrected", async (t) => {
  const { sim, result } = await run([
    { at: "5s", do: "plug" },
    { at: "30s", do: "powerCut", offMs: 5000 },
    { at: "3min", do: "network", fault: "restore" },
    { at: "5min", do: "unplug" },
  ]);
  t.deepEqual(sim.csms!.validationFailures, []);
  t.deepEqual(result.firmwareErrors, []);
  const boot = callsIn(sim, "BootNotification");
  t.true(boot.length >= 1 && boot[0]!.t >= 180_000);
  const tx = callsIn(sim).filter((c) => TX_ACTIONS.includes(c.action));
  for (const c of tx) t.true(c.t >= boot[0]!.t, `${c.action} at ${c.t} sent before the clock was set`);
  const kept = sim.trace.events.filter((e) => e.kind === "tx-time-unsynced");
  t.true(kept.some((e) => e["action"] === "StartTransaction"), "the previous boot's StartTransaction was reported");
  const starts = callsIn(sim, "StartTransaction");
  t.true(starts.length >= 1);
  // The RTC was lost: the previous boot's reading kept the (unsynchronised) RTC time, before the true time.
  t.true(Date.parse(starts[0]!.payload["timestamp"] as string) < 5_000);
  // The interrupted session's StopTransaction (PowerLoss) was made in this boot: its time is corrected.
  const stop = callsIn(sim, "StopTransaction").find((c) => c.payload["reason"] === "PowerLoss");
  t.truthy(stop, "the interrupted session was stopped");
  const bootAt = sim.trace.events.find((e) => e.kind === "transaction-recovered")?.t;
  t.truthy(bootAt);
  t.true(Math.abs(Date.parse(stop!.payload["timestamp"] as string) - bootAt!) <= 5, `PowerLoss stop time ${stop!.payload["timestamp"] as string} vs ${bootAt}`);
});
