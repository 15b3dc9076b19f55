/**
 * JournalTxStore: the TxStore of the transaction queue on the power-safe flash journal
 * (firmware/storage/journal.ts). Every message is a journal record, written before the message is sent and
 * removed after its CALLRESULT; StartTransaction / StopTransaction / txid records are "critical" (never
 * dropped), MeterValues "droppable".
 *
 * Record (CBOR, dictionary-compacted by compact.ts): { k: kind, s: session, p?: payload, n?: attempts,
 * t?: transactionId } with kind 1 StartTransaction, 2 StopTransaction, 3 MeterValues, 9 txid.
 *
 * RAM: the store keeps per record its seq, kind, session and the encoded CBOR bytes (not the decoded
 * payload), so RAM use follows the journal's byte budget; a message's payload is decoded when it is read.
 *
 * Bound: `maxBytes` (configurable, at most the journal's capacity). A droppable record that does not fit drops
 * the oldest droppable records first (then itself); critical records are always written while the flash has
 * room. Should the flash itself be full of critical records (thousands of offline sessions), a critical
 * record is kept in RAM (reported through onDrop("overflow")) rather than lost while the firmware runs.
 * Every drop is counted (`dropped`) and reported through `onDrop`.
 *
 * Flash contents are validated at open: a record that does not decode to this shape is removed and counted.
 */
import { Journal, JournalFullError } from "../../storage/journal.js";
import { decodeCbor, encodeCbor } from "../../util/cbor.js";
import { pack, unpack } from "./compact.js";
import type { TxAction, TxIdRecord, TxMessage, TxStore } from "./queue.js";

const KIND_OF: Record<TxAction, number> = { StartTransaction: 1, StopTransaction: 2, MeterValues: 3 };
const ACTION_OF: Record<number, TxAction> = { 1: "StartTransaction", 2: "StopTransaction", 3: "MeterValues" };
const KIND_TXID = 9;
/** Record header (16) + alignment, as the journal counts it. */
const RECORD_OVERHEAD = 16;
/** Seqs of records kept in RAM only (flash full): above any journal seq of this boot. */
const OVERFLOW_BASE = 0x40000000;

interface Rec {
  seq: number;
  kind: number;
  session: number;
  droppable: boolean;
  attempts: number;
  transactionId: number;
  /** Encoded record (for messages: decoded on demand). */
  bytes: Uint8Array;
  /** Bytes it takes on flash. */
  size: number;
  ram: boolean;
}

export interface JournalTxStoreOptions {
  /** Byte budget for records (default: the journal's capacity). */
  maxBytes?: number;
  /** A record was dropped ("meter-values": a droppable one; "overflow": a critical one kept in RAM only). */
  onDrop?: (what: "meter-values" | "overflow" | "invalid", session: number) => void;
}

function sizeOf(bytes: Uint8Array): number {
  return (RECORD_OVERHEAD + bytes.length + 3) & ~3;
}

export class JournalTxStore implements TxStore {
  private readonly recs: Rec[] = [];
  private bytesUsed = 0;
  private overflowSeq = OVERFLOW_BASE;
  private journalDropped = 0;
  /** Messages dropped (by the byte budget or by the journal when the flash was full). */
  dropped = 0;
  /** Records found invalid on flash at open (removed). */
  invalid = 0;
  /** Critical records that only fit in RAM. */
  overflowed = 0;
  maxBytes: number;

  constructor(
    readonly journal: Journal,
    private readonly options: JournalTxStoreOptions = {},
  ) {
    this.maxBytes = Math.min(options.maxBytes ?? Infinity, journal.stats.capacity);
    this.journalDropped = journal.stats.dropped;
    for (const e of journal.entries()) {
      const rec = this.parse(e.seq, e.payload, e.cls === "droppable");
      if (!rec) {
        journal.remove(e.seq);
        this.invalid++;
        options.onDrop?.("invalid", 0);
        continue;
      }
      this.recs.push(rec);
      this.bytesUsed += rec.size;
    }
  }

  setLimit(bytes: number): void {
    const cap = this.journal.stats.capacity;
    this.maxBytes = bytes > 0 ? Math.min(bytes, cap) : cap;
  }

  /** Bytes the live records take (headers included). */
  get used(): number {
    return this.bytesUsed;
  }

  private parse(seq: number, payload: unknown, droppable: boolean): Rec | null {
    if (!(payload instanceof Uint8Array)) return null;
    let r: unknown;
    try {
      r = unpack(decodeCbor(payload));
    } catch {
      return null;
    }
    if (r === null || typeof r !== "object" || Array.isArray(r)) return null;
    const o = r as Record<string, unknown>;
    const kind = o["k"];
    const session = o["s"];
    if (typeof session !== "number" || !Number.isSafeInteger(session) || session < 1) return null;
    if (kind === KIND_TXID) {
      const t = o["t"];
      if (typeof t !== "number" || !Number.isSafeInteger(t)) return null;
      return { seq, kind, session, droppable: false, attempts: 0, transactionId: t, bytes: payload, size: sizeOf(payload), ram: false };
    }
    if (typeof kind !== "number" || !ACTION_OF[kind]) return null;
    const p = o["p"];
    if (p === null || typeof p !== "object" || Array.isArray(p)) return null;
    const n = o["n"];
    const attempts = typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : 0;
    return { seq, kind, session, droppable, attempts, transactionId: 0, bytes: payload, size: sizeOf(payload), ram: false };
  }

