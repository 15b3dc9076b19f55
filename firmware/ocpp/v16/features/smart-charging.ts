/**
 * SmartCharging feature profile (OCPP 1.6): SetChargingProfile, ClearChargingProfile, GetCompositeSchedule, the
 * chargingProfile of RemoteStartTransaction (through `remoteStartProfile`, used by remote.ts), over the
 * protocol-neutral engine of ../../smart-charging/.
 *
 * - Profiles are persisted in the "ocpp" key-value store, one entry per profile (keys "scp0".."scpN"), bounded by
 *   the read-only keys MaxChargingProfilesInstalled, ChargeProfileMaxStackLevel, ChargingScheduleMaxPeriods and
 *   ChargingScheduleAllowedChargingRateUnit. TxProfiles die with their transaction (also across a reboot).
 * - The connector's current limit is the arbiter's "ocpp" claim (reason e.g. "TxProfile #7 stack 2"); W limits are
 *   converted with the board's nominal voltage and the schedule's phases (at most the board's). A HAL timer is
 *   set to the next period boundary; the limit is recomputed when profiles, the transaction or the wall clock
 *   change.
 */
import type { TimerId } from "../../../../hal/index.js";
import { isoTime, parseIsoTime } from "../../../util/time.js";
import { decodeProfile, encodeProfile } from "../../smart-charging/codec.js";
import {
  checkProfile,
  CompositeEngine,
  ProfileSet,
  type ChargingProfile,
  type CompositeSchedule,
  type EngineOptions,
  type LimitSource,
  type ProfileLimits,
  type Purpose,
  type RateUnit,
  type Situation,
} from "../../smart-charging/engine.js";
import type { Ocpp16Context, Ocpp16Events, Ocpp16Feature } from "../context.js";

/** Defaults of the read-only capability keys. */
export const SMART_CHARGING_LIMITS = { maxStackLevel: 8, maxPeriods: 48, maxProfiles: 16 } as const;
/** GetCompositeSchedule answers at most this long a schedule (s); a longer request gets this duration. */
export const MAX_COMPOSITE_S = 7 * 86_400;
/** How far ahead the next boundary is looked for (ms); without one the timer re-plans at that horizon. */
const HORIZON_MS = 8 * 86_400_000;
/** Key-value entries hold at most 4,000 bytes. */
const MAX_ENCODED = 3_900;
const KEY_PREFIX = "scp";

const PURPOSE_16: Record<string, Purpose> = { ChargePointMaxProfile: "ChargePointMax", TxDefaultProfile: "TxDefault", TxProfile: "Tx" };

export function purposeName16(p: Purpose): string {
  return p === "ChargePointMax" ? "ChargePointMaxProfile" : p === "TxDefault" ? "TxDefaultProfile" : p === "Tx" ? "TxProfile" : p;
}

/** The arbiter reason for a limit, e.g. "TxProfile #7 stack 2". */
export function reason16(s: LimitSource): string {
  return `${purposeName16(s.purpose)} #${s.id} stack ${s.stackLevel}`;
}

function time(v: unknown): number | undefined | null {
  if (v === undefined) return undefined;
  const t = typeof v === "string" ? parseIsoTime(v) : NaN;
  return Number.isFinite(t) ? t : null;
}

/**
 * A 1.6 csChargingProfiles object (schema-validated) to the engine's form, or a reason why not.
 * `connectorId` is the connector it is set on.
 */
