/**
 * The composite-schedule engine, protocol-neutral: OCPP 1.6 (ChargePointMaxProfile, TxDefaultProfile, TxProfile)
 * and OCPP 2.0.1 (adds ChargingStationExternalConstraints) map their charging profiles onto `ChargingProfile` and
 * ask this module for a composite schedule over any window, for the live limit at an instant, and for the next
 * instant at which that limit may change.
 *
 * Rules (each one is either the spec's or an option; see README.md):
 *  - Within one purpose on one connector the valid profile with the highest stackLevel that has a period at t
 *    wins (replacement, not minimum); where its schedule has ended, the next lower stack level applies.
 *  - Tx outranks TxDefault; a TxDefault on the connector outranks a TxDefault on connector 0 (which applies to
 *    every connector). Tx applies only while the connector has a transaction and only when its transactionId,
 *    if set, is that transaction's.
 *  - ChargePointMax and ExternalConstraints cap the result (minimum), on connector 0 for the station (and for
 *    every connector), on a connector for that connector.
 *  - Relative schedules (and Absolute ones without startSchedule) start at the connector's transaction start;
 *    without a transaction, at the start of the requested window (as if a transaction started then).
 *  - Recurring schedules repeat every day/week from startSchedule, in both directions (there is a previous
 *    occurrence before startSchedule too, unless validFrom says otherwise); duration is capped at the recurrence.
 *  - Where no Tx/TxDefault profile has a period, a composite schedule uses `gapLimitA`/`gapPhases`
 *    (options); the live limit uses no limit there (the other claims of the arbiter apply).
 *  - Phases: a period without numberPhases means 3 (spec). Contributions combine to the fewest phases (and at
 *    most `connectorPhases`); A <-> W conversions use the nominal voltage and those phases.
 *  - Connector 0 (the station): the connectors' schedules summed (option: the largest), capped by the
 *    station-level ChargePointMax / ExternalConstraints; the phases of a sum are the most any connector uses.
 *
 * Not a hot path: it runs when profiles, the transaction or the clock change and at period boundaries (it
 * allocates small arrays then), never from the control tick.
 */

export type Purpose = "ChargePointMax" | "ExternalConstraints" | "TxDefault" | "Tx";
export type ProfileKind = "Absolute" | "Recurring" | "Relative";
export type Recurrency = "Daily" | "Weekly";
export type RateUnit = "A" | "W";

export interface SchedulePeriod {
  /** Seconds from the start of the schedule. */
  start: number;
  /** A per phase, or W (all phases together), per the profile's unit. */
  limit: number;
  /** 1..3; absent means 3. */
  phases?: number;
}

export interface ChargingProfile {
  id: number;
  /** 0 = the station. */
  connector: number;
  stackLevel: number;
  purpose: Purpose;
  kind: ProfileKind;
  recurrency?: Recurrency;
  /** Wall-clock ms since the epoch. */
  validFrom?: number;
  validTo?: number;
  /** Tx only: the transaction it belongs to (protocol-specific id as a string). */
  transactionId?: string;
  unit: RateUnit;
  /** Wall-clock ms; required for Recurring. */
  startSchedule?: number;
  /** Seconds; absent = open-ended. */
  duration?: number;
  minRate?: number;
  /** Ascending start; at least one. */
  periods: SchedulePeriod[];
}

export interface EngineOptions {
  /** Line-to-neutral voltage for A <-> W, V. */
  nominalVoltage: number;
  /** Limit (A per phase) and phases of a composite schedule where no Tx/TxDefault profile applies. */
  gapLimitA: number;
  gapPhases: number;
  /** Phases the connector can use at most (the board's wiring); default 3. */
  connectorPhases?: number;
  /** Connector 0: "sum" (the grid connection's total, default) or "max" (the largest connector). */
  station?: "sum" | "max";
}

/** A connector's transaction as the engine needs it. */
export interface ConnectorTx {
  /** Wall-clock ms the transaction started (the anchor of Relative schedules). */
  start: number;
  /** The transaction id (for Tx profiles that carry one); undefined while unknown. */
  id?: string;
}

export interface Situation {
  /** Connectors 1..connectors exist. */
  connectors: number;
  /** The transaction on a connector, or null. */
  tx(connector: number): ConnectorTx | null;
}

export interface LimitSource {
  purpose: Purpose;
  id: number;
  stackLevel: number;
  connector: number;
}

