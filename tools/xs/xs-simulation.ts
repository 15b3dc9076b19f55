/**
 * Runs a simulator scenario with the firmware in XS (one xsnap worker per boot, HAL bridged to the
 * simulator). Must be imported in a process that is already SES-locked-down (tools/xs/run.ts does it).
 */
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { Hal } from "../../hal/index.js";
import { XsFirmware, type XsMeters } from "./host.js";

/** The slice of simulator/simulation.ts this runner relies on (see the lead's Simulation API). */
export interface SimulationLike {
  run(boot: (hal: Hal, config: Record<string, unknown>) => unknown): Promise<{ ok: boolean; interlockTrips: number; events: number; problems?: string[] }>;
  close(): Promise<void>;
}

export interface XsRunOptions {
  root: string;
  scenario?: string;
  seed?: number;
  traceFile?: string;
  recordHal?: boolean;
  config?: Record<string, unknown>;
  /** Stop when the first session has ended (SimulationOptions.once). */
  once?: boolean;
  bundle: string;
  meteringLimit?: number;
}

export interface XsRunSummary {
  ok: boolean;
  interlockTrips: number;
  /** The simulator's SimulationResult. */
  summary: unknown;
  events: number;
  boots: number;
  xs: Array<Omit<XsMeters, "history">>;
}

/** Loads simulator/simulation.js from the build output next to this file. */
async function loadSimulation(root: string): Promise<{ create(options: Record<string, unknown>): Promise<SimulationLike> }> {
  const file = path.join(root, "build/simulator/simulation.js");
  const mod = (await import(pathToFileURL(file).href)) as { Simulation: { create(o: Record<string, unknown>): Promise<SimulationLike> } };
  return mod.Simulation;
}

export async function runScenarioOnXs(options: XsRunOptions): Promise<XsRunSummary> {
  const Simulation = await loadSimulation(options.root);
  const sim = await Simulation.create({
    ...(options.scenario !== undefined ? { scenario: options.scenario } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.traceFile !== undefined ? { traceFile: options.traceFile } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    recordHal: options.recordHal ?? true,
    ...(options.once ? { once: true } : {}),
  });
  const boots: XsFirmware[] = [];
  let current: XsFirmware | null = null;
  let cachedStatus: unknown = null;
  const result = await sim.run(async (hal, config) => {
    // A new boot: the previous VM is gone (power cut or restart), as on the device.
    if (current) await current.terminate();
    const xs = await XsFirmware.launch({ bundle: options.bundle, name: `xs-boot-${boots.length + 1}`, ...(options.meteringLimit ? { meteringLimit: options.meteringLimit } : {}) });
    boots.push(xs);
    current = xs;
    xs.attach(hal);
    await xs.start(config);
    return {
      stop(): Promise<unknown> {
        return xs.isClosed ? Promise.resolve(undefined) : xs.stop();
      },
      status(): unknown {
        return cachedStatus;
      },
      async refreshStatus(): Promise<unknown> {
        cachedStatus = xs.isClosed ? cachedStatus : await xs.status();
        return cachedStatus;
      },
    };
  });
  for (const xs of boots) await xs.close();
  await sim.close();
  return {
    ok: result.ok,
    interlockTrips: result.interlockTrips,
    summary: result,
    events: result.events,
    boots: boots.length,
    xs: boots.map((b) => {
      const { history: _h, ...rest } = b.meters;
      return rest;
    }),
  };
}
