/**
 * The limit arbiter: every source that may restrict the charging current files a CLAIM (amps per phase, with a
 * reason); the lowest claim wins, and the winning claim is kept with its provenance so the firmware can always
 * answer "why is it 10 A?" (source + reason + since when).
 *
 * - One preallocated slot per source: set() with unchanged values returns at once (no allocation, no version
 *   bump); a steady-state tick allocates nothing.
 * - No claim at all means 0 A (fail-safe: the "hardware" claim is expected to be filed at start-up).
 * - Phases (1 or 3) are part of the effective result: the phases the hardware provides now (setPhases, e.g. the
 *   core's phasesActive) lowered by any claim's maxPhases (e.g. an EV that charges on one phase), for W -> A.
 * - "v2g" is not a limit: it is a signed SETPOINT (negative = discharge). It never takes part in the lowest-wins
 *   choice; `setpoint` is NaN without a v2g claim, else the claim clamped to the import limit when positive, and
 *   passed through when negative (discharge limits will be claims of their own when V2G lands).
 */

export type LimitSource = "hardware" | "cable" | "installer" | "thermal" | "site" | "ocpp" | "ev" | "v2g" | "user";

/** All sources, in tie-break order (on equal amps the earlier source wins, unless the current winner is tied). */
export const LIMIT_SOURCES: readonly LimitSource[] = ["hardware", "cable", "installer", "thermal", "site", "ocpp", "ev", "v2g", "user"];

const V2G = 7;

function sourceIndex(source: string): number {
  switch (source) {
    case "hardware": return 0;
    case "cable": return 1;
    case "installer": return 2;
    case "thermal": return 3;
    case "site": return 4;
    case "ocpp": return 5;
    case "ev": return 6;
    case "v2g": return 7;
    case "user": return 8;
    default: return -1;
  }
}

export interface Claim {
  readonly source: LimitSource;
  /** A per phase (v2g: signed setpoint, negative = discharge). */
  readonly amps: number;
  readonly reason: string;
  /** Clock time the claim last changed value. */
  readonly since: number;
  /** The most phases this source allows (3 = no restriction). */
  readonly maxPhases: 1 | 3;
}

export interface Winner {
  readonly source: LimitSource;
  readonly amps: number;
  readonly reason: string;
  /** Clock time the effective limit last changed (source, amps or reason). */
  readonly since: number;
}

interface Slot {
  source: LimitSource;
  active: boolean;
  amps: number;
  reason: string;
  since: number;
  maxPhases: 1 | 3;
}

interface MutableWinner {
  source: LimitSource;
  amps: number;
  reason: string;
  since: number;
}

export class LimitArbiter {
  private readonly slots: Slot[];
  private readonly clock: { now(): number } | undefined;
  private readonly win: MutableWinner = { source: "hardware", amps: 0, reason: "", since: 0 };
  private hasWinner = false;
  private winIndex = -1;
  private effAmps = 0;
  private hwPhases: 1 | 3 = 3;
  private effPhases: 1 | 3 = 3;
  private effSetpoint = NaN;
  private ver = 0;

  /** `clock` (e.g. hal.clock) stamps claims and the winner; without one every time is 0. */
  constructor(clock?: { now(): number }) {
    this.clock = clock;
    this.slots = [];
    for (let i = 0; i < LIMIT_SOURCES.length; i++) {
      this.slots.push({ source: LIMIT_SOURCES[i], active: false, amps: 0, reason: "", since: 0, maxPhases: 3 });
    }
  }

  /**
   * Files or updates the claim of `source`. amps must be finite and >= 0 (v2g: any finite value);
   * maxPhases 1 or 3. Throws RangeError/TypeError on misuse and then changes nothing.
   */
  set(source: LimitSource, amps: number, reason: string, maxPhases: 1 | 3 = 3): void {
    const i = sourceIndex(source);
    if (i < 0) throw new RangeError("LimitArbiter: unknown source");
    if (typeof amps !== "number" || !Number.isFinite(amps) || (i !== V2G && amps < 0)) {
      throw new RangeError("LimitArbiter: amps must be a finite number >= 0");
    }
    if (typeof reason !== "string") throw new TypeError("LimitArbiter: reason must be a string");
    if (maxPhases !== 1 && maxPhases !== 3) throw new RangeError("LimitArbiter: maxPhases must be 1 or 3");
    const s = this.slots[i];
    if (s.active && s.amps === amps && s.reason === reason && s.maxPhases === maxPhases) return;
    s.active = true;
    s.amps = amps;
    s.reason = reason;
    s.maxPhases = maxPhases;
    s.since = this.now();
    this.recompute();
  }

