/** Helpers for the transaction tests: a simulation with a CSMS that recognises repeated deliveries, and checks. */
import { start } from "../../firmware/main.js";
import { Journal } from "../../firmware/storage/journal.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

export type Frame = [number, string, ...unknown[]];

/**
 * Makes the embedded CSMS treat a repeated StartTransaction (same content: a charge point resending after a
 * power cut between the CALLRESULT and its journal removal) as the same transaction, as a real CSMS must.
 */
export function dedupStarts(sim: Simulation): void {
  const csms = sim.csms!;
  csms.onCall = ({ action, payload }) => {
    if (action !== "StartTransaction") return undefined;
    const key = JSON.stringify(payload);
    for (const tx of csms.transactions.values()) {
      if (JSON.stringify(tx.start) === key) return { transactionId: tx.transactionId, idTagInfo: { status: "Accepted" } };
    }
    return undefined;
  };
}

export async function simulate(scenarioJson: string, prepare?: (sim: Simulation) => void, config: Record<string, unknown> = {}): Promise<Simulation> {
  const sim = await Simulation.create({ scenario: parseScenario(scenarioJson), config });
  dedupStarts(sim);
  prepare?.(sim);
  await sim.run((hal, cfg) => start(hal, cfg));
  return sim;
}

/** CALLs the charge point sent, in order (from the CSMS's frames). */
export function callsIn(sim: Simulation, action?: string): Array<{ id: string; action: string; payload: Record<string, unknown>; t: number }> {
  const out: Array<{ id: string; action: string; payload: Record<string, unknown>; t: number }> = [];
  for (const f of sim.csms!.frames) {
    const fr = f.frame as Frame;
    if (f.dir !== "in" || !Array.isArray(fr) || fr[0] !== 2) continue;
    if (action && fr[2] !== action) continue;
    out.push({ id: fr[1], action: fr[2] as string, payload: fr[3] as Record<string, unknown>, t: f.t });
  }
  return out;
}

export interface TxCheck {
  problems: string[];
  transactions: number;
  /** Identical repeats of a transaction message (delivered, then resent after a cut before its removal). */
  repeats: number;
  reasons: string[];
}

/**
 * The invariants of "transactions are never lost": one StartTransaction content and one StopTransaction
 * content per transaction, every transaction stopped, meterStop >= meterStart, no message id used twice,
 * strict validation clean, the journal empty at the end.
 */
export function checkTransactions(sim: Simulation): TxCheck {
  const problems: string[] = [];
  const csms = sim.csms!;
  if (csms.validationFailures.length) problems.push(`validation: ${JSON.stringify(csms.validationFailures[0])}`);
  const calls = callsIn(sim);
  const ids = new Set<string>();
  for (const c of calls) {
    if (ids.has(c.id)) problems.push(`message id ${c.id} used twice`);
    ids.add(c.id);
  }
  let repeats = 0;
  const starts = new Map<string, number>();
  for (const c of calls.filter((x) => x.action === "StartTransaction")) starts.set(JSON.stringify(c.payload), (starts.get(JSON.stringify(c.payload)) ?? 0) + 1);
  for (const n of starts.values()) repeats += n - 1;
  if (starts.size !== csms.transactions.size) problems.push(`${starts.size} distinct StartTransactions, ${csms.transactions.size} transactions`);
  const stops = new Map<number, Set<string>>();
  let stopFrames = 0;
  for (const c of calls.filter((x) => x.action === "StopTransaction")) {
    stopFrames++;
    const id = c.payload["transactionId"] as number;
    if (!stops.has(id)) stops.set(id, new Set());
    stops.get(id)!.add(JSON.stringify(c.payload));
  }
  repeats += stopFrames - [...stops.values()].reduce((a, s) => a + s.size, 0);
  const reasons: string[] = [];
  for (const [id, tx] of csms.transactions) {
    const s = stops.get(id);
    if (!s || s.size !== 1) problems.push(`transaction ${id}: ${s ? s.size : 0} distinct StopTransactions`);
    if (!tx.stop) {
      problems.push(`transaction ${id} never stopped`);
      continue;
    }
    const meterStop = tx.stop["meterStop"] as number;
    if (!(meterStop >= tx.meterStart)) problems.push(`transaction ${id}: meterStop ${meterStop} < meterStart ${tx.meterStart}`);
    reasons.push(String(tx.stop["reason"]));
  }
  for (const id of stops.keys()) if (!csms.transactions.has(id)) problems.push(`StopTransaction for unknown transaction ${id}`);
  if (!sim.storage.isPowerDown) {
    const left = Journal.open(sim.storage.flash.open({ path: "journal" })).stats.records;
    if (left !== 0) problems.push(`${left} record(s) left in the journal`);
  }
  return { problems, transactions: csms.transactions.size, repeats, reasons };
}
