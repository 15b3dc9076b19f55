/** Shared helpers of the authorization and reservation scenario tests (test/ocpp16/auth*.test.ts, reservation*.test.ts). */
import type { ExecutionContext } from "ava";
import { start } from "../../firmware/main.js";
import { ConfigurationKeys } from "../../firmware/ocpp/v16/keys.js";
import type { CsmsCallHook } from "../../simulator/csms/index.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

/** The scenario's default RTC at t = 0 (simulator/scenario.ts). */
export const RTC = Date.UTC(2026, 0, 15, 8, 0, 0);
export const CP = "CP-SIM-0001";
export const iso = (ms: number) => new Date(RTC + ms).toISOString();

export interface CallFrame {
  t: number;
  action: string;
  payload: Record<string, unknown>;
}

export interface AuthRun {
  sim: Simulation;
  /** CALLs from the charge point, in order (t: virtual ms). */
  calls: CallFrame[];
  /** Answers of the charge point to the scenario's `csms` actions, in order. */
  answers: Array<{ t: number; action: string; result?: Record<string, unknown>; error?: string }>;
  /** StatusNotification statuses of connector 1, in order. */
  statuses: string[];
  of(action: string): CallFrame[];
  problems: string[];
}

export interface AuthRunOptions {
  events: Array<Record<string, unknown>>;
  duration?: string;
  /** Configuration keys stored before the first boot (as a ChangeConfiguration would have left them). */
  keys?: Record<string, string>;
  /** CSMS hook (e.g. Authorize answers with a parentIdTag). */
  onCall?: CsmsCallHook;
  rejectTags?: string[];
  seed?: number;
  config?: Record<string, unknown>;
}

/** Stores configuration key values in the "ocpp" store the way ConfigurationKeys persists them. */
export function presetKeys(sim: Simulation, values: Record<string, string>): void {
  const kv = sim.storage.keyValue.open({ path: "ocpp" });
  const keys = new ConfigurationKeys(kv);
  for (const [k, v] of Object.entries(values)) {
    keys.define(k, { type: "string", default: "" });
    keys.setInternal(k, v);
  }
  kv.close();
}

export async function runAuth(t: ExecutionContext, o: AuthRunOptions): Promise<AuthRun> {
  const scenario = parseScenario(
    JSON.stringify({
      name: "auth",
      seed: o.seed ?? 11,
      duration: o.duration ?? "10min",
      config: { freeCharging: false, ...(o.config ?? {}) },
      csms: { rejectTags: o.rejectTags ?? [] },
      events: o.events,
    }),
  );
  const sim = await Simulation.create({ scenario });
  t.teardown(() => sim.close());
  if (o.keys) presetKeys(sim, o.keys);
  if (o.onCall) sim.csms!.onCall = o.onCall;
  const result = await sim.run((hal, cfg) => start(hal, cfg));
  const calls: CallFrame[] = [];
  const statuses: string[] = [];
  for (const f of sim.csms!.frames) {
    const fr = f.frame as unknown[];
    if (f.dir !== "in" || fr[0] !== 2) continue;
    const c = { t: f.t - RTC, action: fr[2] as string, payload: fr[3] as Record<string, unknown> };
    calls.push(c);
    if (c.action === "StatusNotification" && c.payload["connectorId"] === 1) statuses.push(c.payload["status"] as string);
  }
  const answers = sim.trace.events
    .filter((e) => e.kind === "csms")
    .map((e) => ({ t: e.t, action: e["action"] as string, result: e["result"] as Record<string, unknown> | undefined, error: e["error"] as string | undefined }));
  return { sim, calls, answers, statuses, of: (a) => calls.filter((c) => c.action === a), problems: result.problems };
}

/** Statuses with consecutive repeats removed. */
export function squash(statuses: string[]): string[] {
  return statuses.filter((s, i) => i === 0 || statuses[i - 1] !== s);
}

export const entry = (idTag: string, status = "Accepted", extra: Record<string, unknown> = {}) => ({ idTag, idTagInfo: { status, ...extra } });
export const csms = (at: string, action: string, payload: Record<string, unknown> = {}) => ({ at, do: "csms", action, payload });