export function fromOcpp16(cp: Record<string, unknown>, connectorId: number): ChargingProfile | string {
  const purpose = PURPOSE_16[cp["chargingProfilePurpose"] as string];
  if (!purpose) return "unknown purpose";
  const s = cp["chargingSchedule"] as Record<string, unknown>;
  const unit = s["chargingRateUnit"];
  if (unit !== "A" && unit !== "W") return "unknown unit";
  const kind = cp["chargingProfileKind"] as ChargingProfile["kind"];
  const raw = s["chargingSchedulePeriod"] as Array<Record<string, unknown>>;
  const p: ChargingProfile = {
    id: cp["chargingProfileId"] as number,
    connector: connectorId,
    stackLevel: cp["stackLevel"] as number,
    purpose,
    kind,
    unit,
    periods: raw.map((q) => (q["numberPhases"] === undefined ? { start: q["startPeriod"] as number, limit: q["limit"] as number } : { start: q["startPeriod"] as number, limit: q["limit"] as number, phases: q["numberPhases"] as number })),
  };
  if (kind === "Recurring" && cp["recurrencyKind"] !== undefined) p.recurrency = cp["recurrencyKind"] as "Daily" | "Weekly";
  const vf = time(cp["validFrom"]);
  const vt = time(cp["validTo"]);
  const ss = time(s["startSchedule"]);
  if (vf === null || vt === null || ss === null) return "unreadable date-time";
  if (vf !== undefined) p.validFrom = vf;
  if (vt !== undefined) p.validTo = vt;
  // A Relative schedule has no start of its own (a startSchedule there is ignored).
  if (ss !== undefined && kind !== "Relative") p.startSchedule = ss;
  if (cp["transactionId"] !== undefined) p.transactionId = String(cp["transactionId"]);
  if (s["duration"] !== undefined) p.duration = s["duration"] as number;
  if (s["minChargingRate"] !== undefined) p.minRate = s["minChargingRate"] as number;
  return p;
}

/** 1.6 limits have at most one decimal: round down, never above the computed limit. */
export function limit16(v: number): number {
  return Math.floor(v * 10 + 1e-6) / 10;
}

/** The engine's composite schedule as a 1.6 ChargingSchedule. */
export function toOcpp16Schedule(cs: CompositeSchedule): Record<string, unknown> {
  const periods: Array<{ startPeriod: number; limit: number; numberPhases: number }> = [];
  for (const q of cs.periods) {
    const limit = limit16(q.limit);
    const last = periods[periods.length - 1];
    if (last && last.limit === limit && last.numberPhases === q.phases) continue;
    periods.push({ startPeriod: q.start, limit, numberPhases: q.phases });
  }
  const out: Record<string, unknown> = {
    duration: cs.duration,
    startSchedule: isoTime(cs.start),
    chargingRateUnit: cs.unit,
    chargingSchedulePeriod: periods,
  };
  if (cs.minRate !== undefined) out["minChargingRate"] = limit16(cs.minRate);
  return out;
}

/** Engine options from the board and configuration: the charger's own maximum fills gaps. */
export function engineOptions16(ctx: Ocpp16Context): EngineOptions {
  const b = ctx.hal.board;
  const gap = Math.min(b.ratedCurrent, ctx.config.installerCurrentLimit);
  return { nominalVoltage: b.nominalVoltage, gapLimitA: gap, gapPhases: b.phases, connectorPhases: b.phases, station: "sum" };
}

const instances = new WeakMap<Ocpp16Context, SmartCharging16>();

/**
 * For RemoteStartTransaction.req with a chargingProfile: null when the profile is unacceptable (answer
 * Rejected); else a commit function to call once the remote start is Accepted (the profile becomes the TxProfile
 * of the transaction that this authorization starts). Without the SmartCharging module the profile is ignored.
 */
export function remoteStartProfile(ctx: Ocpp16Context, raw: Record<string, unknown>): ((idTag: string) => void) | null {
  const sc = instances.get(ctx);
  if (!sc) return () => {};
  return sc.remoteStartProfile(raw);
}

/** The running module of a charge point (tests, status pages). */
export function smartChargingOf(ctx: Ocpp16Context): SmartCharging16 | undefined {
  return instances.get(ctx);
}

