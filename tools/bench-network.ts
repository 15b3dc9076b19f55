/**
 * Bench rows of the uplink: failover time from Wi-Fi loss to OCPP reconnected over LTE (virtual ms, the BG95
 * model at 115200 baud, mid-transaction), failback time after Wi-Fi returns, and AT round trips per OCPP
 * message while on LTE (the modem's periodic AT+CSQ / AT+CEREG? polls included).
 */
import { start } from "../firmware/main.js";
import { parseScenario } from "../simulator/scenario.js";
import { Simulation } from "../simulator/simulation.js";
import type { BenchRow } from "./bench-node.js";

export async function benchNetwork(): Promise<BenchRow[]> {
  const down = 120_000;
  const up = 600_000;
  const scenario = parseScenario(`{
    "name": "bench: Wi-Fi lost mid-transaction", "seed": 3, "duration": "16min",
    "board": { "lteModem": { "chip": "bg95", "serial": { "port": 2, "baud": 115200 }, "reset": 17 } },
    "config": { "meterValueSampleIntervalS": 60, "statusIntervalMs": 600000, "webSocketPingIntervalS": 30 },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "3s", "do": "swipe", "idTag": "BENCH" },
                { "at": ${down}, "do": "wifi", "up": false }, { "at": ${up}, "do": "wifi", "up": true },
                { "at": "15min", "do": "unplug" } ]
  }`);
  const sim = await Simulation.create({ scenario, keepTrace: true });
  const rtc = scenario.rtcMs;
  let atDown = 0;
  let atUp = 0;
  sim.scheduler.at(down, () => {
    atDown = sim.uplinks.modem!.stats.commands;
  });
  sim.scheduler.at(up, () => {
    atUp = sim.uplinks.modem!.stats.commands;
  });
  try {
    const r = await sim.run((hal, config) => start(hal, config));
    const csms = sim.csms!;
    const reconnect = csms.connections.find((c) => c.event === "connect" && c.t - rtc > down);
    const failback = sim.trace.events.find((e) => e.kind === "uplink" && e["event"] === "switch" && e["to"] === "wifi" && e.t > up);
    const frames = csms.frames.filter((f) => f.t - rtc > down && f.t - rtc < up).length;
    const lost = r.sessions.length === 1 && r.sessions[0]!.meterStop !== null && r.validationFailures === 0 ? "" : " (transaction NOT intact)";
    return [
      { name: "uplink failover Wi-Fi lost -> OCPP connected over LTE", value: reconnect ? reconnect.t - rtc - down : -1, unit: "ms", note: `virtual; modem already registered${lost}` },
      { name: "uplink failback Wi-Fi back -> traffic on Wi-Fi", value: failback ? failback.t - up : -1, unit: "ms", note: "virtual; 30 s stability hysteresis" },
      { name: "AT round trips per OCPP message on LTE", value: frames > 0 ? Math.round(((atUp - atDown) / frames) * 100) / 100 : 0, unit: "cmds", note: `${atUp - atDown} AT commands / ${frames} OCPP frames in ${(up - down) / 60_000} min (polls included)` },
    ];
  } finally {
    await sim.close();
  }
}
