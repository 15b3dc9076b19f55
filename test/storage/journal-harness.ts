/**
 * Test harness for the journal: a model of what must be on flash, a scripted or random operation list,
 * and a runner that executes operations until a power cut and checks the reopened journal against the model.
 */
import type { Flash } from "../../hal/storage.js";
import { Journal, JournalFullError, type RecordClass } from "../../firmware/storage/journal.js";
import { PowerCutError, SimStorage } from "../../simulator/storage/index.js";

export type Op =
  | { kind: "append"; id: number; cls: RecordClass; payload: unknown }
  | { kind: "remove"; id: number }
  | { kind: "update"; id: number; payload: unknown };

export interface Tracked {
  id: number;
  seq: number;
  cls: RecordClass;
  payload: unknown;
}

/** What the reopened journal may contain. */
export class Model {
  /** Records whose append returned and whose remove did not return, by id. */
  readonly live = new Map<number, Tracked>();
  readonly seqOf = new Map<number, number>();
  /** The operation cut by the power failure, if any. */
  inFlight: Op | undefined;
  /** Droppable records may vanish when the journal is full. */
  allowDrops = false;
  /** The highest seq ever handed out or seen: seqs must never be reused, even across reboots. */
  maxSeq = 0;

  clone(): Model {
    const m = new Model();
    for (const [id, r] of this.live) m.live.set(id, { ...r });
    for (const [id, seq] of this.seqOf) m.seqOf.set(id, seq);
    m.inFlight = this.inFlight;
    m.allowDrops = this.allowDrops;
    m.maxSeq = this.maxSeq;
    return m;
  }

  apply(op: Op, result: number | undefined): void {
    if (op.kind === "append") {
      if ((result as number) <= this.maxSeq) throw new Error(`seq ${result} reused (max so far ${this.maxSeq})`);
      this.maxSeq = result as number;
      this.live.set(op.id, { id: op.id, seq: result as number, cls: op.cls, payload: op.payload });
      this.seqOf.set(op.id, result as number);
    } else if (op.kind === "remove") this.live.delete(op.id);
    else {
      const r = this.live.get(op.id);
      if (r) r.payload = op.payload;
    }
  }

  /** Checks entries against the model; returns problems (empty = fine). Then adopts what it saw. */
  check(entries: Array<{ seq: number; cls: RecordClass; payload: unknown }>): string[] {
    const problems: string[] = [];
    const bySeq = new Map<number, Tracked>();
    for (const r of this.live.values()) bySeq.set(r.seq, r);
    const seen = new Set<number>();
    let last = -1;
    const inFlight = this.inFlight;
    for (const e of entries) {
      if (e.seq <= last) problems.push(`order: ${e.seq} after ${last}`);
      last = e.seq;
      if (seen.has(e.seq)) problems.push(`duplicate seq ${e.seq}`);
      seen.add(e.seq);
      const r = bySeq.get(e.seq);
      const p = JSON.stringify(e.payload);
      if (r) {
        const okPayload =
          p === JSON.stringify(r.payload) ||
          (inFlight?.kind === "update" && this.seqOf.get(inFlight.id) === e.seq && p === JSON.stringify(inFlight.payload));
        if (!okPayload) problems.push(`seq ${e.seq}: payload ${p}, expected ${JSON.stringify(r.payload)}`);
        if (e.cls !== r.cls) problems.push(`seq ${e.seq}: class ${e.cls}`);
        continue;
      }
      // not live in the model: only the append that was cut may appear (complete), or a remove that was cut
      if (inFlight?.kind === "append" && p === JSON.stringify(inFlight.payload) && e.cls === inFlight.cls) {
        if (e.seq <= this.maxSeq) problems.push(`cut append got reused seq ${e.seq}`);
        this.maxSeq = Math.max(this.maxSeq, e.seq);
        this.live.set(inFlight.id, { id: inFlight.id, seq: e.seq, cls: e.cls, payload: inFlight.payload });
        this.seqOf.set(inFlight.id, e.seq);
        bySeq.set(e.seq, this.live.get(inFlight.id) as Tracked);
        continue;
      }
      problems.push(`unexpected record seq ${e.seq} payload ${p}`);
    }
    for (const r of [...this.live.values()]) {
      if (seen.has(r.seq)) continue;
      const cutRemove = inFlight?.kind === "remove" && this.seqOf.get(inFlight.id) === r.seq;
      const dropped = this.allowDrops && r.cls === "droppable";
      if (cutRemove || dropped) this.live.delete(r.id);
      else problems.push(`lost seq ${r.seq} (id ${r.id}) payload ${JSON.stringify(r.payload)}`);
    }
    // adopt the payload actually seen for a cut update
    if (inFlight?.kind === "update") {
      const r = this.live.get(inFlight.id);
      const e = r && entries.find((x) => x.seq === r.seq);
      if (r && e) r.payload = e.payload;
    }
    this.inFlight = undefined;
    return problems;
  }
}

export const PARTITION = "journal";

export function newStorage(blocks: number, blockLength: number, seed = 1): SimStorage {
  return new SimStorage({ partitions: { [PARTITION]: { size: blocks * blockLength, blockLength } }, seed });
}

export function openJournal(sim: SimStorage): { journal: Journal; flash: Flash } {
  const flash = sim.storage.flash.open({ path: PARTITION });
  return { journal: Journal.open(flash), flash };
}

/** Opens the journal, retrying when a cut hits open() itself (its recovery writes). */
export function reopen(sim: SimStorage): Journal {
  for (let i = 0; ; i++) {
    try {
      return openJournal(sim).journal;
    } catch (e) {
      if (!(e instanceof PowerCutError) || i > 50) throw e;
      sim.reboot();
    }
  }
}

/**
 * Runs ops from `start` until the end or a power cut. Returns the index of the op that was cut (or ops.length).
 * JournalFullError on an append is accepted (the op simply did not happen) when `model.allowDrops`.
 */
export function runOps(journal: Journal, ops: Op[], start: number, model: Model): number {
  for (let i = start; i < ops.length; i++) {
    const op = ops[i];
    if (op.kind !== "append" && !model.live.has(op.id)) continue; // target gone (dropped / never appended)
    try {
      if (op.kind === "append") model.apply(op, journal.append(op.payload, op.cls));
      else if (op.kind === "remove") {
        journal.remove(model.seqOf.get(op.id) as number);
        model.apply(op, undefined);
      } else {
        journal.update(model.seqOf.get(op.id) as number, op.payload);
        model.apply(op, undefined);
      }
    } catch (e) {
      if (e instanceof PowerCutError) {
        model.inFlight = op;
        return i;
      }
      if (e instanceof JournalFullError && model.allowDrops) continue;
      if (e instanceof RangeError && op.kind === "update" && model.allowDrops && model.live.get(op.id)?.cls === "droppable") {
        model.live.delete(op.id); // it was dropped earlier in this session
        continue;
      }
      throw e;
    }
  }
  return ops.length;
}

export function payload(id: number, size: number): unknown {
  return { t: "MeterValues", id, tx: 1000 + id, v: "x".repeat(size) };
}