export class SmartCharging16 {
  readonly engine: CompositeEngine;
  readonly set = new ProfileSet();
  /** Storage slot of each installed profile id. */
  private readonly slots = new Map<number, number>();
  private timer: TimerId | 0 = 0;
  private offset = NaN;
  private lastReason = "";
  private lastAmps = NaN;
  private pending: { profile: ChargingProfile; idTag: string } | null = null;
  /** Recomputations of the live limit (for tests: a counter, not a timing). */
  recomputations = 0;
  private readonly situation: Situation;

  constructor(private readonly ctx: Ocpp16Context) {
    this.engine = new CompositeEngine(engineOptions16(ctx));
    const keys = ctx.keys;
    keys.define("ChargeProfileMaxStackLevel", { type: "integer", default: String(SMART_CHARGING_LIMITS.maxStackLevel), readonly: true });
    keys.define("ChargingScheduleAllowedChargingRateUnit", { type: "csl", default: "Current,Power", readonly: true, values: ["Current", "Power"] });
    keys.define("ChargingScheduleMaxPeriods", { type: "integer", default: String(SMART_CHARGING_LIMITS.maxPeriods), readonly: true });
    keys.define("MaxChargingProfilesInstalled", { type: "integer", default: String(SMART_CHARGING_LIMITS.maxProfiles), readonly: true });
    keys.define("ConnectorSwitch3to1PhaseSupported", {
      type: "boolean",
      default: ctx.hal.board.contactors === 2 && ctx.hal.board.phases === 3 ? "true" : "false",
      readonly: true,
    });
    this.situation = {
      connectors: ctx.connectorId,
      tx: (c: number) => {
        const s = ctx.session.current;
        if (c !== ctx.connectorId || !s) return null;
        const id = ctx.tx.transactionId(s.number);
        return id === undefined ? { start: s.startWall } : { start: s.startWall, id: String(id) };
      },
    };
    this.load();
    instances.set(ctx, this);

    ctx.handle("SetChargingProfile", (p) => ({ status: this.setProfile(p["connectorId"] as number, p["csChargingProfiles"] as Record<string, unknown>) }));
    ctx.handle("ClearChargingProfile", (p) => ({ status: this.clearProfiles(p) }));
    ctx.handle("GetCompositeSchedule", (p) => this.getComposite(p));

    ctx.session.listen({
      started: (s) => {
        const pend = this.pending;
        this.pending = null;
        if (pend && s.source === "remote" && s.idTag === pend.idTag) this.install(pend.profile, "remote-start");
        this.recompute("transaction");
      },
      ended: () => {
        this.pending = null;
        const gone = this.set.clear((q) => q.purpose === "Tx");
        for (const g of gone) this.unstore(g.id);
        this.recompute("transaction");
      },
    });
    // clockSet: the wall clock was set from the CSMS; the other events are further moments to notice a change.
    const events: Ocpp16Events = {
      registered: () => this.recompute("clock"),
      connection: () => this.checkClock(),
      clockSet: () => this.checkClock(),
    };
    ctx.listen(events);
    this.recompute("boot");
  }

  get limits(): ProfileLimits {
    const units: RateUnit[] = [];
    for (const u of this.ctx.keys.getList("ChargingScheduleAllowedChargingRateUnit")) units.push(u === "Current" ? "A" : "W");
    return {
      maxStackLevel: this.ctx.keys.getInt("ChargeProfileMaxStackLevel"),
      maxPeriods: this.ctx.keys.getInt("ChargingScheduleMaxPeriods"),
      maxProfiles: this.ctx.keys.getInt("MaxChargingProfilesInstalled"),
      allowedUnits: units,
    };
  }

