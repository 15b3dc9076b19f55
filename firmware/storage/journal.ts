/**
 * Power-safe transaction journal over the Flash HAL (NOR semantics: erased = 0xFF, writes only clear bits).
 *
 * Usage (OCPP): every StartTransaction / StopTransaction / MeterValues is appended BEFORE it is sent and
 * removed only after its CALLRESULT; after a reboot, entries() gives the live records in order for replay.
 *
 * On-flash format (all integers little-endian)
 * --------------------------------------------
 * The partition is a set of erase blocks. A block in use starts with a 20-byte block header:
 *   magic u32 0x314C4E4A ("JNL1") | blockSeq u32 | firstSeq u32 | reclaimOf u32 | crc32 u32 (of bytes 0..15)
 *  - blockSeq increases with every block started: it orders blocks (oldest = smallest).
 *  - firstSeq is the next record seq when the block was started (keeps seqs monotonic across erasures).
 *  - reclaimOf is the blockSeq of the block whose live records were copied into this one (0xFFFFFFFF:
 *    none): it lets open() finish or undo a reclaim that a power cut interrupted.
 * Records follow at 4-byte aligned offsets, each a 16-byte header then the CBOR payload:
 *   magic u16 0x524A | cls u8 (1 critical, 2 droppable) | flags u8 | length u16 | gen u16 | seq u32 | crc32 u32
 *  - crc32 covers header bytes 0..2 and 4..11 (everything but flags and the CRC itself) and the payload.
 *  - flags is 0xFF when written; remove() writes 0x00 there (NOR allows 1 -> 0 in place). Any cleared bit
 *    means "removed", so a remove torn by a power cut is either not done or done, never ambiguous.
 *  - gen counts update()s of the same seq: the highest gen is the current one.
 *
 * Power-cut safety (tested at every cut point, see test/storage/journal.test.ts)
 *  - A record whose append() returned is present after reopen until its remove() returns; a record being
 *    appended when the power failed is present in full or absent (CRC); a torn record is skipped and the
 *    append position moves past it; a header too damaged to give a length seals the rest of its block.
 *  - A remove() that returned never resurrects; a remove() cut part-way is either done or not.
 *  - update(seq, payload) appends the new generation, then clears the old one. Cut before the new record is
 *    complete: the old payload stays; cut after: the new one wins (open() clears the stale generation).
 *  - Reclaim copies the live records of a block into a FRESH block (reclaimOf set), then erases the old one.
 *    If that is interrupted, open() finds the target by its reclaimOf: if every live record has its copy,
 *    it erases the source (finishing the reclaim), otherwise it erases the target (undoing it). Either way
 *    no record is lost or duplicated.
 *  - Garbage (random bytes, foreign data) fails the block-header or record CRC and is ignored; such blocks
 *    are erased before reuse.
 *
 * Space: one block is always kept in reserve as a reclaim target, so capacity = (blocks - 1) * (blockLength
 * - 20) bytes of records. Each record costs 16 + payload bytes rounded up to 4. When no space is left, the
 * journal reclaims the block with the fewest live bytes (oldest among equals) if that makes room; when none would, it drops droppable records
 * (oldest first, only in the one block whose reclaim then makes room); critical records are never dropped:
 * the append throws JournalFullError instead (a droppable append that cannot be placed throws it too).
 */
import type { Flash } from "../../hal/storage.js";
import { CborError, decodeCbor, encodeCbor } from "../util/cbor.js";
import { crc32 } from "../util/crc32.js";

export type RecordClass = "critical" | "droppable";

export class JournalFullError extends Error {
  constructor(message = "journal full") {
    super(message);
    this.name = "JournalFullError";
  }
}

export interface JournalOptions {
  /** Maximum CBOR nesting accepted in payloads (default 16). */
  maxDepth?: number;
  /** Called once per problem found while opening (torn record, garbage block, ...), for logs. */
  onRecover?: (what: string, block: number, offset: number) => void;
}

export interface JournalEntry {
  seq: number;
  cls: RecordClass;
  payload: unknown;
}

export interface JournalStats {
  /** Live records. */
  records: number;
  /** Bytes taken by live records (headers + payloads, aligned). */
  bytesUsed: number;
  /** Bytes available to records: (blocks - 1) * (blockLength - 20). */
  capacity: number;
  /** Droppable records dropped to make room. */
  dropped: number;
  /** Blocks reclaimed (live records copied forward, then erased). */
  reclaimed: number;
  /** Torn or corrupt records/blocks found by open(). */
  recovered: number;
}

