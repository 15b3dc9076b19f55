/**
 * Test support for the composite-schedule engine: the case format of /work/shared/ocpp/composite-schedules.jsonl
 * (a peer's suite, EVerest libocpp) turned into engine calls, and the comparison of a result with a case's
 * expectation (only the fields the case states).
 */
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { CompositeEngine, type ChargingProfile, type CompositeSchedule, type ConnectorTx, type EngineOptions, type Purpose, type RateUnit, type Situation } from "../../firmware/ocpp/smart-charging/engine.js";
import { fromOcpp16, limit16, toOcpp16Schedule } from "../../firmware/ocpp/v16/features/smart-charging.js";

export interface CompositeCase {
  id: string;
  ocpp: "1.6" | "2.0.1";
  setup: Record<string, unknown>;
  profiles: Array<Record<string, unknown>>;
  request: Record<string, unknown>;
  expected: Record<string, unknown>;
  notes?: string;
}

/** The peer's choices: gaps 48 A / 3 phases (= 33,120 W at 230 V), 230 V, connector 0 = sum of the connectors. */
export const PEER_OPTIONS: EngineOptions = { nominalVoltage: 230, gapLimitA: 48, gapPhases: 3, station: "sum" };
/** Ours for a 32 A three-phase 230 V charger (firmware: min(board rating, installer limit), board phases). */
export const OUR_OPTIONS: EngineOptions = { nominalVoltage: 230, gapLimitA: 32, gapPhases: 3, connectorPhases: 3, station: "sum" };

export const SHARED_CASES = fileURLToPath(new URL("../../../../shared/ocpp/composite-schedules.jsonl", import.meta.url));

export function loadSharedCases(): CompositeCase[] | null {
  if (!fs.existsSync(SHARED_CASES)) return null;
  return fs
    .readFileSync(SHARED_CASES, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as CompositeCase);
}

const PURPOSE_201: Record<string, Purpose> = {
  ChargingStationMaxProfile: "ChargePointMax",
  ChargingStationExternalConstraints: "ExternalConstraints",
  TxDefaultProfile: "TxDefault",
  TxProfile: "Tx",
};

/** A 2.0.1 ChargingProfileType (first schedule) to the engine's form: what a 2.0.1 module will do. */
export function fromOcpp201(cp: Record<string, unknown>, evseId: number): ChargingProfile {
  const s = (cp["chargingSchedule"] as Array<Record<string, unknown>>)[0];
  const p: ChargingProfile = {
    id: cp["id"] as number,
    connector: evseId,
    stackLevel: cp["stackLevel"] as number,
    purpose: PURPOSE_201[cp["chargingProfilePurpose"] as string],
    kind: cp["chargingProfileKind"] as ChargingProfile["kind"],
    unit: s["chargingRateUnit"] as RateUnit,
    periods: (s["chargingSchedulePeriod"] as Array<Record<string, unknown>>).map((q) => ({
      start: q["startPeriod"] as number,
      limit: q["limit"] as number,
      ...(q["numberPhases"] !== undefined ? { phases: q["numberPhases"] as number } : {}),
    })),
  };
  if (cp["recurrencyKind"] !== undefined && p.kind === "Recurring") p.recurrency = cp["recurrencyKind"] as "Daily" | "Weekly";
  if (cp["validFrom"] !== undefined) p.validFrom = Date.parse(cp["validFrom"] as string);
  if (cp["validTo"] !== undefined) p.validTo = Date.parse(cp["validTo"] as string);
  if (cp["transactionId"] !== undefined) p.transactionId = String(cp["transactionId"]);
  if (s["startSchedule"] !== undefined && p.kind !== "Relative") p.startSchedule = Date.parse(s["startSchedule"] as string);
  if (s["duration"] !== undefined) p.duration = s["duration"] as number;
  if (s["minChargingRate"] !== undefined) p.minRate = s["minChargingRate"] as number;
  return p;
}

export function caseProfiles(c: CompositeCase): ChargingProfile[] {
  return c.profiles.map((entry) => {
    if (c.ocpp === "2.0.1") return fromOcpp201(entry["chargingProfile"] as Record<string, unknown>, entry["install_for_evseId"] as number);
    const p = fromOcpp16(entry["csChargingProfiles"] as Record<string, unknown>, entry["connectorId"] as number);
    if (typeof p === "string") throw new Error(`${c.id}: ${p}`);
    return p;
  });
}

