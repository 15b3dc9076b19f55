/**
 * A contactor (main contacts + mirror/auxiliary contact) with operating delays and two fault switches.
 *
 * Defaults: close 30 ms, open 15 ms: typical operate/release times of small modular AC contactors
 * (manufacturer data sheets give roughly 10..50 ms close and 5..30 ms open); not a value from a standard.
 * The mirror contact (IEC 60947-4-1 Annex F) is modelled as following the main contacts exactly, and it
 * tells the truth about a weld: welded contacts read closed.
 *
 * Faults:
 *  - weld(): the contacts weld the next time they are closed (at once if closed now); welded contacts stay
 *    closed whatever the coil does, and the mirror reports closed;
 *  - setStuckOpen(true): the contacts do not close when the coil is energised (coil or mechanism failure).
 *
 * Counters: `operations` counts every movement of the contacts (each close and each open);
 * `operationsUnderLoad` counts openings with more than `underLoadA` flowing (contact wear, arcing).
 *
 * Contacts move at the first step() whose time is ≥ the command time + delay. A command reversed before
 * its delay elapsed cancels the pending movement (the armature never got there).
 */

export interface RelayConfig {
  closeDelayMs: number;
  openDelayMs: number;
  /** An opening with more than this current (A, any phase) counts as under load. */
  underLoadA: number;
}

export const DEFAULT_RELAY_CONFIG: Readonly<RelayConfig> = Object.freeze({
  closeDelayMs: 30,
  openDelayMs: 15,
  underLoadA: 0.5,
});

export class RelayModel {
  readonly config: RelayConfig;
  private coilOn = false;
  private contacts = false;
  private dueAt = -1;
  private weldArmed = false;
  private isWelded = false;
  private stuckOpen = false;
  private lastT: number;
  /** Movements of the main contacts (closings + openings). */
  operations = 0;
  /** Openings with current above underLoadA. */
  operationsUnderLoad = 0;

  constructor(config: Partial<RelayConfig> = {}, now = 0) {
    const c = { ...DEFAULT_RELAY_CONFIG, ...config };
    for (const k of ["closeDelayMs", "openDelayMs", "underLoadA"] as const) {
      if (typeof c[k] !== "number" || !Number.isFinite(c[k]) || c[k] < 0) throw new RangeError(`RelayConfig: bad ${k}`);
    }
    this.config = c;
    this.lastT = now;
  }

  /** Energises (1) or de-energises (0) the coil at time `now`. */
  command(value: 0 | 1, now: number): void {
    if (value !== 0 && value !== 1) throw new RangeError(`RelayModel.command: bad value ${value}`);
    const on = value === 1;
    if (on === this.coilOn) return;
    this.coilOn = on;
    this.dueAt = now + (on ? this.config.closeDelayMs : this.config.openDelayMs);
  }

  /** The coil state (what the relay is being told to do). */
  get coil(): 0 | 1 {
    return this.coilOn ? 1 : 0;
  }

  /**
   * Advances to `now`. `currentA` is the largest current through the contacts just before `now`
   * (used to count openings under load). Returns true when the contacts moved.
   */
  step(now: number, currentA = 0): boolean {
    if (now < this.lastT) throw new RangeError(`RelayModel.step: time went backwards (${now} < ${this.lastT})`);
    this.lastT = now;
    if (this.dueAt < 0 || now < this.dueAt) return false;
    this.dueAt = -1;
    if (this.coilOn && !this.contacts && !this.stuckOpen) {
      this.contacts = true;
      this.operations++;
      if (this.weldArmed) this.isWelded = true;
      return true;
    }
    if (!this.coilOn && this.contacts && !this.isWelded) {
      this.contacts = false;
      this.operations++;
      if (Math.abs(currentA) > this.config.underLoadA) this.operationsUnderLoad++;
      return true;
    }
    return false;
  }

  /** True while the main contacts are closed (including welded). */
  get closed(): boolean {
    return this.contacts;
  }

  /** The mirror contact: 1 when the main contacts are closed (or welded). */
  mirror(): 0 | 1 {
    return this.contacts ? 1 : 0;
  }

  /** Welds the contacts: now if they are closed, otherwise at the next closing. */
  weld(): void {
    this.weldArmed = true;
    if (this.contacts) this.isWelded = true;
  }

  get welded(): boolean {
    return this.isWelded;
  }

  /** Sets or clears the stuck-open fault. Cleared while the coil is on: the contacts close after the close delay. */
  setStuckOpen(stuck: boolean, now: number = this.lastT): void {
    const was = this.stuckOpen;
    this.stuckOpen = stuck === true;
    if (was && !this.stuckOpen && this.coilOn && !this.contacts) this.dueAt = now + this.config.closeDelayMs;
  }

  get isStuckOpen(): boolean {
    return this.stuckOpen;
  }

  /** Clears both faults (a replaced contactor). Welded contacts then follow the coil after the open delay. */
  repair(now: number): void {
    this.weldArmed = false;
    this.stuckOpen = false;
    if (this.isWelded) {
      this.isWelded = false;
      if (!this.coilOn && this.contacts) this.dueAt = now + this.config.openDelayMs;
    }
    if (this.coilOn && !this.contacts) this.dueAt = now + this.config.closeDelayMs;
  }
}
