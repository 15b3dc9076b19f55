/** OCPP 1.6 transactions against the strict embedded CSMS: OCA cases of the transactions area, offline, meter values. */
import test from "ava";
import { callsIn, checkTransactions, simulate } from "./transactions-support.js";

const FAST = `"controlPeriodMs": 50, "statusIntervalMs": 600000`;

test("TC_003_CS Regular Charging Session - Plugin First", async (t) => {
  const sim = await simulate(`{ "name": "tc003", "seed": 3, "duration": "3min", "config": { ${FAST} },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "5s", "do": "swipe", "idTag": "TAG-1" }, { "at": "60s", "do": "swipe", "idTag": "TAG-1" }, { "at": "70s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    const seq = callsIn(sim).map((x) => (x.action === "StatusNotification" ? `S:${x.payload["status"]}` : x.action));
    const order = ["S:Preparing", "Authorize", "StartTransaction", "S:Charging", "StopTransaction", "S:Finishing"].map((a) => seq.indexOf(a));
    t.true(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), seq.join(" "));
    t.deepEqual(c.reasons, ["Local"]);
  } finally {
    await sim.close();
  }
});

test("TC_004_1_CS Regular Charging Session - Identification First", async (t) => {
  const sim = await simulate(`{ "name": "tc004", "seed": 4, "duration": "3min", "config": { ${FAST} },
    "events": [ { "at": "2s", "do": "swipe", "idTag": "TAG-2" }, { "at": "10s", "do": "plug" }, { "at": "70s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    const seq = callsIn(sim).map((x) => (x.action === "StatusNotification" ? `S:${x.payload["status"]}` : x.action));
    t.true(seq.indexOf("Authorize") < seq.indexOf("StartTransaction"));
    t.true(seq.indexOf("S:Preparing") < seq.indexOf("StartTransaction"));
    t.deepEqual(c.reasons, ["EVDisconnected"]);
  } finally {
    await sim.close();
  }
});

test("TC_032_2_CS Power failure - stop transaction(s) after going down: PowerLoss with the meter at boot", async (t) => {
  const sim = await simulate(`{ "name": "tc032", "seed": 32, "duration": "5min", "config": { ${FAST} },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-3" }, { "at": "90s", "do": "powerCut", "offMs": 5000 }, { "at": "200s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    t.is(c.transactions, 1);
    const tx = [...sim.csms!.transactions.values()][0]!;
    t.is(tx.stop!["reason"], "PowerLoss");
    t.true((tx.stop!["meterStop"] as number) > tx.meterStart);
    // Sent after the second BootNotification, stamped with the boot time (RTC kept), not the cut.
    const calls = callsIn(sim);
    const boots = calls.filter((x) => x.action === "BootNotification");
    const stop = calls.find((x) => x.action === "StopTransaction")!;
    t.is(boots.length, 2);
    t.true(calls.indexOf(stop) > calls.indexOf(boots[1]!), "after the second BootNotification");
    t.true(Date.parse(stop.payload["timestamp"] as string) >= Date.parse("2026-01-15T08:01:35Z"));
  } finally {
    await sim.close();
  }
});

test("TC_036_CS Connection Loss During Transaction: the CSMS goes away for an hour mid-session: charging continues, every message delivered in order", async (t) => {
  const sim = await simulate(`{ "name": "offline hour", "seed": 36, "duration": "3h", "config": { ${FAST}, "meterValueSampleIntervalS": 300 },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-4" },
                { "at": "10min", "do": "network", "fault": "blackhole" },
                { "at": "50min", "do": "unplug" }, { "at": "55min", "do": "plug" }, { "at": "56min", "do": "remoteStart", "idTag": "TAG-5" },
                { "at": "70min", "do": "network", "fault": "restore" },
                { "at": "100min", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    const calls = callsIn(sim);
    const mv = calls.filter((x) => x.action === "MeterValues");
    // Samples every 5 min while offline, delivered after the restore, in time order.
    const times = mv.map((x) => Date.parse(((x.payload["meterValue"] as Array<{ timestamp: string }>)[0]!).timestamp));
    t.true(mv.length >= 8, `${mv.length} MeterValues`);
    for (let i = 1; i < times.length; i++) t.true(times[i]! >= times[i - 1]!);
    const stop = calls.find((x) => x.action === "StopTransaction")!;
    t.true(stop.t >= 70 * 60_000 + Date.parse("2026-01-15T08:00:00Z"), "the stop was delivered after the restore");
    const stamped = Date.parse(stop.payload["timestamp"] as string) - Date.parse("2026-01-15T08:00:00Z");
    t.true(stamped >= 50 * 60_000 && stamped < 51 * 60_000, "stamped when the EV left, offline");
    t.deepEqual(c.reasons[0], "EVDisconnected");
  } finally {
    await sim.close();
  }
});

test("TC_039_CS Offline Transaction: started and stopped offline (free charging), queued, then delivered in order after the reconnection", async (t) => {
  const sim = await simulate(`{ "name": "offline tx", "seed": 38, "duration": "40min", "config": { ${FAST}, "freeCharging": true },
    "events": [ { "at": "30s", "do": "network", "fault": "blackhole" }, { "at": "60s", "do": "plug" }, { "at": "5min", "do": "unplug" },
                { "at": "10min", "do": "network", "fault": "restore" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    t.is(c.transactions, 1);
    const txCalls = callsIn(sim).filter((x) => ["StartTransaction", "MeterValues", "StopTransaction"].includes(x.action));
    t.is(txCalls[0]!.action, "StartTransaction");
    t.is(txCalls.at(-1)!.action, "StopTransaction");
    t.true(Date.parse(txCalls[0]!.payload["timestamp"] as string) < Date.parse("2026-01-15T08:02:00Z"), "start stamped when it happened, offline");
  } finally {
    await sim.close();
  }
});

test("TC_038_CS Offline Stop Transaction: started online, stopped offline, the StopTransaction delivered after the reconnection", async (t) => {
  const sim = await simulate(`{ "name": "tc038", "seed": 38, "duration": "20min", "config": { ${FAST} },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-38" },
                { "at": "60s", "do": "network", "fault": "blackhole" }, { "at": "3min", "do": "unplug" },
                { "at": "8min", "do": "network", "fault": "restore" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    t.is(c.transactions, 1);
    t.deepEqual(c.reasons, ["EVDisconnected"]);
    const start = callsIn(sim, "StartTransaction")[0]!;
    const stop = callsIn(sim, "StopTransaction")[0]!;
    const T0 = Date.parse("2026-01-15T08:00:00Z");
    t.true(start.t < T0 + 60_000, "the start went out online");
    t.true(stop.t >= T0 + 8 * 60_000, "the stop was delivered after the restore");
    const stamped = Date.parse(stop.payload["timestamp"] as string) - T0;
    t.true(stamped >= 180_000 && stamped < 181_000, `stamped when the EV left, offline (${stamped})`);
  } finally {
    await sim.close();
  }
});

test("TC_004_2_CS Regular Charging Session - Identification First - ConnectionTimeOut: no transaction, back to Available", async (t) => {
  const sim = await simulate(`{ "name": "tc004_2", "seed": 42, "duration": "3min", "config": { ${FAST} },
    "events": [ { "at": "1s", "do": "csms", "action": "ChangeConfiguration", "payload": { "key": "ConnectionTimeOut", "value": "20" } },
                { "at": "5s", "do": "swipe", "idTag": "TAG-42" }, { "at": "60s", "do": "plug" }, { "at": "100s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    t.is(c.transactions, 0);
    t.is(callsIn(sim, "StartTransaction").length, 0);
    t.is(callsIn(sim, "Authorize").length, 1);
    const T0 = Date.parse("2026-01-15T08:00:00Z");
    const st = callsIn(sim, "StatusNotification")
      .filter((x) => x.payload["connectorId"] === 1)
      .map((x) => ({ t: x.t - T0, status: x.payload["status"] as string }));
    const preparing = st.find((x) => x.status === "Preparing")!;
    t.true(preparing.t >= 5_000 && preparing.t < 6_000, JSON.stringify(st));
    // ConnectionTimeOut (20 s) after the authorization, without a car: Available again.
    const back = st.find((x) => x.t > preparing.t && x.status === "Available")!;
    t.true(back.t >= 25_000 && back.t < 27_000, JSON.stringify(st));
    t.deepEqual(sim.csms!.validationFailures, []);
  } finally {
    await sim.close();
  }
});

test("TC_070_CS Sampled Meter Values: MeterValueSampleInterval and MeterValuesSampledData with units and phases", async (t) => {
  const sim = await simulate(`{ "name": "tc070", "seed": 70, "duration": "4min", "config": { ${FAST} },
    "events": [ { "at": "1s", "do": "csms", "action": "ChangeConfiguration", "payload": { "key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,Frequency,Current.Offered" } },
                { "at": "1500ms", "do": "csms", "action": "ChangeConfiguration", "payload": { "key": "MeterValueSampleInterval", "value": "30" } },
                { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-7" }, { "at": "125s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    const mv = callsIn(sim, "MeterValues");
    t.is(mv.length, 4);
    const sv = (mv[0]!.payload["meterValue"] as Array<{ sampledValue: Array<Record<string, string | undefined>> }>)[0]!.sampledValue;
    const byM = (m: string) => sv.filter((x) => x["measurand"] === m);
    t.is(byM("Energy.Active.Import.Register")[0]!["unit"], "Wh");
    t.is(byM("Power.Active.Import")[0]!["unit"], "W");
    t.deepEqual(byM("Current.Import").map((x) => x["phase"]), ["L1", "L2", "L3"]);
    t.deepEqual(byM("Voltage").map((x) => x["phase"]), ["L1-N", "L2-N", "L3-N"]);
    t.is(byM("Frequency")[0]!["phase"], undefined);
    t.true(sv.every((x) => x["context"] === "Sample.Periodic"));
    t.is(mv[0]!.payload["transactionId"], 1);
    for (const m of mv) t.true(Number(((m.payload["meterValue"] as Array<{ sampledValue: Array<{ value: string }> }>)[0]!).sampledValue[0]!.value) >= 0);
  } finally {
    await sim.close();
  }
});

test("TC_071_CS Clock-aligned Meter Values: on the wall clock's boundaries, in and outside a transaction", async (t) => {
  const sim = await simulate(`{ "name": "tc071", "seed": 71, "duration": "6min", "rtc": "2026-01-15T08:00:07Z", "config": { ${FAST}, "meterValueSampleIntervalS": 0 },
    "events": [ { "at": "1s", "do": "csms", "action": "ChangeConfiguration", "payload": { "key": "ClockAlignedDataInterval", "value": "60" } },
                { "at": "70s", "do": "plug" }, { "at": "72s", "do": "swipe", "idTag": "TAG-8" }, { "at": "200s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    const mv = callsIn(sim, "MeterValues");
    const stamps = mv.map((x) => ((x.payload["meterValue"] as Array<{ timestamp: string; sampledValue: Array<{ context: string }> }>)[0]!));
    t.true(stamps.length >= 5);
    for (const s of stamps) {
      t.is(Date.parse(s.timestamp) % 60_000, 0, s.timestamp);
      t.is(s.sampledValue[0]!.context, "Sample.Clock");
    }
    t.true(mv.some((x) => x.payload["transactionId"] === undefined), "outside the transaction too");
    t.true(mv.some((x) => x.payload["transactionId"] === 1), "inside it, with its transactionId");
  } finally {
    await sim.close();
  }
});

test("StopTxnSampledData gives the StopTransaction its Transaction.Begin and Transaction.End values", async (t) => {
  const sim = await simulate(`{ "name": "stoptxn", "seed": 72, "duration": "3min", "config": { ${FAST} },
    "events": [ { "at": "1s", "do": "csms", "action": "ChangeConfiguration", "payload": { "key": "StopTxnSampledData", "value": "Energy.Active.Import.Register" } },
                { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-9" }, { "at": "100s", "do": "unplug" } ] }`);
  try {
    const c = checkTransactions(sim);
    t.deepEqual(c.problems, []);
    const stop = callsIn(sim, "StopTransaction")[0]!;
    const data = stop.payload["transactionData"] as Array<{ sampledValue: Array<{ context: string; value: string }> }>;
    t.deepEqual(data.map((d) => d.sampledValue[0]!.context), ["Transaction.Begin", "Transaction.End"]);
    t.true(Number(data[1]!.sampledValue[0]!.value) > Number(data[0]!.sampledValue[0]!.value));
  } finally {
    await sim.close();
  }
});

test("TransactionMessageAttempts / RetryInterval: a StopTransaction the CSMS refuses is retried after interval x attempts, then given up", async (t) => {
  let refusals = 0;
  const sim = await simulate(
    `{ "name": "retry", "seed": 73, "duration": "10min", "config": { ${FAST} },
    "events": [ { "at": "1s", "do": "csms", "action": "ChangeConfiguration", "payload": { "key": "TransactionMessageRetryInterval", "value": "20" } },
                { "at": "2s", "do": "plug" }, { "at": "4s", "do": "swipe", "idTag": "TAG-10" }, { "at": "60s", "do": "unplug" } ] }`,
    (s) => {
      const prev = s.csms!.onCall!;
      s.csms!.onCall = (call) => {
        if (call.action === "StopTransaction") {
          refusals++;
          throw Object.assign(new Error("busy"), { rpcErrorCode: "InternalError" });
        }
        return prev(call);
      };
    },
  );
  try {
    const stops = callsIn(sim, "StopTransaction");
    t.is(stops.length, 3, "TransactionMessageAttempts = 3");
    t.is(refusals, 3);
    t.is(stops[1]!.t - stops[0]!.t >= 20_000 && stops[1]!.t - stops[0]!.t < 21_000, true);
    t.is(stops[2]!.t - stops[1]!.t >= 40_000 && stops[2]!.t - stops[1]!.t < 41_000, true);
    t.is(stops[0]!.payload["meterStop"], stops[2]!.payload["meterStop"]);
  } finally {
    await sim.close();
  }
});