/** The transactions a case's setup describes ("all", "none", "connector 1, tx start <time>", 2.0.1 evse). */
export function caseSituation(c: CompositeCase): Situation {
  const reqStart = Date.parse(c.request["start"] as string);
  const txs = new Map<number, ConnectorTx>();
  let connectors = 1;
  if (c.ocpp === "2.0.1") {
    const evse = c.setup["transaction_open_on_evse"] as number | undefined;
    if (evse !== undefined) txs.set(evse, { start: reqStart, id: String(c.setup["transactionId"]) });
  } else {
    connectors = c.setup["connectors"] as number;
    const active = String(c.setup["transaction_active_on_connectors"]);
    if (active.startsWith("all")) for (let i = 1; i <= connectors; i++) txs.set(i, { start: reqStart });
    else if (active !== "none") {
      const m = /^connector (\d+), tx start (\S+)$/.exec(active);
      if (!m) throw new Error(`${c.id}: unknown setup ${active}`);
      txs.set(Number(m[1]), { start: Date.parse(m[2]!) });
    }
  }
  return { connectors, tx: (i) => txs.get(i) ?? null };
}

export function runCase(c: CompositeCase, options: EngineOptions): CompositeSchedule {
  const engine = new CompositeEngine(options);
  const req = c.request;
  const start = Date.parse(req["start"] as string);
  const end = Date.parse(req["end"] as string);
  const connector = (c.ocpp === "2.0.1" ? req["evseId"] : req["connectorId"]) as number;
  return engine.composite(caseProfiles(c), caseSituation(c), connector, start, (end - start) / 1000, req["chargingRateUnit"] as RateUnit);
}

/** The protocol form the case's expectation is written in. */
export function encode(c: CompositeCase, cs: CompositeSchedule): Record<string, unknown> {
  const s = toOcpp16Schedule(cs);
  const periods = (s["chargingSchedulePeriod"] as Array<Record<string, unknown>>).map((q, i) => ({ ...q, stackLevel: cs.periods[i]?.source?.stackLevel }));
  // The stackLevel column (the peer's "enhanced" schedule) only makes sense if no merging happened in encoding.
  const merged = periods.length !== cs.periods.length;
  return {
    [c.ocpp === "2.0.1" ? "scheduleStart" : "startSchedule"]: new Date(cs.start).toISOString().replace(".000Z", "Z"),
    duration: cs.duration,
    chargingRateUnit: cs.unit,
    chargingSchedulePeriod: merged ? periods.map((q) => ({ ...q, stackLevel: undefined })) : periods,
  };
}

/** Differences between a result and the case's expectation, over the fields the case states ([] = match). */
export function compare(c: CompositeCase, cs: CompositeSchedule): string[] {
  const got = encode(c, cs);
  const exp = c.expected;
  const out: string[] = [];
  for (const k of ["startSchedule", "scheduleStart", "duration", "chargingRateUnit"]) {
    if (exp[k] === undefined) continue;
    const e = k.endsWith("Schedule") || k === "scheduleStart" ? Date.parse(exp[k] as string) : exp[k];
    const g = k.endsWith("Schedule") || k === "scheduleStart" ? Date.parse(got[k] as string) : got[k];
    if (e !== g) out.push(`${k}: expected ${String(exp[k])}, got ${String(got[k])}`);
  }
  const ep = exp["chargingSchedulePeriod"] as Array<Record<string, unknown>>;
  const gp = got["chargingSchedulePeriod"] as Array<Record<string, unknown>>;
  if (ep.length !== gp.length) out.push(`periods: expected ${JSON.stringify(ep)}, got ${JSON.stringify(gp)}`);
  else
    for (let i = 0; i < ep.length; i++)
      for (const k of Object.keys(ep[i]!)) {
        const e = k === "limit" ? limit16(ep[i]![k] as number) : ep[i]![k];
        if (e !== gp[i]![k]) out.push(`period ${i} ${k}: expected ${String(ep[i]![k])}, got ${String(gp[i]![k])}`);
      }
  return out;
}