export interface CompositePeriod {
  /** Seconds from the schedule start. */
  start: number;
  limit: number;
  phases: number;
  /** The profile whose period set the limit; null for the gap default or a connector-0 sum. */
  source: LimitSource | null;
}

export interface CompositeSchedule {
  /** Wall-clock ms (whole seconds). */
  start: number;
  /** Seconds. */
  duration: number;
  unit: RateUnit;
  periods: CompositePeriod[];
  /** The minimum charging rate of the Tx/TxDefault profile in force at the start, in `unit`, if any. */
  minRate?: number;
}

export interface Evaluation {
  limit: number;
  phases: number;
  source: LimitSource | null;
  minRate: number;
}

export const DAY_S = 86_400;
export const WEEK_S = 7 * DAY_S;

/** Conversion between A per phase and W. */
export function convert(limit: number, from: RateUnit, to: RateUnit, phases: number, volts: number): number {
  if (from === to) return limit;
  return from === "A" ? limit * volts * phases : limit / (volts * phases);
}

/**
 * The anchor (wall ms) of the schedule occurrence that covers t, or NaN when the profile has no schedule
 * running at t (not yet started, or no anchor at all).
 */
function anchorAt(p: ChargingProfile, t: number, relStart: number): number {
  if (p.kind === "Recurring") {
    const s0 = p.startSchedule;
    if (s0 === undefined) return NaN;
    const periodMs = (p.recurrency === "Weekly" ? WEEK_S : DAY_S) * 1000;
    return s0 + Math.floor((t - s0) / periodMs) * periodMs;
  }
  if (p.kind === "Absolute" && p.startSchedule !== undefined) return p.startSchedule;
  return relStart;
}

function effectiveDurationS(p: ChargingProfile): number {
  const rec = p.kind === "Recurring" ? (p.recurrency === "Weekly" ? WEEK_S : DAY_S) : Infinity;
  const d = p.duration === undefined ? Infinity : p.duration;
  return d < rec ? d : rec;
}

/** The index of p's period in force at t, or -1 (not valid, not started, ended, or before its first period). */
export function periodAt(p: ChargingProfile, t: number, relStart: number): number {
  if (p.validFrom !== undefined && t < p.validFrom) return -1;
  if (p.validTo !== undefined && t >= p.validTo) return -1;
  const anchor = anchorAt(p, t, relStart);
  if (!(anchor === anchor)) return -1;
  const offset = (t - anchor) / 1000;
  if (offset < 0 || offset >= effectiveDurationS(p)) return -1;
  const ps = p.periods;
  let found = -1;
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].start <= offset) found = i;
    else break;
  }
  return found;
}

/** Adds to `out` every instant in (from, to) at which p's period in force may change. */
function boundaries(p: ChargingProfile, from: number, to: number, relStart: number, out: number[]): void {
  const push = (b: number) => {
    if (b > from && b < to) out.push(b);
  };
  if (p.validFrom !== undefined) push(p.validFrom);
  if (p.validTo !== undefined) push(p.validTo);
  const dur = effectiveDurationS(p);
  const emit = (anchor: number) => {
    for (const period of p.periods) if (period.start < dur) push(anchor + period.start * 1000);
    if (dur !== Infinity) push(anchor + dur * 1000);
  };
  if (p.kind === "Recurring") {
    const s0 = p.startSchedule;
    if (s0 === undefined) return;
    const periodMs = (p.recurrency === "Weekly" ? WEEK_S : DAY_S) * 1000;
    const first = Math.floor((from - s0) / periodMs);
    const last = Math.floor((to - s0) / periodMs);
    for (let k = first; k <= last; k++) emit(s0 + k * periodMs);
    return;
  }
  emit(anchorAt(p, from, relStart));
}

interface Contribution {
  limit: number;
  unit: RateUnit;
  phases: number;
  source: LimitSource | null;
}

function sourceOf(p: ChargingProfile): LimitSource {
  return { purpose: p.purpose, id: p.id, stackLevel: p.stackLevel, connector: p.connector };
}

export class CompositeEngine {
  readonly options: Required<EngineOptions>;

  constructor(options: EngineOptions) {
    if (!(options.nominalVoltage > 0)) throw new RangeError("nominalVoltage must be > 0");
    if (!(options.gapLimitA >= 0)) throw new RangeError("gapLimitA must be >= 0");
    const cp = options.connectorPhases ?? 3;
    if (![1, 2, 3].includes(options.gapPhases) || ![1, 2, 3].includes(cp)) throw new RangeError("phases must be 1..3");
    this.options = { connectorPhases: cp, station: options.station ?? "sum", ...options } as Required<EngineOptions>;
    this.options.connectorPhases = cp;
    if (this.options.station !== "sum" && this.options.station !== "max") throw new RangeError("station must be sum or max");
  }