const BLOCK_MAGIC = 0x314c4e4a;
const BLOCK_HEADER = 20;
const REC_MAGIC = 0x524a;
const REC_HEADER = 16;
const FLAGS_OFFSET = 3;
const NONE = 0xffffffff;
const CLS_CODE: Record<RecordClass, number> = { critical: 1, droppable: 2 };

interface Loc {
  block: number;
  offset: number;
}

interface Live {
  seq: number;
  cls: RecordClass;
  gen: number;
  /** Aligned on-flash size. */
  size: number;
  /** Every on-flash copy (normally one). */
  locs: Loc[];
}

interface BlockState {
  state: "free" | "dirty" | "used";
  blockSeq: number;
  firstSeq: number;
  reclaimOf: number;
  /** Append position (BLOCK_HEADER .. blockLength); blockLength when sealed. */
  end: number;
  /** Bytes of live records in this block. */
  live: number;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

function recordCrc(rec: Uint8Array, payloadLength: number): number {
  let c = crc32(rec, 0, 0, FLAGS_OFFSET);
  c = crc32(rec, c, FLAGS_OFFSET + 1, 12);
  return crc32(rec, c, REC_HEADER, REC_HEADER + payloadLength);
}

function allFF(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0xff) return false;
  return true;
}

export class Journal {
  private readonly flash: Flash;
  private readonly blockLength: number;
  private readonly blocks: BlockState[];
  private readonly index = new Map<number, Live>();
  private readonly maxDepth: number;
  private nextSeq = 1;
  private nextBlockSeq = 1;
  /** Index of the block appends go to, or -1. */
  private head = -1;
  private counters = { dropped: 0, reclaimed: 0, recovered: 0 };

  private constructor(flash: Flash, options: JournalOptions) {
    this.flash = flash;
    const { size, blockLength } = flash.status();
    if (blockLength < 256 || blockLength > 65536 || size % blockLength !== 0 || size / blockLength < 2) {
      throw new RangeError("journal: the partition needs at least 2 erase blocks of 256..65536 bytes");
    }
    this.blockLength = blockLength;
    this.maxDepth = options.maxDepth ?? 16;
    this.blocks = [];
    for (let i = 0; i < size / blockLength; i++) {
      this.blocks.push({ state: "dirty", blockSeq: 0, firstSeq: 0, reclaimOf: NONE, end: blockLength, live: 0 });
    }
  }

  /** Opens the journal on a flash partition: scans, recovers from any interrupted operation, repairs. */
  static open(flash: Flash, options: JournalOptions = {}): Journal {
    const j = new Journal(flash, options);
    j.recover(options.onRecover);
    return j;
  }

  /** The largest payload (CBOR bytes) a record can carry. */
  get maxPayloadBytes(): number {
    return Math.min(0xffff, this.blockLength - BLOCK_HEADER - REC_HEADER);
  }

  get stats(): JournalStats {
    let bytesUsed = 0;
    for (const e of this.index.values()) bytesUsed += e.size;
    return {
      records: this.index.size,
      bytesUsed,
      capacity: (this.blocks.length - 1) * (this.blockLength - BLOCK_HEADER),
      dropped: this.counters.dropped,
      reclaimed: this.counters.reclaimed,
      recovered: this.counters.recovered,
    };
  }

  /** Appends a record; returns its sequence number once it is durably on flash. */
  append(payload: unknown, cls: RecordClass): number {
    const code = CLS_CODE[cls];
    if (code === undefined) throw new TypeError('journal.append: cls must be "critical" or "droppable"');
    const body = this.encode(payload);
    if (this.nextSeq >= NONE) throw new RangeError("journal: sequence numbers exhausted");
    const seq = this.nextSeq;
    const size = align4(REC_HEADER + body.length);
    this.makeRoom(size);
    // the seq is consumed even if the write below is cut: it is never handed out twice
    this.nextSeq = seq + 1;
    const loc = this.writeRecord(seq, code, 0, body);
    this.index.set(seq, { seq, cls, gen: 0, size, locs: [loc] });
    this.blocks[loc.block].live += size;
    return seq;
  }

