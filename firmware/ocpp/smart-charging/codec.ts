/**
 * A compact, versioned text form of a ChargingProfile for persistence (one key-value entry per profile, well
 * under the 4,000-byte value limit of the key-value HAL for the bounded period count). Decoding validates every
 * field: a damaged or foreign entry decodes to null and is dropped by the caller.
 *
 * Form: JSON array [1, id, connector, stackLevel, purpose, kind, recurrency, validFrom, validTo, transactionId,
 * unit, startSchedule, duration, minRate, [start, limit, phases|0, ...]], null for an absent optional field.
 */
import type { ChargingProfile, Purpose, ProfileKind, RateUnit, Recurrency, SchedulePeriod } from "./engine.js";

const PURPOSES: readonly Purpose[] = ["ChargePointMax", "ExternalConstraints", "TxDefault", "Tx"];
const KINDS: readonly ProfileKind[] = ["Absolute", "Recurring", "Relative"];
/** Indexes of the optional fields (null when absent). */
const OPTIONAL: readonly boolean[] = [false, false, false, false, false, false, true, true, true, true, false, true, true, true];

export function encodeProfile(p: ChargingProfile): string {
  const periods: number[] = [];
  for (const q of p.periods) periods.push(q.start, q.limit, q.phases ?? 0);
  return JSON.stringify([
    1,
    p.id,
    p.connector,
    p.stackLevel,
    PURPOSES.indexOf(p.purpose),
    KINDS.indexOf(p.kind),
    p.recurrency === undefined ? null : p.recurrency === "Daily" ? 1 : 2,
    p.validFrom ?? null,
    p.validTo ?? null,
    p.transactionId ?? null,
    p.unit === "A" ? 0 : 1,
    p.startSchedule ?? null,
    p.duration ?? null,
    p.minRate ?? null,
    periods,
  ]);
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** The profile, or null when the text is not a well-formed encoding. Limits are checked by checkProfile. */
export function decodeProfile(text: string): ChargingProfile | null {
  let a: unknown;
  try {
    a = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(a) || a.length !== 15 || a[0] !== 1) return null;
  for (let i = 1; i <= 13; i++) if (i !== 9 && !isNum(a[i]) && !(OPTIONAL[i] && a[i] === null)) return null;
  const purpose = PURPOSES[a[4] as number];
  const kind = KINDS[a[5] as number];
  if (purpose === undefined || kind === undefined) return null;
  const rec = a[6] as number | null;
  if (rec !== null && rec !== 1 && rec !== 2) return null;
  const unit = a[10] as number;
  if (unit !== 0 && unit !== 1) return null;
  const txId = a[9];
  if (txId !== null && typeof txId !== "string") return null;
  const raw = a[14];
  if (!Array.isArray(raw) || raw.length === 0 || raw.length % 3 !== 0) return null;
  const periods: SchedulePeriod[] = [];
  for (let i = 0; i < raw.length; i += 3) {
    const [s, l, ph] = [raw[i], raw[i + 1], raw[i + 2]];
    if (!isNum(s) || !isNum(l) || !isNum(ph)) return null;
    const q: SchedulePeriod = { start: s, limit: l };
    if (ph !== 0) q.phases = ph;
    periods.push(q);
  }
  const p: ChargingProfile = {
    id: a[1] as number,
    connector: a[2] as number,
    stackLevel: a[3] as number,
    purpose,
    kind,
    unit: unit === 0 ? "A" : "W",
    periods,
  };
  if (rec !== null) p.recurrency = (rec === 1 ? "Daily" : "Weekly") as Recurrency;
  if (a[7] !== null) p.validFrom = a[7] as number;
  if (a[8] !== null) p.validTo = a[8] as number;
  if (typeof txId === "string") p.transactionId = txId;
  if (a[11] !== null) p.startSchedule = a[11] as number;
  if (a[12] !== null) p.duration = a[12] as number;
  if (a[13] !== null) p.minRate = a[13] as number;
  return p;
}

export type { RateUnit };
