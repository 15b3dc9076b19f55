/**
 * The Local Authorization List (OCPP 1.6 LocalAuthListManagement), kept in the key-value store, not in RAM.
 *
 * Layout: the list is spread over 16 buckets by a hash of the (case-folded) idTag; each bucket is one
 * key-value string of records (records.ts), at most 4000 bytes. Every bucket has two slots, "la<b>.0" and
 * "la<b>.1"; the header "la.h" = "1;<version>;<count>;<slot mask>" says which slot of each bucket is live.
 *
 * Power-safe update: the changed buckets are written to their spare slots, then the header is written
 * (one atomic key-value set: the commit point), then the old slots are deleted. A power cut before the
 * header leaves the old list (the spare slots are ignored and cleaned at the next load), after it the new one.
 * A lookup reads one bucket. Bad input (duplicate idTags, a Full entry without idTagInfo, a bad expiryDate,
 * too many entries, a bucket over 4000 bytes) answers Failed and changes nothing.
 */
import type { KeyValue } from "../../../../../hal/index.js";
import { utf8Length } from "../../../../util/utf8.js";
import { badIdTag, decodeAll, encodeEntry, entryFromIdTagInfo, findEntry, tagKey, type AuthEntry } from "./records.js";

export const LIST_BUCKETS = 16;
export const BUCKET_MAX_BYTES = 4000;
const HEADER = "la.h";

function bucketKey(b: number, slot: number): string {
  return "la" + b.toString(16) + "." + slot;
}

/** FNV-1a over the case-folded idTag. */
export function bucketOf(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return h % LIST_BUCKETS;
}

export type ListUpdateStatus = "Accepted" | "Failed" | "VersionMismatch";

export interface ListItem {
  idTag: string;
  idTagInfo?: Record<string, unknown>;
}

export class LocalAuthList {
  private version = 0;
  private count = 0;
  /** Bit b set: slot 1 of bucket b is live. */
  private mask = 0;
  /** Problems found at load (for logs). */
  readonly problems: string[] = [];

  constructor(
    private readonly kv: KeyValue,
    /** LocalAuthListMaxLength. */
    readonly maxEntries: number,
  ) {
    this.load();
  }

  /** The version to report (GetLocalListVersion): 0 when the list is empty. */
  get listVersion(): number {
    return this.count === 0 ? 0 : this.version;
  }

  get size(): number {
    return this.count;
  }

  private load(): void {
    const h = this.kv.get(HEADER);
    if (h !== undefined) {
      const parts = h.split(";");
      const version = Number(parts[1]);
      const count = Number(parts[2]);
      const mask = Number(parts[3]);
      if (parts.length === 4 && parts[0] === "1" && Number.isSafeInteger(version) && Number.isSafeInteger(count) && count >= 0 && Number.isInteger(mask) && mask >= 0 && mask < 1 << LIST_BUCKETS) {
        this.version = version;
        this.count = count;
        this.mask = mask;
      } else this.problems.push("bad header");
    }
    // Spare slots left by an update a power cut interrupted (before or after its commit).
    const keys = this.kv.keys();
    for (let b = 0; b < LIST_BUCKETS; b++) {
      const spare = bucketKey(b, this.slot(b) ^ 1);
      if (keys.includes(spare)) this.tryDelete(spare);
    }
  }

  private slot(b: number): number {
    return (this.mask >> b) & 1;
  }

  private bucket(b: number): string {
    return this.kv.get(bucketKey(b, this.slot(b))) ?? "";
  }

  /** The entry of an idTag, or null. One key-value read. */
  lookup(idTag: string): AuthEntry | null {
    if (this.count === 0) return null;
    const key = tagKey(idTag);
    const found = findEntry(this.bucket(bucketOf(key)), key);
    return found ? found.entry : null;
  }

  /** SendLocalList. `items` were schema-checked by the caller; everything else is checked here. */
  update(type: "Full" | "Differential", version: number, items: readonly ListItem[]): ListUpdateStatus {
    if (type === "Differential" && version <= this.listVersion) return "VersionMismatch";
    if (!Number.isSafeInteger(version) || version < 0) return "Failed";
    // Validate everything first: bad input changes nothing.
    const seen: string[] = [];
    const parsed: Array<{ key: string; entry: AuthEntry | null }> = [];
    for (const it of items) {
      if (typeof it.idTag !== "string" || badIdTag(it.idTag)) return "Failed";
      const key = tagKey(it.idTag);
      if (seen.includes(key)) return "Failed";
      seen.push(key);
      let entry: AuthEntry | null = null;
      if (it.idTagInfo !== undefined) {
        entry = entryFromIdTagInfo(it.idTag, it.idTagInfo);
        if (entry === null || (entry.parentIdTag !== null && badIdTag(entry.parentIdTag))) return "Failed";
      } else if (type === "Full") return "Failed";
      parsed.push({ key, entry });
    }
    // The new content of every bucket that changes.
    const changed = new Map<number, string>();
    let count = type === "Full" ? 0 : this.count;
    for (let b = 0; b < LIST_BUCKETS; b++) {
      const mine = parsed.filter((p) => bucketOf(p.key) === b);
      const old = this.bucket(b);
      if (type === "Full") {
        let s = "";
        for (const p of mine) s += encodeEntry(p.entry!);
        count += mine.length;
        if (s !== old) changed.set(b, s);
        continue;
      }
      if (mine.length === 0) continue;
      const entries = decodeAll(old).entries;
      count -= entries.length;
      for (const p of mine) {
        const i = entries.findIndex((e) => tagKey(e.idTag) === p.key);
        if (i >= 0) entries.splice(i, 1);
        if (p.entry) entries.push(p.entry);
      }
      count += entries.length;
      let s = "";
      for (const e of entries) s += encodeEntry(e);
      if (s !== old) changed.set(b, s);
    }
    if (count > this.maxEntries) return "Failed";
    for (const s of changed.values()) if (utf8Length(s) > BUCKET_MAX_BYTES) return "Failed";
    // Write the spare slots, then commit with the header.
    let mask = this.mask;
    try {
      for (const [b, s] of changed) {
        const spare = bucketKey(b, this.slot(b) ^ 1);
        if (s === "") this.kv.delete(spare);
        else this.kv.set(spare, s);
        mask ^= 1 << b;
      }
      this.kv.set(HEADER, `1;${version};${count};${mask}`);
    } catch {
      return "Failed";
    }
    const oldMask = this.mask;
    this.version = version;
    this.count = count;
    this.mask = mask;
    for (const b of changed.keys()) this.tryDelete(bucketKey(b, (oldMask >> b) & 1));
    return "Accepted";
  }

  private tryDelete(key: string): void {
    try {
      this.kv.delete(key);
    } catch {
      // A leftover spare slot is harmless: it is cleaned at the next load or overwritten.
    }
  }

  /** Bytes the list takes in the store (values only), for figures. */
  storedBytes(): number {
    let n = 0;
    for (let b = 0; b < LIST_BUCKETS; b++) n += utf8Length(this.bucket(b));
    return n;
  }
}
