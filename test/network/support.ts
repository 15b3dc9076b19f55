/** Shared rigs for the uplink tests: a charger simulation with an LTE modem, and a bare modem on a scheduler. */
import { Simulation, type SimulationResult } from "../../simulator/simulation.js";
import { parseScenario } from "../../simulator/scenario.js";
import { start } from "../../firmware/main.js";
import type { Hal } from "../../hal/index.js";

export const LTE_BOARD = { lteModem: { chip: "bg95", serial: { port: 2, baud: 115200 }, reset: 17, apn: "iot.example" } };

export interface UplinkRun {
  sim: Simulation;
  result: SimulationResult;
  /** Trace events of a kind, in order. */
  events(kind: string): Array<Record<string, unknown> & { t: number }>;
}

/** Runs a scenario (board with the modem) with the real firmware; `wifiAtBoot` false boots with Wi-Fi down. */
export async function runUplinkScenario(json: Record<string, unknown>, wifiAtBoot = true): Promise<UplinkRun> {
  const scenario = parseScenario(JSON.stringify({ board: LTE_BOARD, ...json }), "uplink");
  const sim = await Simulation.create({ scenario });
  if (!wifiAtBoot) sim.uplinks.wifi.set(false);
  try {
    const result = await sim.run((hal: Hal, config: Record<string, unknown>) => start(hal, config));
    return {
      sim,
      result,
      events(kind: string) {
        return sim.trace.events.filter((e) => e.kind === kind) as Array<Record<string, unknown> & { t: number }>;
      },
    };
  } finally {
    await sim.close();
  }
}
