/**
 * The Authorization Cache (OCPP 1.6 §3.5.2): the idTagInfo of identifiers the CSMS answered (Authorize.conf,
 * StartTransaction.conf), kept in one key-value string "ac" of records (records.ts), least recently used
 * first. Bounded by entries and by 4000 bytes; when full, an entry that is no longer valid (not Accepted, or
 * expired) goes first, then the least recently used. Content changes are persisted (one atomic set); a
 * lookup only reorders in RAM (no flash write per swipe).
 */
import type { KeyValue } from "../../../../../hal/index.js";
import { utf8Length } from "../../../../util/utf8.js";
import { decodeAll, decodeAt, effectiveStatus, emptyEntry, encodeEntry, findEntry, tagKey, type AuthEntry } from "./records.js";

const KEY = "ac";
export const CACHE_MAX_BYTES = 4000;

export class AuthCache {
  private data = "";
  private n = 0;
  readonly problems: string[] = [];

  constructor(
    private readonly kv: KeyValue | null,
    readonly maxEntries: number,
  ) {
    const stored = kv?.get(KEY);
    if (stored !== undefined) {
      const { entries, damaged } = decodeAll(stored);
      if (damaged) this.problems.push("damaged cache record dropped");
      for (const e of entries) this.data += encodeEntry(e);
      this.n = entries.length;
    }
  }

  get size(): number {
    return this.n;
  }

  get bytes(): number {
    return utf8Length(this.data);
  }

  get(idTag: string): AuthEntry | null {
    if (this.n === 0) return null;
    const f = findEntry(this.data, tagKey(idTag));
    if (!f) return null;
    // Most recently used last (RAM only).
    this.data = this.data.slice(0, f.start) + this.data.slice(f.end) + this.data.slice(f.start, f.end);
    return f.entry;
  }

  /** Adds or updates an entry (nowS: the wall clock in s, to tell expired entries when evicting). */
  put(entry: AuthEntry, nowS: number): void {
    const rec = encodeEntry(entry);
    const key = tagKey(entry.idTag);
    const f = findEntry(this.data, key);
    if (f && this.data.slice(f.start, f.end) === rec) return;
    let data = f ? this.data.slice(0, f.start) + this.data.slice(f.end) : this.data;
    let n = f ? this.n - 1 : this.n;
    while (n > 0 && (n + 1 > this.maxEntries || utf8Length(data) + utf8Length(rec) > CACHE_MAX_BYTES)) {
      data = evictOne(data, nowS);
      n--;
    }
    this.data = data + rec;
    this.n = n + 1;
    this.persist();
  }

  clear(): void {
    if (this.kv) this.kv.delete(KEY);
    this.data = "";
    this.n = 0;
  }

  private persist(): void {
    if (!this.kv) return;
    try {
      this.kv.set(KEY, this.data);
    } catch (e) {
      this.problems.push(`persist: ${(e as Error).message}`);
    }
  }
}

/** Drops the first entry that is no longer valid, else the first (least recently used) one. */
function evictOne(data: string, nowS: number): string {
  const e = emptyEntry();
  let i = 0;
  let firstEnd = -1;
  while (i < data.length) {
    const end = decodeAt(data, i, e);
    if (end < 0) return data.slice(0, i);
    if (firstEnd < 0) firstEnd = end;
    if (effectiveStatus(e, nowS) !== "Accepted") return data.slice(0, i) + data.slice(end);
    i = end;
  }
  return firstEnd < 0 ? "" : data.slice(firstEnd);
}
