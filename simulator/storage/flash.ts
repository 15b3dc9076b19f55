/**
 * Simulated NOR flash implementing the HAL's `Storage["flash"]` (hal/storage.ts).
 *
 *  - Named partitions, each `size` bytes in blocks of `blockLength` (default 4096); size must be a
 *    multiple of blockLength. A fresh partition is erased (0xFF).
 *  - Strict NOR: write() ANDs into the existing bytes (bits only go 1 -> 0); eraseBlock() sets whole blocks
 *    to 0xFF. Out-of-range or non-integer offsets/lengths/blocks throw RangeError; a closed instance throws.
 *  - Power-cut injection through a shared PowerDomain (see power.ts): `powerCut({op, when, tornBytes})`.
 *    "during" a write programs only the first `tornBytes` bytes; "during" an eraseBlock erases only the
 *    first `tornBytes` bytes of the range (counted from the start of block `first`). The call throws
 *    PowerCutError and so does every later call on any instance until `reboot()`.
 *    Instances opened before a reboot are stale afterwards (they throw): the rebooted firmware reopens.
 *  - Counters for the bench: `writes` (write calls), `bytesWritten` (bytes programmed), `erases`
 *    (blocks erased); per-block erase counts via `wear(path)`.
 *  - Persistence: `snapshot()/restore()` in memory, `save(path)` / `SimFlash.load(path)` as a file image.
 */
import type { BufferLike } from "../../hal/common.js";
import type { Flash, FlashOpenOptions, FlashStatus, Storage } from "../../hal/storage.js";
import { Rng } from "../rng.js";
import { loadImageFile, saveImageFile, type PartitionImage } from "./image.js";
import { PowerDomain, type PowerCutPlan } from "./power.js";

export { PowerCutError, type PowerCutPlan } from "./power.js";

export interface PartitionSpec {
  size: number;
  blockLength?: number;
}

export interface SimFlashOptions {
  partitions: Record<string, PartitionSpec>;
  /** Share a power domain (e.g. with SimKeyValue). Default: a new one. */
  domain?: PowerDomain;
  /** Seed for torn-length draws when the domain is created here. Default 1. */
  seed?: number;
}

class Partition {
  readonly data: Uint8Array;
  readonly blockWear: Uint32Array;
  constructor(readonly name: string, readonly size: number, readonly blockLength: number, data?: Uint8Array) {
    this.data = new Uint8Array(size);
    if (data) this.data.set(data);
    else this.data.fill(0xff);
    this.blockWear = new Uint32Array(size / blockLength);
  }
}

function toBytes(buffer: BufferLike): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new TypeError("flash.write: buffer must be an ArrayBuffer, Uint8Array or DataView");
}

function checkSpec(name: string, size: number, blockLength: number): void {
  if (!Number.isSafeInteger(blockLength) || blockLength <= 0) throw new RangeError(`flash partition ${name}: bad blockLength`);
  if (!Number.isSafeInteger(size) || size <= 0 || size % blockLength !== 0) {
    throw new RangeError(`flash partition ${name}: size must be a positive multiple of blockLength`);
  }
}

type FlashFactory = Storage["flash"];

export class SimFlash implements FlashFactory {
  readonly domain: PowerDomain;
  private readonly parts = new Map<string, Partition>();
  /** write() calls that took effect (fully or torn). */
  writes = 0;
  /** Bytes programmed by write() (torn writes count the bytes that took effect). */
  bytesWritten = 0;
  /** Blocks erased (each block of an eraseBlock(first, last) range counts). */
  erases = 0;

  constructor(options: SimFlashOptions) {
    this.domain = options.domain ?? new PowerDomain(new Rng(options.seed ?? 1).fork("power"));
    for (const [name, spec] of Object.entries(options.partitions)) {
      const bl = spec.blockLength ?? 4096;
      checkSpec(name, spec.size, bl);
      this.parts.set(name, new Partition(name, spec.size, bl));
    }
  }

  open(options: FlashOpenOptions): Flash {
    this.domain.check();
    if (!options || typeof options.path !== "string") throw new TypeError("flash.open: options.path must be a string");
    const part = this.parts.get(options.path);
    if (!part) throw new Error(`flash.open: unknown partition "${options.path}"`);
    return new SimFlashInstance(this, part, this.domain.epoch);
  }

  /** Schedules a power cut on the shared domain. */
  powerCut(plan: PowerCutPlan): void {
    this.domain.schedule(plan);
  }

  /** Power back on after a cut (or a plain reset): calls work again; reopen the partitions. */
  reboot(): void {
    this.domain.reboot();
  }

  /** Mutating operations (write/eraseBlock, and key-value set/delete on a shared domain) so far. */
  countOps(): number {
    return this.domain.countOps();
  }

  get isPowerDown(): boolean {
    return this.domain.isDown;
  }

  /** Per-block erase counts of a partition. */
  wear(path: string): number[] {
    const p = this.parts.get(path);
    if (!p) throw new Error(`unknown partition "${path}"`);
    return Array.from(p.blockWear);
  }

  resetCounters(): void {
    this.writes = 0;
    this.bytesWritten = 0;
    this.erases = 0;
  }

  /** Direct access to a partition's bytes for tests (a copy). */
  peek(path: string): Uint8Array {
    const p = this.parts.get(path);
    if (!p) throw new Error(`unknown partition "${path}"`);
    return p.data.slice();
  }

