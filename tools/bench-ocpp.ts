/** Bench rows of the OCPP transaction journal: flash bytes written per transaction (a 1 h session, 60 s samples). */
import { start } from "../firmware/main.js";
import { parseScenario } from "../simulator/scenario.js";
import { Simulation } from "../simulator/simulation.js";
import type { BenchRow } from "./bench-node.js";

export async function benchOcpp(): Promise<BenchRow[]> {
  const scenario = parseScenario(`{
    "name": "bench: 1 h session", "seed": 1, "duration": "65min",
    "config": { "meterValueSampleIntervalS": 60, "controlPeriodMs": 50, "statusIntervalMs": 600000 },
    "events": [ { "at": "2s", "do": "plug" }, { "at": "3s", "do": "swipe", "idTag": "BENCH" }, { "at": "62min", "do": "unplug" } ]
  }`);
  const sim = await Simulation.create({ scenario, keepTrace: false });
  const flash = sim.storage.flash;
  let base = { bytes: 0, writes: 0, erases: 0 };
  // Count from the plug on: boot-time writes (configuration keys) are not the transaction's.
  sim.scheduler.at(1_000, () => {
    base = { bytes: flash.bytesWritten, writes: flash.writes, erases: flash.erases };
  });
  try {
    await sim.run((hal, cfg) => start(hal, cfg));
    const tx = [...(sim.csms?.transactions.values() ?? [])];
    const mv = tx[0]?.meterValues.length ?? 0;
    const note = `1 h, ${mv} MeterValues, journal records: start, txid, ${mv} samples, stop (removals included)`;
    return [
      { name: "OCPP journal: flash bytes written per transaction", value: flash.bytesWritten - base.bytes, unit: "bytes", note },
      { name: "OCPP journal: flash write calls per transaction", value: flash.writes - base.writes, unit: "", note: "appends + 1-byte removal marks" },
      { name: "OCPP journal: blocks erased per transaction", value: flash.erases - base.erases, unit: "" },
    ];
  } finally {
    await sim.close();
  }
}
