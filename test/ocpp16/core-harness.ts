/** Shared by the Core / RemoteTrigger scenario tests: run a scenario against the embedded strict CSMS, read frames. */
import type { ExecutionContext } from "ava";
import { start } from "../../firmware/main.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation, type SimulationResult } from "../../simulator/simulation.js";
import type { TraceEvent } from "../../simulator/trace.js";

export interface Run {
  sim: Simulation;
  result: SimulationResult;
  trace: TraceEvent[];
  /** CALLs the charge point sent: action, payload, time. */
  out(action?: string): Array<{ t: number; action: string; payload: Record<string, unknown> }>;
  /** The answers of the charge point to CSMS-initiated CALLs (trace "csms" events), in order. */
  answers(action: string): Array<Record<string, unknown>>;
  statuses(connectorId?: number): Array<{ t: number; status: string; errorCode: string }>;
}

export async function runScenario(t: ExecutionContext, json: Record<string, unknown>, setup?: (sim: Simulation) => void): Promise<Run> {
  const scenario = parseScenario(JSON.stringify({ seed: 3, duration: "2min", ...json }));
  const sim = await Simulation.create({ scenario });
  try {
    setup?.(sim);
    const result = await sim.run((hal, config) => start(hal, config));
    t.deepEqual(sim.csms!.validationFailures, [], "strict validation both ways");
    t.deepEqual(result.firmwareErrors, []);
    t.is(result.interlockTrips, 0);
    t.is(result.forbiddenCloses, 0);
    const trace = sim.trace.events;
    const frames = trace.filter((e) => e.kind === "ocpp" && e["dir"] === "out").map((e) => ({ t: e.t, frame: e["frame"] as unknown[] }));
    const run: Run = {
      sim,
      result,
      trace,
      out(action) {
        return frames
          .filter((f) => f.frame[0] === 2 && (action === undefined || f.frame[2] === action))
          .map((f) => ({ t: f.t, action: f.frame[2] as string, payload: f.frame[3] as Record<string, unknown> }));
      },
      answers(action) {
        return trace.filter((e) => e.kind === "csms" && e["action"] === action).map((e) => (e["result"] ?? { error: e["error"] }) as Record<string, unknown>);
      },
      statuses(connectorId = 1) {
        return run
          .out("StatusNotification")
          .filter((s) => s.payload["connectorId"] === connectorId)
          .map((s) => ({ t: s.t, status: s.payload["status"] as string, errorCode: s.payload["errorCode"] as string }));
      },
    };
    return run;
  } finally {
    await sim.close();
  }
}

/** Session start/end events of the firmware log. */
export function sessions(run: Run, event: "started" | "ended"): TraceEvent[] {
  return run.trace.filter((e) => e.kind === "session" && e["event"] === event);
}