  /** Profiles from the store: damaged entries and TxProfiles (their transaction is over) are dropped. */
  private load(): void {
    const store = this.ctx.store;
    if (!store) return;
    const limits = this.limits;
    const keys = store.keys().filter((k) => k.startsWith(KEY_PREFIX)).sort();
    for (const k of keys) {
      const slot = Number(k.slice(KEY_PREFIX.length));
      const text = store.get(k);
      const p = text === undefined ? null : decodeProfile(text);
      const why = p === null ? "unreadable" : checkProfile(p, limits, this.ctx.connectorId);
      if (p === null || why !== null || p.purpose === "Tx" || !(slot >= 0) || this.set.size >= limits.maxProfiles || this.slots.has(p.id)) {
        store.delete(k);
        this.ctx.log("smart-charging", { event: "dropped", key: k, why: why ?? (p && p.purpose === "Tx" ? "transaction over" : "duplicate or over capacity") });
        continue;
      }
      this.set.install(p);
      this.slots.set(p.id, slot);
    }
  }

  private store(p: ChargingProfile): void {
    const store = this.ctx.store;
    if (!store) return;
    const used = new Set(this.slots.values());
    let slot = 0;
    while (used.has(slot)) slot++;
    try {
      store.set(KEY_PREFIX + slot, encodeProfile(p));
      this.slots.set(p.id, slot);
    } catch (e) {
      this.ctx.log("smart-charging", { event: "store-failed", id: p.id, message: (e as Error).message });
    }
  }