  private write(rec: Omit<Rec, "seq" | "size" | "ram">, critical: boolean): number {
    const size = sizeOf(rec.bytes);
    if (!critical) {
      // the byte budget: oldest droppable records go first, then this one
      while (this.bytesUsed + size > this.maxBytes) {
        const i = this.recs.findIndex((r) => r.droppable && !r.ram);
        if (i < 0) break;
        this.dropOne(i);
      }
      if (this.bytesUsed + size > this.maxBytes) {
        this.dropped++;
        this.options.onDrop?.("meter-values", rec.session);
        return 0;
      }
    }
    let seq: number;
    try {
      seq = this.journal.append(rec.bytes, critical ? "critical" : "droppable");
    } catch (e) {
      if (!(e instanceof JournalFullError)) throw e;
      this.syncDrops();
      if (!critical) {
        this.dropped++;
        this.options.onDrop?.("meter-values", rec.session);
        return 0;
      }
      seq = ++this.overflowSeq;
      this.overflowed++;
      this.options.onDrop?.("overflow", rec.session);
      this.recs.push({ ...rec, seq, size: 0, ram: true });
      return seq;
    }
    this.syncDrops();
    this.recs.push({ ...rec, seq, size, ram: false });
    this.bytesUsed += size;
    return seq;
  }

  private dropOne(i: number): void {
    const r = this.recs[i]!;
    this.recs.splice(i, 1);
    this.bytesUsed -= r.size;
    if (!r.ram) this.journal.remove(r.seq);
    this.dropped++;
    this.options.onDrop?.("meter-values", r.session);
  }

  /** The journal drops droppable records by itself when the flash is full: forget them here too. */
  private syncDrops(): void {
    const d = this.journal.stats.dropped;
    if (d === this.journalDropped) return;
    this.journalDropped = d;
    const live = new Set(this.journal.seqs());
    for (let i = this.recs.length - 1; i >= 0; i--) {
      const r = this.recs[i]!;
      if (!r.ram && !live.has(r.seq)) {
        this.recs.splice(i, 1);
        this.bytesUsed -= r.size;
        this.dropped++;
        this.options.onDrop?.("meter-values", r.session);
      }
    }
  }

  append(message: Omit<TxMessage, "seq">): number {
    const kind = KIND_OF[message.action];
    const record: Record<string, unknown> = { k: kind, s: message.session, p: message.payload };
    if (message.attempts) record["n"] = message.attempts;
    const bytes = encodeCbor(pack(record));
    return this.write({ kind, session: message.session, droppable: message.droppable, attempts: message.attempts, transactionId: 0, bytes }, !message.droppable);
  }

  remove(seq: number): void {
    const i = this.recs.findIndex((r) => r.seq === seq);
    if (i < 0) return;
    const r = this.recs[i]!;
    if (!r.ram) this.journal.remove(seq);
    this.recs.splice(i, 1);
    this.bytesUsed -= r.size;
  }

  update(seq: number, payload: Record<string, unknown>, attempts: number): void {
    const r = this.recs.find((x) => x.seq === seq);
    if (!r || r.kind === KIND_TXID) return;
    const record: Record<string, unknown> = { k: r.kind, s: r.session, p: payload };
    if (attempts) record["n"] = attempts;
    const bytes = encodeCbor(pack(record));
    if (!r.ram) {
      try {
        this.journal.update(seq, bytes);
      } catch (e) {
        if (!(e instanceof JournalFullError)) throw e;
        this.syncDrops();
        return; // the old generation (fewer attempts counted) stays: harmless
      }
      this.syncDrops();
      this.bytesUsed += sizeOf(bytes) - r.size;
      r.size = sizeOf(bytes);
    }
    r.bytes = bytes;
    r.attempts = attempts;
  }

  all(): TxMessage[] {
    const out: TxMessage[] = [];
    for (const r of this.recs) {
      if (r.kind === KIND_TXID) continue;
      const bytes = r.bytes;
      out.push({
        seq: r.seq,
        action: ACTION_OF[r.kind]!,
        session: r.session,
        droppable: r.droppable,
        attempts: r.attempts,
        get payload(): Record<string, unknown> {
          return (unpack(decodeCbor(bytes)) as Record<string, unknown>)["p"] as Record<string, unknown>;
        },
      });
    }
    return out;
  }

  putTxId(session: number, transactionId: number): number {
    const bytes = encodeCbor(pack({ k: KIND_TXID, s: session, t: transactionId }));
    return this.write({ kind: KIND_TXID, session, droppable: false, attempts: 0, transactionId, bytes }, true);
  }

  txIds(): TxIdRecord[] {
    const out: TxIdRecord[] = [];
    for (const r of this.recs) if (r.kind === KIND_TXID) out.push({ seq: r.seq, session: r.session, transactionId: r.transactionId });
    return out;
  }
}
