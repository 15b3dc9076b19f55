import test from "ava";
import { runUplinkScenario } from "./support.js";

test("boots with Wi-Fi down, charges over LTE, moves back to Wi-Fi once it is stable; nothing lost", async (t) => {
  const run = await runUplinkScenario(
    {
      name: "lte-failback",
      seed: 7,
      duration: "20min",
      config: { webSocketPingIntervalS: 30 },
      events: [
        { at: "40s", do: "plug" },
        { at: "45s", do: "swipe", idTag: "LTE-CARD-1" },
        { at: "5min", do: "wifi", up: true },
        { at: "10min", do: "unplug" },
      ],
    },
    false,
  );
  const r = run.result;
  t.deepEqual(r.problems, [], `seed ${r.seed}`);
  t.is(r.validationFailures, 0);
  t.is(r.sessions.length, 1);
  t.not(r.sessions[0]!.meterStop, null, "the transaction was stopped and the CSMS has its StopTransaction");
  const switches = run.events("uplink").filter((e) => e["event"] === "switch");
  t.deepEqual(
    switches.map((e) => `${String(e["from"])}->${String(e["to"])}`),
    ["none->lte", "lte->wifi"],
  );
  const back = switches[1]!;
  t.true(back.t >= 5 * 60_000 + 30_000, "failback waits for Wi-Fi to be stable for 30 s");
  // After the failback the OCPP frames flow over the Wi-Fi network (the simulator's WebSocket sees them).
  const wifiFrames = run.events("ocpp").filter((e) => e.t > back.t);
  t.true(wifiFrames.length > 0);
  const lteFrames = run.events("ocpp").filter((e) => e.t < back.t);
  t.is(lteFrames.length, 0, "before it, nothing went over Wi-Fi");
});

test("Wi-Fi lost mid-transaction, then the modem stalls while it carries OCPP: recovered without a reboot, nothing lost", async (t) => {
  const run = await runUplinkScenario({
    name: "mid-tx",
    seed: 11,
    duration: "16min",
    config: { webSocketPingIntervalS: 30, meterValueSampleIntervalS: 60 },
    events: [
      { at: "2s", do: "plug" },
      { at: "3s", do: "swipe", idTag: "MID-TX" },
      { at: "2min", do: "wifi", up: false },
      { at: "4min", do: "lte", fault: "stall" },
      { at: "6min", do: "lte", fault: "coverage-lost" },
      { at: "7min", do: "lte", fault: "coverage-back" },
      { at: "9min", do: "unplug" },
    ],
  });
  const r = run.result;
  t.deepEqual(r.problems, [], `seed ${r.seed}`);
  t.is(r.boots, 1, "no reboot");
  t.is(r.validationFailures, 0);
  t.is(r.sessions.length, 1);
  t.not(r.sessions[0]!.meterStop, null, "StopTransaction reached the CSMS over LTE");
  const modem = run.events("modem");
  t.true(modem.some((e) => e["event"] === "stall"), "the stall was detected");
  t.true(modem.some((e) => e["event"] === "registration-lost"));
  const switches = run.events("uplink").filter((e) => e["event"] === "switch");
  t.is(String(switches[0]!["to"]), "wifi");
  t.true(switches.some((e) => e["to"] === "lte" && e.t >= 120_000 && e.t < 121_000), "failover within a second of the Wi-Fi loss");
});