  /** Withdraws the claim of `source` (no-op when none). */
  clear(source: LimitSource): void {
    const i = sourceIndex(source);
    if (i < 0) throw new RangeError("LimitArbiter: unknown source");
    const s = this.slots[i];
    if (!s.active) return;
    s.active = false;
    s.since = this.now();
    this.recompute();
  }

  /** The phases the hardware provides right now (the core's phasesActive, or the board's wiring). */
  setPhases(phases: 1 | 3): void {
    if (phases !== 1 && phases !== 3) throw new RangeError("LimitArbiter: phases must be 1 or 3");
    if (phases === this.hwPhases) return;
    this.hwPhases = phases;
    this.recompute();
  }

  /** Effective limit, A per phase: the lowest claim, or 0 without any claim. */
  get amps(): number {
    return this.effAmps;
  }

  /**
   * The limit the other sources leave, A per phase: the lowest active claim except `source` (and `also`, and v2g), 0 without
   * one. What the charger could give if `source` asked for more (ISO 15118: the EV must see the charger's limit,
   * not its own request echoed back). A loop over the slots; no allocation.
   */
  ampsWithout(source: LimitSource, also?: LimitSource): number {
    const skip = sourceIndex(source);
    const skip2 = also === undefined ? skip : sourceIndex(also);
    if (skip < 0 || skip2 < 0) throw new RangeError("LimitArbiter: unknown source");
    const slots = this.slots;
    let amps = -1;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (!s.active || i === skip || i === skip2 || i === V2G) continue;
      if (amps < 0 || s.amps < amps) amps = s.amps;
    }
    return amps < 0 ? 0 : amps;
  }

  /** Effective phase count (1 or 3). */
  get phases(): 1 | 3 {
    return this.effPhases;
  }

  /** The V2G setpoint, A per phase (negative = discharge), or NaN without a v2g claim. */
  get setpoint(): number {
    return this.effSetpoint;
  }

  /** The winning claim (a preallocated record updated in place; copy it to keep it), or null without claims. */
  get winner(): Winner | null {
    return this.hasWinner ? this.win : null;
  }

  /** Bumps on every change of the effective result (amps, phases, winner source/reason, setpoint). */
  get version(): number {
    return this.ver;
  }

  /** The active claims, for status reports (allocates a new array: not for the control tick). */
  claims(): readonly Claim[] {
    const list: Claim[] = [];
    for (const s of this.slots) {
      if (s.active) list.push({ source: s.source, amps: s.amps, reason: s.reason, since: s.since, maxPhases: s.maxPhases });
    }
    return list;
  }

  private now(): number {
    return this.clock ? this.clock.now() : 0;
  }

  private recompute(): void {
    const slots = this.slots;
    let best = -1;
    let phases: 1 | 3 = this.hwPhases;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (!s.active) continue;
      if (s.maxPhases === 1) phases = 1;
      if (i === V2G) continue;
      if (best < 0 || s.amps < slots[best].amps) best = i;
    }
    // Keep the current winner on a tie, so equal claims do not flap the provenance.
    const cur = this.winIndex;
    if (best >= 0 && cur >= 0 && cur !== best && slots[cur].active && slots[cur].amps === slots[best].amps) best = cur;

    const amps = best >= 0 ? slots[best].amps : 0;
    const v = slots[V2G];
    const setpoint = v.active ? (v.amps > amps ? amps : v.amps) : NaN;
    let changed = false;
    if (best < 0) {
      if (this.hasWinner) {
        this.hasWinner = false;
        changed = true;
      }
    } else {
      const s = slots[best];
      if (!this.hasWinner || best !== cur || this.win.amps !== s.amps || this.win.reason !== s.reason) {
        this.hasWinner = true;
        this.win.source = s.source;
        this.win.amps = s.amps;
        this.win.reason = s.reason;
        this.win.since = this.now();
        changed = true;
      }
    }
    this.winIndex = best;
    if (amps !== this.effAmps) changed = true;
    if (phases !== this.effPhases) changed = true;
    if (!(setpoint === this.effSetpoint || (setpoint !== setpoint && this.effSetpoint !== this.effSetpoint))) changed = true;
    this.effAmps = amps;
    this.effPhases = phases;
    this.effSetpoint = setpoint;
    if (changed) this.ver++;
  }
}