  /** Overwrites a partition's bytes directly (tests: garbage images, bit flips). Not NOR-checked. */
  poke(path: string, offset: number, bytes: Uint8Array): void {
    const p = this.parts.get(path);
    if (!p) throw new Error(`unknown partition "${path}"`);
    if (offset < 0 || offset + bytes.length > p.size) throw new RangeError("poke out of range");
    p.data.set(bytes, offset);
  }

  snapshot(): Record<string, PartitionImage> {
    const out: Record<string, PartitionImage> = {};
    for (const [name, p] of this.parts) out[name] = { size: p.size, blockLength: p.blockLength, data: p.data.slice() };
    return out;
  }

  /** Replaces all partitions (and their layout) with a snapshot. Wear counters restart at 0. */
  restore(snapshot: Record<string, PartitionImage>): void {
    this.parts.clear();
    for (const [name, img] of Object.entries(snapshot)) {
      checkSpec(name, img.size, img.blockLength);
      if (img.data.length !== img.size) throw new RangeError(`flash partition ${name}: data length != size`);
      this.parts.set(name, new Partition(name, img.size, img.blockLength, img.data));
    }
  }

  save(path: string): void {
    saveImageFile(path, { partitions: this.snapshot(), keyValue: {} });
  }

  static load(path: string, options: Omit<SimFlashOptions, "partitions"> = {}): SimFlash {
    const img = loadImageFile(path);
    const f = new SimFlash({ ...options, partitions: {} });
    f.restore(img.partitions);
    return f;
  }

  /** @internal */
  _write(part: Partition, bytes: Uint8Array, offset: number): void {
    const fate = this.domain.begin();
    const op = this.domain.currentOp;
    const event = { op, when: "before" as PowerCutPlan["when"], kind: "flash.write", path: part.name };
    if (fate.kind === "before") this.domain.fire(event);
    let n = bytes.length;
    let tornBits = 0;
    if (fate.kind === "during") {
      const k = fate.tornBytes ?? (n === 0 ? 0 : this.domain.rng.int(0, n - 1));
      n = Math.min(k, bytes.length);
      tornBits = fate.tornBits;
    }
    const d = part.data;
    for (let i = 0; i < n; i++) d[offset + i] &= bytes[i];
    if (fate.kind === "during" && n < bytes.length && tornBits !== 0) {
      // half-programmed byte: only the bits in the mask went from 1 to 0
      d[offset + n] &= bytes[n] | (~tornBits & 0xff);
    }
    this.writes++;
    this.bytesWritten += n;
    if (fate.kind === "during") this.domain.fire({ ...event, when: "during" });
    if (fate.kind === "after") this.domain.fire({ ...event, when: "after" });
  }

  /** @internal */
  _erase(part: Partition, first: number, last: number): void {
    const fate = this.domain.begin();
    const op = this.domain.currentOp;
    const event = { op, when: "before" as PowerCutPlan["when"], kind: "flash.eraseBlock", path: part.name };
    if (fate.kind === "before") this.domain.fire(event);
    const start = first * part.blockLength;
    const len = (last - first + 1) * part.blockLength;
    let n = len;
    let tornBits = 0;
    if (fate.kind === "during") {
      n = Math.min(fate.tornBytes ?? this.domain.rng.int(0, len - 1), len);
      tornBits = fate.tornBits;
    }
    part.data.fill(0xff, start, start + n);
    if (fate.kind === "during" && n < len && tornBits !== 0) part.data[start + n] |= tornBits;
    // wear: every block the erase touched
    const touchedLast = n === len ? last : first + Math.floor(n / part.blockLength);
    for (let b = first; b <= Math.min(touchedLast, last); b++) {
      part.blockWear[b]++;
      this.erases++;
    }
    if (fate.kind === "during") this.domain.fire({ ...event, when: "during" });
    if (fate.kind === "after") this.domain.fire({ ...event, when: "after" });
  }
}

class SimFlashInstance implements Flash {
  private closed = false;
  constructor(private readonly owner: SimFlash, private readonly part: Partition, private readonly epoch: number) {}

  private live(): void {
    this.owner.domain.check();
    if (this.closed) throw new Error(`flash "${this.part.name}": instance is closed`);
    if (this.epoch !== this.owner.domain.epoch) throw new Error(`flash "${this.part.name}": instance opened before reboot is stale`);
  }

  read(byteLength: number, byteOffset: number): ArrayBuffer {
    this.live();
    if (!Number.isSafeInteger(byteLength) || byteLength < 0) throw new RangeError("flash.read: bad byteLength");
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset + byteLength > this.part.size) {
      throw new RangeError(`flash.read: range ${byteOffset}+${byteLength} outside partition of ${this.part.size}`);
    }
    return this.part.data.slice(byteOffset, byteOffset + byteLength).buffer;
  }

  write(buffer: BufferLike, byteOffset: number): void {
    this.live();
    const bytes = toBytes(buffer);
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset + bytes.length > this.part.size) {
      throw new RangeError(`flash.write: range ${byteOffset}+${bytes.length} outside partition of ${this.part.size}`);
    }
    this.owner._write(this.part, bytes, byteOffset);
  }

  eraseBlock(first: number, last: number = first): void {
    this.live();
    const blocks = this.part.size / this.part.blockLength;
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first || last >= blocks) {
      throw new RangeError(`flash.eraseBlock: blocks ${first}..${last} outside 0..${blocks - 1}`);
    }
    this.owner._erase(this.part, first, last);
  }

  status(): FlashStatus {
    this.live();
    return { size: this.part.size, blockLength: this.part.blockLength };
  }

  close(): void {
    this.closed = true;
  }
}