  /** The highest-stack profile of `purpose` on `connector` that has a period at t (its period index in `idx`). */
  private best(profiles: readonly ChargingProfile[], purpose: Purpose, connector: number, t: number, relStart: number, txId: string | undefined, hasTx: boolean): { p: ChargingProfile; i: number } | null {
    let best: ChargingProfile | null = null;
    let bestI = -1;
    for (const p of profiles) {
      if (p.purpose !== purpose || p.connector !== connector) continue;
      if (purpose === "Tx") {
        if (!hasTx) continue;
        if (p.transactionId !== undefined && p.transactionId !== txId) continue;
      }
      if (best !== null && p.stackLevel <= best.stackLevel) continue;
      const i = periodAt(p, t, relStart);
      if (i < 0) continue;
      best = p;
      bestI = i;
    }
    return best ? { p: best, i: bestI } : null;
  }

  private contribution(hit: { p: ChargingProfile; i: number }): Contribution {
    const period = hit.p.periods[hit.i];
    return { limit: period.limit, unit: hit.p.unit, phases: period.phases ?? 3, source: sourceOf(hit.p) };
  }

  private combine(list: Contribution[], unit: RateUnit): Evaluation | null {
    if (list.length === 0) return null;
    let phases = this.options.connectorPhases;
    for (const c of list) if (c.phases < phases) phases = c.phases;
    let best: Evaluation | null = null;
    for (const c of list) {
      const v = convert(c.limit, c.unit, unit, phases, this.options.nominalVoltage);
      if (best === null || v < best.limit) best = { limit: v, phases, source: c.source, minRate: 0 };
    }
    return best;
  }

  /** The caps of `connector` (ChargePointMax and ExternalConstraints there). */
  private caps(profiles: readonly ChargingProfile[], connector: number, t: number, relStart: number, out: Contribution[]): void {
    const m = this.best(profiles, "ChargePointMax", connector, t, relStart, undefined, false);
    if (m) out.push(this.contribution(m));
    const x = this.best(profiles, "ExternalConstraints", connector, t, relStart, undefined, false);
    if (x) out.push(this.contribution(x));
  }

  /**
   * One connector (>= 1) at t. `withGap`: fill a missing Tx/TxDefault with the gap default; `stationCaps`: apply
   * the connector-0 caps too. `windowStart` anchors Relative schedules of a connector without a transaction.
   */
  evaluateConnector(profiles: readonly ChargingProfile[], sit: Situation, connector: number, t: number, unit: RateUnit, withGap: boolean, stationCaps: boolean, windowStart: number): Evaluation | null {
    const tx = sit.tx(connector);
    const rel = tx ? tx.start : windowStart;
    const list: Contribution[] = [];
    const hit =
      this.best(profiles, "Tx", connector, t, rel, tx?.id, tx !== null) ??
      this.best(profiles, "TxDefault", connector, t, rel, undefined, false) ??
      this.best(profiles, "TxDefault", 0, t, rel, undefined, false);
    let minRate = 0;
    if (hit) {
      list.push(this.contribution(hit));
      minRate = hit.p.minRate ?? 0;
    } else if (withGap) {
      list.push({ limit: this.options.gapLimitA, unit: "A", phases: this.options.gapPhases, source: null });
    }
    this.caps(profiles, connector, t, windowStart, list);
    if (stationCaps) this.caps(profiles, 0, t, windowStart, list);
    const e = this.combine(list, unit);
    if (e && hit && minRate > 0) e.minRate = convert(minRate, hit.p.unit, unit, e.phases, this.options.nominalVoltage);
    return e;
  }

  /** The station (connector 0) at t: the connectors summed (or the largest), capped by the station caps. */
  evaluateStation(profiles: readonly ChargingProfile[], sit: Situation, t: number, unit: RateUnit, windowStart: number): Evaluation | null {
    const list: Contribution[] = [];
    if (sit.connectors > 0) {
      let total = 0;
      let phases = 0;
      let single: LimitSource | null = null;
      for (let c = 1; c <= sit.connectors; c++) {
        const e = this.evaluateConnector(profiles, sit, c, t, unit, true, false, windowStart)!;
        if (this.options.station === "max") {
          if (e.limit > total) {
            total = e.limit;
            single = e.source;
          }
        } else total += e.limit;
        if (e.phases > phases) phases = e.phases;
        if (sit.connectors === 1) single = e.source;
      }
      list.push({ limit: total, unit, phases, source: single });
    } else {
      list.push({ limit: this.options.gapLimitA, unit: "A", phases: this.options.gapPhases, source: null });
    }
    this.caps(profiles, 0, t, windowStart, list);
    return this.combine(list, unit);
  }

