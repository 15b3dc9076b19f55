/**
 * What the DIN 70121 / ISO 15118-2 session machines see of the charger (EvseSnapshot, read fresh for every
 * request), what they ask of it (SessionAction), and PhysicalValue helpers. Platform-neutral, no allocation in the
 * helpers beyond the value records themselves.
 */

export type IsolationLevel = "Invalid" | "Valid" | "Warning" | "Fault" | "No_IMD";

/** The DC side of the charger (power module + isolation monitor), null on an AC charger. */
export interface DcSnapshot {
  /** Measured at the output, V and A. */
  presentVoltage: number;
  presentCurrent: number;
  /** The power module's rating. */
  maxVoltage: number;
  minVoltage: number;
  maxCurrent: number;
  minCurrent: number;
  maxPower: number;
  /** Isolation monitor result of the last/current test ("Invalid" while none is finished). */
  isolation: IsolationLevel;
  /** The isolation test runs. */
  isolationRunning: boolean;
  /** The power module reports a fault. */
  fault: boolean;
}

/** One period of the charger's limit ahead (the OCPP composite schedule capped by the other claims). */
export interface SchedulePeriod {
  /** Seconds from now (the first is 0). */
  start: number;
  /** A per phase (AC-equivalent on DC), and the phases it allows. */
  amps: number;
  phases: 1 | 3;
}

/** The limit ahead, asked for only when a schedule is built (ChargeParameterDiscovery). */
export interface ScheduleSource {
  /** At most `max` periods covering the next 24 h, or null when nothing is known beyond the present limit. */
  periods(max: number): readonly SchedulePeriod[] | null;
}

export interface EvseSnapshot {
  /** Monotonic ms. */
  now: number;
  /** External identification done (RFID, app, free charging): AuthorizationRes / ContractAuthenticationRes Finished. */
  authorized: boolean;
  /**
   * The current the charger may give, A per phase (AC) from the limit arbiter, WITHOUT the EV's own claim (the EV
   * must see what the charger could give, not its own request echoed back).
   */
  limitAmps: number;
  /** Phases in use (AC) and the nominal line-to-neutral voltage, V. */
  phases: 1 | 3;
  nominalVoltage: number;
  /** The charger wants the session to end (stop request, deauthorized, unavailable, fault): EVSENotification StopCharging. */
  stopRequested: boolean;
  /** A residual-current trip latched (AC_EVSEStatus.RCD). */
  rcd: boolean;
  /** Emergency: fault on the charger side (weld, contactor, RCD, power module): EVSE_EmergencyShutdown / FAILED. */
  emergency: boolean;
  dc: DcSnapshot | null;
  /** The limit ahead (SAScheduleList); absent or null: one 24 h entry at limitAmps. */
  schedule?: ScheduleSource | null;
}

export function defaultSnapshot(): EvseSnapshot {
  return { now: 0, authorized: true, limitAmps: 16, phases: 3, nominalVoltage: 230, stopRequested: false, rcd: false, emergency: false, dc: null };
}

/** What a message asks the charger to do. The host applies them in order, after the response is built. */
export type SessionAction =
  /** The EV's limit as an arbiter claim ("ev"), A per phase (AC equivalent for DC). */
  | { type: "ev-limit"; amps: number; reason: string }
  /** The EV's state of charge, %. */
  | { type: "ev-soc"; soc: number }
  /** Start the isolation test at this voltage (CableCheck). */
  | { type: "isolation-start"; voltage: number }
  /** DC power module: on with these setpoints, or off (enable false). */
  | { type: "dc-output"; enable: boolean; voltage: number; current: number }
  /** Energy transfer allowed (AC: the contactor may close once the EV is in C; DC: the output contactor). */
  | { type: "energy"; on: boolean }
  /** Safe stop: power module off, isolation test off, contactor open, EV claim 0 A until unplug. */
  | { type: "safe-stop"; reason: string };

export type SessionEnd = "terminate" | "pause" | "failed";

export interface StepResult {
  /** The response document: { V2G_Message: {...} } (grammar din / iso2). */
  response: Record<string, unknown>;
  actions: SessionAction[];
  /** Non-null: the session is over once the response is sent (the host closes the channel). */
  end: SessionEnd | null;
  /** The request's message name (e.g. "CurrentDemandReq"), "?" when unknown. */
  request: string;
}

export interface PhysicalValue {
  Multiplier: number;
  Unit: string;
  Value: number;
}

/**
 * A PhysicalValue for `v`: the smallest multiplier (-3..3) whose short Value (|Value| ≤ 32767) holds v, i.e. the
 * most precise representation; values too large for 32767·10^3 are clamped.
 */
export function pv(v: number, unit: string): PhysicalValue {
  if (!Number.isFinite(v)) v = 0;
  // Start at the first multiplier that can fit: for every smaller one |v / 10^m| ≥ 32769 (so the scan below picks
  // the same m as a scan from -3 would). On XS this takes pv() from ~170-240 to ~90 units (charge loop: 5-6 per
  // response).
  const a = v < 0 ? -v : v;
  let m = a < 32.769 ? -3 : a < 327.69 ? -2 : a < 3276.9 ? -1 : a < 32769 ? 0 : a < 327690 ? 1 : a < 3276900 ? 2 : 3;
  for (; m <= 3; m++) {
    const scaled = Math.round(v / POW10[m + 3]!);
    if (scaled <= 32767 && scaled >= -32768) return { Multiplier: m, Unit: unit, Value: scaled };
  }
  return { Multiplier: 3, Unit: unit, Value: v > 0 ? 32767 : -32768 };
}

const POW10 = [0.001, 0.01, 0.1, 1, 10, 100, 1000];

/** The number a received PhysicalValue stands for; NaN when it is not a valid one (or has another unit). */
export function pvValue(x: unknown, unit: string): number {
  // null / undefined: no value; any other non-object has no such properties (undefined: NaN below)
  if (x == null) return NaN;
  const o = x as Record<string, unknown>;
  const m = o["Multiplier"];
  const v = o["Value"];
  const u = o["Unit"];
  // POW10[m + 3] is undefined for any number that is not an integer in -3..3 (NaN, 1.5, 4): one lookup instead of
  // the range tests and Number.isInteger (~120 -> ~90 units on XS; the charge loop reads four per request).
  const p = typeof m === "number" ? POW10[m + 3] : undefined;
  if (p === undefined || typeof v !== "number" || (u !== unit && u !== undefined)) return NaN;
  return v * p;
}

/**
 * pv() with a one-entry memory: the same value gives the same record again (~25 units on XS instead of ~110). For
 * values that stay put while charging (the charger's limits in every CurrentDemandRes). The records are shared by
 * the responses that carry them: a response is never modified after it is built.
 */
export class PvMemo {
  #v = NaN;
  #r: PhysicalValue | null = null;
  constructor(readonly unit: string) {}
  get(v: number): PhysicalValue {
    if (v === this.#v && this.#r !== null) return this.#r;
    this.#v = v;
    return (this.#r = pv(v, this.unit));
  }
}

/** Upper-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
  return s;
}
const HEX = "0123456789ABCDEF";
