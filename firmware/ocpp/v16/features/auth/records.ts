/**
 * Compact text records for authorization data (local list buckets, the authorization cache), stored as
 * key-value strings. One record:
 *
 *   L idTag S L expiry L parentIdTag
 *
 * where each L is one character, code 0x30 + the length of the field that follows (idTags are at most 20
 * code points, so at most 40 UTF-16 units: 0x30..0x58), S is the status letter (A Accepted, B Blocked,
 * E Expired, I Invalid, C ConcurrentTx) and expiry is the expiryDate in seconds since the epoch, base 36
 * (empty: none). Length prefixes make any idTag content safe (no separator can clash). A 20-character idTag
 * with neither expiry nor parent takes 24 bytes; with both (20-character parent) 50 bytes.
 *
 * Decoding never throws: a malformed string ends the scan (`decodeAll` reports it as `damaged`).
 */
import { parseIsoTime } from "../../../../util/time.js";

export type AuthStatus = "Accepted" | "Blocked" | "Expired" | "Invalid" | "ConcurrentTx";

export interface AuthEntry {
  idTag: string;
  status: AuthStatus;
  /** expiryDate in seconds since the epoch; 0 = none. */
  expiry: number;
  parentIdTag: string | null;
}

const STATUS_LETTER: Record<AuthStatus, string> = { Accepted: "A", Blocked: "B", Expired: "E", Invalid: "I", ConcurrentTx: "C" };

function statusOf(letter: string): AuthStatus | null {
  switch (letter) {
    case "A":
      return "Accepted";
    case "B":
      return "Blocked";
    case "E":
      return "Expired";
    case "I":
      return "Invalid";
    case "C":
      return "ConcurrentTx";
    default:
      return null;
  }
}

const MAX_FIELD = 40;

function len(n: number): string {
  return String.fromCharCode(0x30 + n);
}

export function encodeEntry(e: AuthEntry): string {
  const exp = e.expiry > 0 ? Math.floor(e.expiry).toString(36) : "";
  const parent = e.parentIdTag ?? "";
  return len(e.idTag.length) + e.idTag + STATUS_LETTER[e.status] + len(exp.length) + exp + len(parent.length) + parent;
}

/** The normalised lookup key of an idTag (IdToken is case-insensitive). */
export function tagKey(idTag: string): string {
  return idTag.toUpperCase();
}

/** Reads one field length at `i`, or -1. */
function fieldLength(s: string, i: number): number {
  if (i >= s.length) return -1;
  const n = s.charCodeAt(i) - 0x30;
  return n >= 0 && n <= MAX_FIELD ? n : -1;
}

/**
 * Decodes the record at `start`. Returns its end offset and fills `out`, or -1 when the string is malformed
 * there.
 */
export function decodeAt(s: string, start: number, out: AuthEntry): number {
  let i = start;
  const nTag = fieldLength(s, i);
  if (nTag <= 0 || i + 1 + nTag + 2 > s.length) return -1;
  out.idTag = s.slice(i + 1, i + 1 + nTag);
  i += 1 + nTag;
  const status = statusOf(s.charAt(i));
  if (status === null) return -1;
  out.status = status;
  i++;
  const nExp = fieldLength(s, i);
  if (nExp < 0 || i + 1 + nExp + 1 > s.length) return -1;
  if (nExp > 0) {
    const v = parseInt(s.slice(i + 1, i + 1 + nExp), 36);
    if (!Number.isFinite(v) || v < 0) return -1;
    out.expiry = v;
  } else out.expiry = 0;
  i += 1 + nExp;
  const nParent = fieldLength(s, i);
  if (nParent < 0 || i + 1 + nParent > s.length) return -1;
  out.parentIdTag = nParent > 0 ? s.slice(i + 1, i + 1 + nParent) : null;
  return i + 1 + nParent;
}

export function emptyEntry(): AuthEntry {
  return { idTag: "", status: "Invalid", expiry: 0, parentIdTag: null };
}

export interface Found {
  entry: AuthEntry;
  start: number;
  end: number;
}

/** Finds the record of `key` (see tagKey) in `s`, or null. */
export function findEntry(s: string, key: string): Found | null {
  const e = emptyEntry();
  let i = 0;
  while (i < s.length) {
    const end = decodeAt(s, i, e);
    if (end < 0) return null;
    if (e.idTag.length === key.length && tagKey(e.idTag) === key) return { entry: e, start: i, end };
    i = end;
  }
  return null;
}

/** Every record of `s`; `damaged` when a malformed tail was dropped. */
export function decodeAll(s: string): { entries: AuthEntry[]; damaged: boolean } {
  const entries: AuthEntry[] = [];
  let i = 0;
  while (i < s.length) {
    const e = emptyEntry();
    const end = decodeAt(s, i, e);
    if (end < 0) return { entries, damaged: true };
    entries.push(e);
    i = end;
  }
  return { entries, damaged: false };
}

/** The status an entry has at `nowS` (seconds since the epoch): a passed expiryDate makes it Expired. */
export function effectiveStatus(e: AuthEntry, nowS: number): AuthStatus {
  return e.status === "Accepted" && e.expiry > 0 && e.expiry <= nowS ? "Expired" : e.status;
}

/** Validates an OCPP IdTagInfo object (already schema-checked) into an entry; null when its expiryDate is unusable. */
export function entryFromIdTagInfo(idTag: string, info: Record<string, unknown>): AuthEntry | null {
  const status = info["status"];
  if (typeof status !== "string" || statusOf(STATUS_LETTER[status as AuthStatus] ?? "") === null) return null;
  let expiry = 0;
  const exp = info["expiryDate"];
  if (exp !== undefined) {
    if (typeof exp !== "string") return null;
    const ms = parseIsoTime(exp);
    if (!Number.isFinite(ms)) return null;
    expiry = Math.max(1, Math.floor(ms / 1000));
  }
  const parent = info["parentIdTag"];
  if (parent !== undefined && (typeof parent !== "string" || parent.length === 0)) return null;
  return { idTag, status: status as AuthStatus, expiry, parentIdTag: (parent as string | undefined) ?? null };
}

/** True when the string cannot be stored faithfully (lone UTF-16 surrogates) or is empty / too long. */
export function badIdTag(s: string): boolean {
  if (s.length === 0 || s.length > MAX_FIELD) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}