  /** The profiles that matter for `connector` (0: all). */
  private relevant(profiles: readonly ChargingProfile[], connector: number): ChargingProfile[] {
    return connector === 0 ? profiles.slice() : profiles.filter((p) => p.connector === connector || p.connector === 0);
  }

  /** Every instant in (from, to) at which the result for `connector` may change, sorted, unique. */
  private allBoundaries(profiles: readonly ChargingProfile[], sit: Situation, connector: number, from: number, to: number, windowStart: number, floating: boolean): number[] {
    const out: number[] = [];
    const list = this.relevant(profiles, connector);
    const conns: number[] = [];
    if (connector === 0) for (let c = 1; c <= sit.connectors; c++) conns.push(c);
    else conns.push(connector);
    for (const p of list) {
      const anchored = p.kind === "Recurring" || (p.kind === "Absolute" && p.startSchedule !== undefined);
      if (anchored || p.purpose === "ChargePointMax" || p.purpose === "ExternalConstraints") {
        boundaries(p, from, to, windowStart, out);
        continue;
      }
      for (const c of conns) {
        if (p.connector !== 0 && p.connector !== c) continue;
        const tx = sit.tx(c);
        if (!tx && !floating) {
          // Only validity matters for a schedule that floats with the window (no transaction to anchor it).
          if (p.validFrom !== undefined && p.validFrom > from && p.validFrom < to) out.push(p.validFrom);
          if (p.validTo !== undefined && p.validTo > from && p.validTo < to) out.push(p.validTo);
          continue;
        }
        boundaries(p, from, to, tx ? tx.start : windowStart, out);
      }
    }
    out.sort((a, b) => a - b);
    let n = 0;
    for (let i = 0; i < out.length; i++) if (n === 0 || out[i] !== out[n - 1]) out[n++] = out[i];
    out.length = n;
    return out;
  }

  /**
   * The composite schedule of `connector` (0 = the station) over [start, start + durationS), in `unit`.
   * `start` is truncated to whole seconds; boundaries inside the window are rounded up to whole seconds.
   */
  composite(profiles: readonly ChargingProfile[], sit: Situation, connector: number, start: number, durationS: number, unit: RateUnit): CompositeSchedule {
    const t0 = Math.floor(start / 1000) * 1000;
    const end = t0 + durationS * 1000;
    const bounds = this.allBoundaries(profiles, sit, connector, t0, end, t0, true);
    const periods: CompositePeriod[] = [];
    let minRate = 0;
    const at = (t: number): Evaluation =>
      connector === 0 ? this.evaluateStation(profiles, sit, t, unit, t0)! : this.evaluateConnector(profiles, sit, connector, t, unit, true, true, t0)!;
    const add = (t: number) => {
      const e = at(t);
      const s = Math.ceil((t - t0) / 1000);
      if (periods.length === 0) minRate = e.minRate;
      const last = periods[periods.length - 1];
      if (last && last.start === s) {
        last.limit = e.limit;
        last.phases = e.phases;
        last.source = e.source;
      } else if (!last || last.limit !== e.limit || last.phases !== e.phases) {
        periods.push({ start: s, limit: e.limit, phases: e.phases, source: e.source });
      }
      // Merging can make two neighbours equal after an overwrite at the same second.
      const n = periods.length;
      if (n >= 2 && periods[n - 1].limit === periods[n - 2].limit && periods[n - 1].phases === periods[n - 2].phases) periods.length = n - 1;
    };
    add(t0);
    for (const b of bounds) {
      const s = Math.ceil((b - t0) / 1000);
      if (s >= durationS) break;
      add(t0 + s * 1000);
    }
    const out: CompositeSchedule = { start: t0, duration: durationS, unit, periods };
    if (minRate > 0) out.minRate = minRate;
    return out;
  }

  /** The live limit of `connector` at t in A per phase (a W limit converted), or null when no profile applies. */
  limitAt(profiles: readonly ChargingProfile[], sit: Situation, connector: number, t: number): Evaluation | null {
    return this.evaluateConnector(profiles, sit, connector, t, "A", false, true, t);
  }

