/**
 * The power domain shared by the simulated flash and key-value store: it counts mutating operations
 * (flash write / eraseBlock, key-value set / delete), fires a scheduled power cut, and after the cut
 * makes every call on every instance throw PowerCutError until reboot().
 */
import { Rng } from "../rng.js";

/** Thrown by the call during which the power was cut, and by every later call until reboot(). */
export class PowerCutError extends Error {
  constructor(message = "power cut") {
    super(message);
    this.name = "PowerCutError";
  }
}

/**
 * When to cut the power.
 *  - `op`: the n-th mutating operation from now (1 = the very next write/eraseBlock/set/delete).
 *  - `when`: "before" (the operation has no effect), "during" (it is torn), "after" (it completes,
 *    then the call throws).
 *  - `tornBytes`: for "during": how many leading bytes of the write (or of the erased range) took effect;
 *    drawn from the domain's seeded Rng when omitted. Clamped to the operation's length.
 *  - `tornBits`: for "during": the byte right after the torn prefix is left half-done: of the bits the
 *    operation would change there, only those set in this mask change (default 0: that byte untouched).
 *    Real NOR can leave such a byte; a robust on-flash format must survive it.
 * For a key-value set/delete (atomic), "during" takes effect when tornBytes > 0 (random when omitted).
 */
export interface PowerCutPlan {
  op: number;
  when: "before" | "during" | "after";
  tornBytes?: number;
  tornBits?: number;
}

export interface PowerCutEvent {
  /** The operation's absolute index (1-based since the domain was created). */
  op: number;
  when: PowerCutPlan["when"];
  /** "flash.write", "flash.eraseBlock", "kv.set", "kv.delete". */
  kind: string;
  /** Partition or namespace. */
  path: string;
}

/** What an operation is told to do by the domain. */
export type OpFate =
  | { kind: "normal" }
  | { kind: "before" }
  | { kind: "during"; tornBytes: number | undefined; tornBits: number }
  | { kind: "after" };

export class PowerDomain {
  /** Mutating operations attempted since creation (including the one that was cut). */
  private ops = 0;
  private pending: { at: number; when: PowerCutPlan["when"]; tornBytes: number | undefined; tornBits: number } | undefined;
  private dead = false;
  /** Incremented by reboot(); instances opened in an earlier epoch are stale. */
  epoch = 0;
  /** Cuts that fired. */
  cuts = 0;
  readonly rng: Rng;
  onPowerCut: ((event: PowerCutEvent) => void) | undefined;
  lastCut: PowerCutEvent | undefined;

  constructor(rng: Rng) {
    this.rng = rng;
  }

  /** True from the moment a cut fires until reboot(). */
  get isDown(): boolean {
    return this.dead;
  }

  countOps(): number {
    return this.ops;
  }

  /** Schedules a cut; replaces any previous plan. */
  schedule(plan: PowerCutPlan): void {
    if (!plan || !Number.isSafeInteger(plan.op) || plan.op < 1) throw new RangeError("power cut plan: op must be an integer >= 1");
    if (plan.when !== "before" && plan.when !== "during" && plan.when !== "after") throw new RangeError("power cut plan: bad 'when'");
    if (plan.tornBytes !== undefined && (!Number.isSafeInteger(plan.tornBytes) || plan.tornBytes < 0)) {
      throw new RangeError("power cut plan: tornBytes must be an integer >= 0");
    }
    const tornBits = plan.tornBits ?? 0;
    if (!Number.isInteger(tornBits) || tornBits < 0 || tornBits > 255) throw new RangeError("power cut plan: tornBits must be 0..255");
    this.pending = { at: this.ops + plan.op, when: plan.when, tornBytes: plan.tornBytes, tornBits };
  }

  /** Drops a scheduled cut that has not fired. */
  cancel(): void {
    this.pending = undefined;
  }

  /** Cuts the power now (between operations). */
  cutNow(): void {
    this.pending = undefined;
    this.markDown({ op: this.ops, when: "after", kind: "external", path: "" });
  }

  /** Power back on: calls work again; instances opened before are stale. */
  reboot(): void {
    this.dead = false;
    this.pending = undefined;
    this.epoch++;
  }

  /** Throws if the power is down. Called first by every method of every instance. */
  check(): void {
    if (this.dead) throw new PowerCutError("power is down (call reboot())");
  }

  /** Called by a mutating operation after its argument checks: says what to do. */
  begin(): OpFate {
    this.check();
    this.ops++;
    const p = this.pending;
    if (p === undefined || p.at !== this.ops) return { kind: "normal" };
    this.pending = undefined;
    if (p.when === "during") return { kind: "during", tornBytes: p.tornBytes, tornBits: p.tornBits };
    return { kind: p.when };
  }

  /** Marks the power down and throws PowerCutError. */
  fire(event: PowerCutEvent): never {
    this.markDown(event);
    throw new PowerCutError(`power cut ${event.when} ${event.kind}(${event.path}) op #${event.op}`);
  }

  private markDown(event: PowerCutEvent): void {
    this.dead = true;
    this.cuts++;
    this.lastCut = event;
    const cb = this.onPowerCut;
    if (cb) cb(event);
  }

  /** The index of the operation begin() just counted. */
  get currentOp(): number {
    return this.ops;
  }
}