  private unstore(id: number): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    this.slots.delete(id);
    try {
      this.ctx.store?.delete(KEY_PREFIX + slot);
    } catch (e) {
      this.ctx.log("smart-charging", { event: "store-failed", id, message: (e as Error).message });
    }
  }

  private install(p: ChargingProfile, via: string): void {
    const gone = this.set.install(p);
    for (const g of gone) this.unstore(g.id);
    if (p.purpose !== "Tx") this.store(p);
    this.ctx.log("smart-charging", { event: "installed", via, id: p.id, purpose: purposeName16(p.purpose), stackLevel: p.stackLevel, connectorId: p.connector, replaced: gone.map((g) => g.id) });
  }

  /** Why the profile cannot be accepted (beyond the neutral checks), or null. */
  private refuse(p: ChargingProfile, remoteStart: boolean): string | null {
    const why = checkProfile(p, this.limits, this.ctx.connectorId);
    if (why) return why;
    if (encodeProfile(p).length > MAX_ENCODED) return "too large to store";
    const max = this.limits.maxProfiles;
    if (this.set.size - this.set.replacedBy(p).length + 1 > max) return `more than ${max} profiles`;
    if (p.purpose === "Tx" && !remoteStart) {
      const s = this.ctx.session.current;
      if (!s || p.connector !== this.ctx.connectorId) return "no transaction on the connector";
      const id = this.ctx.tx.transactionId(s.number);
      if (p.transactionId !== undefined && (id === undefined || String(id) !== p.transactionId)) return "not the connector's transaction";
    }
    return null;
  }

  setProfile(connectorId: number, cp: Record<string, unknown>): "Accepted" | "Rejected" {
    this.checkClock();
    const p = fromOcpp16(cp, connectorId);
    const why = typeof p === "string" ? p : this.refuse(p, false);
    if (why !== null || typeof p === "string") {
      this.ctx.log("smart-charging", { event: "rejected", id: Number(cp["chargingProfileId"]), why: why ?? "" });
      return "Rejected";
    }
    this.install(p, "SetChargingProfile");
    this.recompute("profiles");
    return "Accepted";
  }

  remoteStartProfile(raw: Record<string, unknown>): ((idTag: string) => void) | null {
    const p = fromOcpp16(raw, this.ctx.connectorId);
    const why = typeof p === "string" ? p : p.purpose !== "Tx" ? "not a TxProfile" : p.transactionId !== undefined ? "a transactionId before the transaction" : this.refuse(p, true);
    if (why !== null || typeof p === "string") {
      this.ctx.log("smart-charging", { event: "rejected", via: "RemoteStartTransaction", id: Number(raw["chargingProfileId"]), why: why ?? "" });
      return null;
    }
    return (idTag: string) => {
      this.pending = { profile: p, idTag };
    };
  }

  clearProfiles(req: Record<string, unknown>): "Accepted" | "Unknown" {
    const id = req["id"] as number | undefined;
    const connectorId = req["connectorId"] as number | undefined;
    const purpose = req["chargingProfilePurpose"] === undefined ? undefined : PURPOSE_16[req["chargingProfilePurpose"] as string];
    const stack = req["stackLevel"] as number | undefined;
    const gone = this.set.clear((q) =>
      id !== undefined
        ? q.id === id
        : (connectorId === undefined || q.connector === connectorId) && (purpose === undefined || q.purpose === purpose) && (stack === undefined || q.stackLevel === stack),
    );
    for (const g of gone) this.unstore(g.id);
    this.ctx.log("smart-charging", { event: "cleared", ids: gone.map((g) => g.id) });
    if (gone.length === 0) return "Unknown";
    this.recompute("profiles");
    return "Accepted";
  }

  getComposite(req: Record<string, unknown>): Record<string, unknown> {
    this.checkClock();
    const connectorId = req["connectorId"] as number;
    const duration = req["duration"] as number;
    const unit = (req["chargingRateUnit"] as RateUnit | undefined) ?? "A";
    const now = this.ctx.hal.clock.wall();
    if (connectorId < 0 || connectorId > this.ctx.connectorId || !(duration > 0) || now <= 0) return { status: "Rejected" };
    const cs = this.composite(connectorId, now, Math.min(duration, MAX_COMPOSITE_S), unit);
    return { status: "Accepted", connectorId, scheduleStart: isoTime(cs.start), chargingSchedule: toOcpp16Schedule(cs) };
  }

  /** The engine's composite schedule for this charge point's profiles and transaction. */
  composite(connectorId: number, start: number, durationS: number, unit: RateUnit): CompositeSchedule {
    return this.engine.composite(this.set.profiles, this.situation, connectorId, start, durationS, unit);
  }

  /** Recomputes when the wall clock moved against the monotonic clock since the last computation. */
  private checkClock(): void {
    const c = this.ctx.hal.clock;
    if (c.wall() - c.now() !== this.offset) this.recompute("clock");
  }

  /** The live limit now: the arbiter's "ocpp" claim, and a timer at the next boundary. */
  recompute(why: string): void {
    const hal = this.ctx.hal;
    if (this.timer) hal.timers.clear(this.timer);
    this.timer = 0;
    this.recomputations++;
    const t = hal.clock.wall();
    this.offset = t - hal.clock.now();
    const e = this.engine.limitAt(this.set.profiles, this.situation, this.ctx.connectorId, t);
    const arbiter = this.ctx.arbiter;
    if (e === null) {
      arbiter.clear("ocpp");
      if (this.lastReason !== "") this.ctx.log("smart-charging", { event: "limit", why, amps: null, reason: "" });
      this.lastReason = "";
      this.lastAmps = NaN;
    } else {
      const amps = e.limit < 0 ? 0 : e.limit;
      const reason = e.source ? reason16(e.source) : "ocpp";
      arbiter.set("ocpp", amps, reason, e.phases === 1 ? 1 : 3);
      if (reason !== this.lastReason || amps !== this.lastAmps) this.ctx.log("smart-charging", { event: "limit", why, amps, phases: e.phases, reason });
      this.lastReason = reason;
      this.lastAmps = amps;
    }
    const next = this.engine.nextBoundary(this.set.profiles, this.situation, this.ctx.connectorId, t, HORIZON_MS);
    const at = next === null ? t + HORIZON_MS : next;
    this.timer = hal.timers.set(() => {
      this.timer = 0;
      this.recompute("boundary");
    }, Math.max(0, at - t));
  }
}

export const smartCharging: Ocpp16Feature = {
  name: "smart-charging",
  install(ctx: Ocpp16Context): void {
    new SmartCharging16(ctx);
  },
};
