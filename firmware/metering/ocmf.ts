/**
 * OCMF (Open Charge Metering Format, S.A.F.E. e.V.): "OCMF|<payload JSON>|<signature JSON>".
 *
 * - Payload: FV (format version), GI/GS/GV (gateway = this charger: model, serial, firmware), PG (pagination:
 *   "T<n>" for transaction readings, "F<n>" for fiscal readings outside a transaction; n counts up for the
 *   life of the device), MV/MM/MS/MF (meter vendor, model, serial, firmware), IS/IL/IF/IT/ID (identification
 *   status, level, flags, type, data), TT (tariff text, optional), RD: readings {TM time "YYYY-MM-DDThh:mm:ss,fff+0000 S",
 *   TX reason (B begin, T tariff change / intermediate, E end, ...), RV value, RI OBIS id, RU unit, ST meter status,
 *   EF error flags}.
 * - Signature: SA "ECDSA-secp256r1-SHA256", SE "hex", SM "application/x-der", SD = hex of the DER
 *   ECDSA-Sig-Value over the UTF-8 bytes of the payload section exactly as sent. The private key never leaves the
 *   HAL (hal.crypto.sign with a named key); the HAL returns r||s, encoded to DER here.
 * - The public key is published as hex of its SubjectPublicKeyInfo DER (what OCMF verifiers and transparency
 *   software such as the S.A.F.E. transparency tool take).
 */
import type { Crypto } from "../../hal/index.js";
import { utf8Encode } from "../util/utf8.js";

export type OcmfReason = "B" | "T" | "E" | "C" | "X" | "L" | "R" | "A" | "P" | "S";

export interface OcmfIdentity {
  /** Gateway (charger) model, serial, firmware. */
  GI: string;
  GS: string;
  GV: string;
  /** Meter vendor, model, serial, firmware. */
  MV: string;
  MM: string;
  MS: string;
  MF: string;
}

export interface OcmfIdentification {
  /** Identification status: an identification was presented and authorized. */
  IS: boolean;
  IL?: "NONE" | "HEARSAY" | "TRUSTED" | "VERIFIED" | "CERTIFIED" | "SECURE" | "MISMATCH" | "INVALID" | "OUTDATED" | "UNKNOWN";
  IF?: string[];
  IT: "NONE" | "DENIED" | "UNDEFINED" | "ISO14443" | "ISO15693" | "EMAID" | "EVCCID" | "EVCOID" | "ISO7812" | "CARD_TXN_NR" | "CENTRAL" | "CENTRAL_1" | "CENTRAL_2" | "LOCAL" | "LOCAL_1" | "LOCAL_2" | "PHONE_NUMBER" | "KEY_CODE";
  ID?: string;
}

export interface OcmfReading {
  /** Wall clock, ms since epoch (0 = unknown). */
  timeMs: number;
  /** The clock was synchronised ("S") or not ("U"). */
  synced: boolean;
  reason: OcmfReason;
  /** Import register, Wh. */
  wh: number;
  /** Meter status: "G" good, "F" read error (the meter failed), ... */
  status: "G" | "F" | "E" | "T" | "N";
}

export const OCMF_SIGNATURE_ALGORITHM = "ECDSA-secp256r1-SHA256";
/** OBIS code of the active energy import register. */
export const OBIS_IMPORT = "1-b:1.8.0";

const HEX = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return s;
}

function pad(n: number, width: number): string {
  let s = String(n);
  while (s.length < width) s = "0" + s;
  return s;
}

/** OCMF time: "2026-01-15T08:00:00,000+0000 S" (UTC, comma before the milliseconds, sync flag). */
export function ocmfTime(epochMs: number, synced: boolean): string {
  const d = new Date(epochMs > 0 ? epochMs : 0);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)},${pad(d.getUTCMilliseconds(), 3)}+0000 ${synced ? "S" : "U"}`;
}

/** A DER INTEGER of a 32-byte big-endian unsigned value. */
function derInteger(src: Uint8Array, from: number): number[] {
  let i = from;
  const end = from + 32;
  while (i < end - 1 && src[i] === 0) i++;
  const out: number[] = [];
  if (src[i]! & 0x80) out.push(0);
  for (; i < end; i++) out.push(src[i]!);
  return [0x02, out.length, ...out];
}

/** Raw r||s (64 bytes) to the DER ECDSA-Sig-Value SEQUENCE { r INTEGER, s INTEGER }. */
export function rawSignatureToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new RangeError("ECDSA P-256 signature must be 64 bytes r||s");
  const r = derInteger(raw, 0);
  const s = derInteger(raw, 32);
  return new Uint8Array([0x30, r.length + s.length, ...r, ...s]);
}

/** SubjectPublicKeyInfo DER prefix for an uncompressed P-256 key (id-ecPublicKey, prime256v1, BIT STRING). */
const SPKI_P256_PREFIX = [
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/** Uncompressed SEC1 public key (65 bytes) to SubjectPublicKeyInfo DER. */
export function spkiFromRaw(pub: Uint8Array): Uint8Array {
  if (pub.length !== 65 || pub[0] !== 4) throw new RangeError("expected an uncompressed P-256 public key (65 bytes, 0x04 ...)");
  const out = new Uint8Array(SPKI_P256_PREFIX.length + 65);
  out.set(SPKI_P256_PREFIX, 0);
  out.set(pub, SPKI_P256_PREFIX.length);
  return out;
}

/** Builds the payload JSON text (field order fixed, as signed). */
export function ocmfPayload(page: string, id: OcmfIdentity, ident: OcmfIdentification, readings: readonly OcmfReading[]): string {
  const p: Record<string, unknown> = {
    FV: "1.0",
    GI: id.GI,
    GS: id.GS,
    GV: id.GV,
    PG: page,
    MV: id.MV,
    MM: id.MM,
    MS: id.MS,
    MF: id.MF,
    IS: ident.IS,
  };
  if (ident.IL !== undefined) p["IL"] = ident.IL;
  if (ident.IF !== undefined) p["IF"] = ident.IF;
  p["IT"] = ident.IT;
  if (ident.ID !== undefined) p["ID"] = ident.ID;
  p["RD"] = readings.map((r) => {
    const rd: Record<string, unknown> = {
      TM: ocmfTime(r.timeMs, r.synced),
      TX: r.reason,
      RV: Math.floor(r.wh) / 1000,
      RI: OBIS_IMPORT,
      RU: "kWh",
      ST: r.status,
    };
    if (!r.synced) rd["EF"] = "t";
    return rd;
  });
  return JSON.stringify(p);
}

/** Signs OCMF payloads with a named device key through the HAL. */
export class OcmfSigner {
  private pubHex: string | null = null;
  readonly stats = { signatures: 0 };

  constructor(private readonly crypto: Crypto, readonly keyName: string) {}

  /** The public key as hex of its SubjectPublicKeyInfo DER. */
  get publicKeyHex(): string {
    if (this.pubHex === null) this.pubHex = toHex(spkiFromRaw(new Uint8Array(this.crypto.publicKey(this.keyName))));
    return this.pubHex;
  }

  /** "OCMF|payload|signature". */
  sign(payload: string): string {
    const raw = new Uint8Array(this.crypto.sign(this.keyName, utf8Encode(payload)));
    this.stats.signatures++;
    const sig = `{"SA":"${OCMF_SIGNATURE_ALGORITHM}","SE":"hex","SM":"application/x-der","SD":"${toHex(rawSignatureToDer(raw))}"}`;
    return `OCMF|${payload}|${sig}`;
  }
}
