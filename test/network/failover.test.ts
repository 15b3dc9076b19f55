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