  /**
   * Replaces the payload of a live record, keeping its seq (so its place in the order) and class.
   * Crash semantics: after a cut the record holds the old or the new payload, never both or neither.
   * Unknown seq: throws RangeError.
   */
  update(seq: number, payload: unknown): void {
    const old = this.index.get(seq);
    if (!old) throw new RangeError(`journal.update: no live record ${seq}`);
    if (old.gen >= 0xffff) throw new RangeError("journal.update: too many updates of one record");
    const body = this.encode(payload);
    const size = align4(REC_HEADER + body.length);
    this.makeRoom(size);
    const cur = this.index.get(seq);
    if (!cur) throw new JournalFullError("journal.update: the record was dropped to make room");
    const loc = this.writeRecord(seq, CLS_CODE[cur.cls], cur.gen + 1, body);
    this.blocks[loc.block].live += size;
    const oldLocs = cur.locs;
    this.index.set(seq, { seq, cls: cur.cls, gen: cur.gen + 1, size, locs: [loc] });
    for (const l of oldLocs) {
      this.blocks[l.block].live -= cur.size;
      this.clearFlags(l);
    }
  }

  /** Removes a record (one small in-place write). Unknown or already removed seq: no-op. */
  remove(seq: number): void {
    const e = this.index.get(seq);
    if (!e) return;
    this.kill(e);
  }

  /** Live records in sequence order, payloads decoded from flash. */
  entries(): JournalEntry[] {
    const seqs = Array.from(this.index.keys()).sort((a, b) => a - b);
    const out: JournalEntry[] = [];
    for (const seq of seqs) {
      const e = this.index.get(seq) as Live;
      const l = e.locs[0];
      const rec = new Uint8Array(this.flash.read(e.size, this.blockLength * l.block + l.offset));
      const len = u16(rec, 4);
      out.push({ seq, cls: e.cls, payload: decodeCbor(rec.subarray(REC_HEADER, REC_HEADER + len), { maxDepth: this.maxDepth }) });
    }
    return out;
  }

  /** Live sequence numbers in order (no flash reads). */
  seqs(): number[] {
    return Array.from(this.index.keys()).sort((a, b) => a - b);
  }

  // ------------------------------------------------------------------ internals

  private encode(payload: unknown): Uint8Array {
    const body = encodeCbor(payload, { maxDepth: this.maxDepth });
    if (body.length > this.maxPayloadBytes) {
      throw new RangeError(`journal: payload of ${body.length} bytes exceeds ${this.maxPayloadBytes}`);
    }
    return body;
  }

  private kill(e: Live): void {
    this.index.delete(e.seq);
    for (const l of e.locs) {
      this.blocks[l.block].live -= e.size;
      this.clearFlags(l);
    }
  }

  private clearFlags(l: Loc): void {
    this.flash.write(Uint8Array.of(0), this.blockLength * l.block + l.offset + FLAGS_OFFSET);
  }

  private writeRecord(seq: number, code: number, gen: number, body: Uint8Array): Loc {
    const size = align4(REC_HEADER + body.length);
    const rec = new Uint8Array(size).fill(0xff);
    put16(rec, 0, REC_MAGIC);
    rec[2] = code;
    put16(rec, 4, body.length);
    put16(rec, 6, gen);
    put32(rec, 8, seq);
    rec.set(body, REC_HEADER);
    put32(rec, 12, recordCrc(rec, body.length));
    const b = this.blocks[this.head];
    const loc = { block: this.head, offset: b.end };
    // advance first: if the write is cut, the space is garbage and must not be reused in this session
    b.end += size;
    this.flash.write(rec, this.blockLength * loc.block + loc.offset);
    return loc;
  }

  private headFits(size: number): boolean {
    return this.head >= 0 && this.blocks[this.head].end + size <= this.blockLength;
  }