  /**
   * The first instant after t, up to t + horizonMs, at which the live limit of `connector` may change (a period
   * boundary, a validity edge, a schedule's end), or null. Schedules that float with "now" (Relative without a
   * transaction) contribute only their validity edges.
   */
  nextBoundary(profiles: readonly ChargingProfile[], sit: Situation, connector: number, t: number, horizonMs: number): number | null {
    const b = this.allBoundaries(profiles, sit, connector, t, t + horizonMs + 1, t, false);
    return b.length > 0 ? b[0] : null;
  }
}

/** Limits a profile store imposes (the 1.6 read-only keys of the same names). */
export interface ProfileLimits {
  maxStackLevel: number;
  maxPeriods: number;
  maxProfiles: number;
  allowedUnits: readonly RateUnit[];
}

/** Why a profile is not acceptable on its own (protocol-neutral rules), or null. */
export function checkProfile(p: ChargingProfile, limits: ProfileLimits, connectors: number): string | null {
  if (!Number.isInteger(p.id)) return "id is not an integer";
  if (!Number.isInteger(p.connector) || p.connector < 0 || p.connector > connectors) return "no such connector";
  if (!Number.isInteger(p.stackLevel) || p.stackLevel < 0 || p.stackLevel > limits.maxStackLevel) return `stackLevel outside 0..${limits.maxStackLevel}`;
  if (p.purpose === "ChargePointMax" && p.connector !== 0) return "ChargePointMax only on connector 0";
  if (p.purpose === "Tx" && p.connector === 0) return "Tx profiles need a connector";
  if (p.transactionId !== undefined && p.purpose !== "Tx") return "transactionId only with Tx";
  if (!limits.allowedUnits.includes(p.unit)) return `unit ${p.unit} not allowed`;
  if (p.kind === "Recurring" && (p.startSchedule === undefined || p.recurrency === undefined)) return "Recurring needs startSchedule and recurrencyKind";
  if (p.validFrom !== undefined && !Number.isFinite(p.validFrom)) return "bad validFrom";
  if (p.validTo !== undefined && !Number.isFinite(p.validTo)) return "bad validTo";
  if (p.validFrom !== undefined && p.validTo !== undefined && p.validTo <= p.validFrom) return "validTo is not after validFrom";
  if (p.startSchedule !== undefined && !Number.isFinite(p.startSchedule)) return "bad startSchedule";
  if (p.duration !== undefined && !(Number.isInteger(p.duration) && p.duration >= 0)) return "bad duration";
  if (p.minRate !== undefined && !(Number.isFinite(p.minRate) && p.minRate >= 0)) return "bad minChargingRate";
  const ps = p.periods;
  if (!Array.isArray(ps) || ps.length === 0) return "no periods";
  if (ps.length > limits.maxPeriods) return `more than ${limits.maxPeriods} periods`;
  let prev = -1;
  for (const q of ps) {
    if (!Number.isInteger(q.start) || q.start < 0 || q.start <= prev) return "startPeriod not ascending from 0";
    prev = q.start;
    if (typeof q.limit !== "number" || !Number.isFinite(q.limit) || q.limit < 0) return "bad limit";
    if (q.phases !== undefined && !(q.phases === 1 || q.phases === 2 || q.phases === 3)) return "numberPhases outside 1..3";
  }
  return null;
}

/**
 * The installed profiles: replacement (same id anywhere; same connector + purpose + stackLevel) and clearing.
 * The protocol module persists what `install` and `clear` report.
 */
export class ProfileSet {
  private readonly list: ChargingProfile[] = [];

  get profiles(): readonly ChargingProfile[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  /** The profiles `p` would replace. */
  replacedBy(p: ChargingProfile): ChargingProfile[] {
    return this.list.filter((q) => q.id === p.id || (q.connector === p.connector && q.purpose === p.purpose && q.stackLevel === p.stackLevel));
  }

  /** Installs p, returning the profiles it replaced. */
  install(p: ChargingProfile): ChargingProfile[] {
    const gone = this.replacedBy(p);
    this.remove(gone);
    this.list.push(p);
    return gone;
  }

  /** Removes every profile that matches, returning them. */
  clear(match: (p: ChargingProfile) => boolean): ChargingProfile[] {
    const gone = this.list.filter(match);
    this.remove(gone);
    return gone;
  }

  private remove(gone: readonly ChargingProfile[]): void {
    for (const g of gone) {
      const i = this.list.indexOf(g);
      if (i >= 0) this.list.splice(i, 1);
    }
  }
}