  private available(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.blocks.length; i++) if (this.blocks[i].state !== "used") out.push(i);
    return out;
  }

  /** Makes the head able to take `size` bytes, reclaiming or dropping as needed, or throws JournalFullError. */
  private makeRoom(size: number): void {
    const room = this.blockLength - BLOCK_HEADER;
    for (;;) {
      if (this.headFits(size)) return;
      const avail = this.available();
      if (avail.length >= 2) {
        this.startBlock(this.pickFree(avail), NONE);
        return;
      }
      // reclaim: the used block with the fewest live bytes (the oldest among equals), if that leaves room
      const used = this.usedByAge();
      let victim: number | undefined;
      for (const i of used) if (victim === undefined || this.blocks[i].live < this.blocks[victim].live) victim = i;
      if (victim !== undefined && this.blocks[victim].live + size > room) victim = undefined;
      if (victim !== undefined) {
        this.reclaim(victim);
        if (this.headFits(size)) return;
        continue;
      }
      // full: make room by dropping droppable records of one block (the oldest where that suffices)
      const target = used.find((i) => this.blocks[i].live - this.droppableBytes(i) + size <= room);
      if (target === undefined) throw new JournalFullError();
      const victims = Array.from(this.index.values())
        .filter((e) => e.cls === "droppable" && e.locs.some((l) => l.block === target))
        .sort((a, b) => a.seq - b.seq);
      for (const e of victims) {
        if (this.blocks[target].live + size <= room) break;
        this.kill(e);
        this.counters.dropped++;
      }
    }
  }

  private droppableBytes(block: number): number {
    let n = 0;
    for (const e of this.index.values()) {
      if (e.cls !== "droppable") continue;
      for (const l of e.locs) if (l.block === block) n += e.size;
    }
    return n;
  }

  private usedByAge(): number[] {
    const used: number[] = [];
    for (let i = 0; i < this.blocks.length; i++) if (this.blocks[i].state === "used") used.push(i);
    return used.sort((a, b) => this.blocks[a].blockSeq - this.blocks[b].blockSeq);
  }

  /** Wear levelling: the first available block after the head in ring order; erased ones first. */
  private pickFree(avail: number[]): number {
    const n = this.blocks.length;
    const start = this.head >= 0 ? this.head + 1 : 0;
    let best = -1;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (!avail.includes(i)) continue;
      if (this.blocks[i].state === "free") return i;
      if (best < 0) best = i;
    }
    return best;
  }

  private startBlock(i: number, reclaimOf: number): void {
    const b = this.blocks[i];
    if (b.state === "dirty") {
      // mark it unusable in memory first: a cut during the erase leaves it dirty
      this.flash.eraseBlock(i);
      b.state = "free";
    }
    const hdr = new Uint8Array(BLOCK_HEADER);
    const blockSeq = this.nextBlockSeq;
    put32(hdr, 0, BLOCK_MAGIC);
    put32(hdr, 4, blockSeq);
    put32(hdr, 8, this.nextSeq);
    put32(hdr, 12, reclaimOf);
    put32(hdr, 16, crc32(hdr, 0, 0, 16));
    b.state = "dirty"; // until the header is written
    this.nextBlockSeq++;
    this.flash.write(hdr, this.blockLength * i);
    b.state = "used";
    b.blockSeq = blockSeq;
    b.firstSeq = this.nextSeq;
    b.reclaimOf = reclaimOf;
    b.end = BLOCK_HEADER;
    b.live = 0;
    this.head = i;
  }

  /** Copies the live records of block `v` into a fresh block (the new head), then erases `v`. */
  private reclaim(v: number): void {
    const avail = this.available();
    if (avail.length === 0) throw new JournalFullError("journal: no reserve block");
    const src = this.blocks[v];
    const movers = Array.from(this.index.values())
      .filter((e) => e.locs.some((l) => l.block === v))
      .sort((a, b) => a.seq - b.seq);
    this.startBlock(this.pickFree(avail), src.blockSeq);
    const base = this.blockLength * v;
    for (const e of movers) {
      const at = e.locs.findIndex((l) => l.block === v);
      const l = e.locs[at];
      const rec = new Uint8Array(this.flash.read(e.size, base + l.offset));
      rec[FLAGS_OFFSET] = 0xff;
      const h = this.blocks[this.head];
      const loc = { block: this.head, offset: h.end };
      h.end += e.size;
      this.flash.write(rec, this.blockLength * loc.block + loc.offset);
      h.live += e.size;
      e.locs.splice(at, 1, loc);
    }
    src.state = "dirty";
    src.live = 0;
    this.flash.eraseBlock(v);
    src.state = "free";
    this.counters.reclaimed++;
  }

  // ------------------------------------------------------------------ open / recovery

  private recover(onRecover: JournalOptions["onRecover"]): void {
    const report = (what: string, block: number, offset: number): void => {
      this.counters.recovered++;
      if (onRecover) onRecover(what, block, offset);
    };
    const BL = this.blockLength;
    // every valid record copy found: seq -> copies
    const found = new Map<number, Array<{ loc: Loc; cls: RecordClass; gen: number; size: number; removed: boolean }>>();
    let maxSeq = 0;
    let maxBlockSeq = 0;
    let maxFirstSeq = 1;
    for (let i = 0; i < this.blocks.length; i++) {
      const data = new Uint8Array(this.flash.read(BL, BL * i));
      const b = this.blocks[i];
      const valid = u32(data, 0) === BLOCK_MAGIC && u32(data, 16) === crc32(data, 0, 0, 16) && u32(data, 4) !== 0 && u32(data, 4) !== NONE;
      if (!valid) {
        if (allFF(data, 0, BL)) b.state = "free";
        else {
          b.state = "dirty";
          report("invalid block header", i, 0);
        }
        continue;
      }
      b.state = "used";
      b.blockSeq = u32(data, 4);
      b.firstSeq = u32(data, 8);
      b.reclaimOf = u32(data, 12);
      b.live = 0;
      if (b.blockSeq > maxBlockSeq) maxBlockSeq = b.blockSeq;
      if (b.firstSeq > maxFirstSeq && b.firstSeq < NONE) maxFirstSeq = b.firstSeq;
      let pos = BLOCK_HEADER;
      b.end = BL;
      while (pos + REC_HEADER <= BL) {
        if (allFF(data, pos, pos + REC_HEADER)) {
          if (allFF(data, pos, BL)) b.end = pos;
          else report("garbage in free space", i, pos);
          break;
        }
        const len = u16(data, pos + 4);
        const size = align4(REC_HEADER + len);
        const code = data[pos + 2];
        if (u16(data, pos) !== REC_MAGIC || pos + size > BL || (code !== 1 && code !== 2)) {
          report("unreadable record header", i, pos);
          break; // sealed: b.end stays at BL
        }
        const rec = data.subarray(pos, pos + size);
        const seq = u32(rec, 8);
        let ok = u32(rec, 12) === recordCrc(rec, len) && seq !== 0 && seq !== NONE;
        if (ok) {
          try {
            decodeCbor(rec.subarray(REC_HEADER, REC_HEADER + len), { maxDepth: this.maxDepth });
          } catch (e) {
            if (!(e instanceof CborError)) throw e;
            ok = false;
          }
        }
        if (!ok) {
          report("torn or corrupt record", i, pos);
        } else {
          if (seq > maxSeq) maxSeq = seq;
          let copies = found.get(seq);
          if (!copies) found.set(seq, (copies = []));
          copies.push({ loc: { block: i, offset: pos }, cls: code === 1 ? "critical" : "droppable", gen: u16(rec, 6), size, removed: rec[FLAGS_OFFSET] !== 0xff });
        }
        pos += size;
      }
    }
    this.nextSeq = Math.max(maxSeq + 1, maxFirstSeq);
    this.nextBlockSeq = maxBlockSeq + 1;

    // an interrupted reclaim: the newest block names a source block that still exists
    const used = this.usedByAge();
    const newest = used.length ? used[used.length - 1] : -1;
    if (newest >= 0 && this.blocks[newest].reclaimOf !== NONE) {
      const source = used.find((i) => this.blocks[i].blockSeq === this.blocks[newest].reclaimOf);
      if (source !== undefined && source !== newest) {
        // complete iff every copy in the source that would have been moved has its twin in the target
        let complete = true;
        for (const copies of found.values()) {
          const inSrc = copies.filter((c) => c.loc.block === source);
          if (inSrc.length === 0) continue;
          const top = Math.max(...copies.map((c) => c.gen));
          const isLive = !copies.some((c) => c.gen === top && c.removed);
          if (!isLive) continue;
          if (!inSrc.some((c) => c.gen === top)) continue;
          if (!copies.some((c) => c.loc.block === newest && c.gen === top)) complete = false;
        }
        const drop = complete ? source : newest;
        report(complete ? "finishing interrupted reclaim" : "undoing interrupted reclaim", drop, 0);
        for (const [seq, copies] of found) {
          const rest = copies.filter((c) => c.loc.block !== drop);
          if (rest.length) found.set(seq, rest);
          else found.delete(seq);
        }
        this.blocks[drop].state = "dirty";
        this.flash.eraseBlock(drop);
        this.blocks[drop].state = "free";
        if (complete) this.counters.reclaimed++;
      }
    }

    // build the index; clear stale copies (superseded generations, removed twins) so nothing resurrects
    const toClear: Loc[] = [];
    for (const [seq, copies] of found) {
      const top = Math.max(...copies.map((c) => c.gen));
      const current = copies.filter((c) => c.gen === top);
      const removed = current.some((c) => c.removed);
      for (const c of copies) {
        if (c.removed) continue;
        if (removed || c.gen !== top) toClear.push(c.loc);
      }
      if (removed) continue;
      const first = current[0];
      this.index.set(seq, { seq, cls: first.cls, gen: top, size: first.size, locs: current.map((c) => c.loc) });
      for (const c of current) this.blocks[c.loc.block].live += c.size;
    }
    for (const l of toClear) this.clearFlags(l);

    // appends continue in the newest used block, unless it is sealed
    const after = this.usedByAge();
    this.head = after.length ? after[after.length - 1] : -1;
  }
}
