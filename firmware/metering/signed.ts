/**
 * Signed meter values for a session: an OCMF dataset signed at transaction begin ("B") and at the end (the
 * end dataset carries the begin and end readings, "B" and "E", so it alone proves the billed energy), plus
 * intermediate fiscal readings ("T") on request. Pagination is one counter for the life of the device,
 * persisted in the "meter" key-value store; transaction datasets are "T<n>", others "F<n>".
 *
 * Hook for the OCPP stacks (the protocol modules own their messages): the service is attached to the Session
 * object, and a module asks `signedMeterFor(session)`:
 *   - `transactionData(s)` → StopTransaction.req transactionData (OCPP 1.6): two MeterValue entries with one
 *     sampledValue each, format "SignedData", context "Transaction.Begin" / "Transaction.End", measurand
 *     "Energy.Active.Import.Register", value "OCMF|{...}|{...}";
 *   - `sampledValue(s, context)` → one signed sampledValue for a MeterValues.req;
 *   - `publicKeyHex` → what the CSMS needs to verify, published in OCPP 1.6 as the read-only configuration key
 *     "MeterPublicKey" (hex of the SubjectPublicKeyInfo DER; `defineKeys(keys)`) — the common 1.6 practice,
 *     as 1.6 has no standard message for it (2.0.1 has PublicKeyWithSignedMeterValue).
 */
import type { Hal, KeyValue } from "../../hal/index.js";
import type { SessionInfo } from "../session/session.js";
import { isoTime } from "../util/time.js";
import { OcmfSigner, ocmfPayload, type OcmfIdentification, type OcmfIdentity, type OcmfReading } from "./ocmf.js";

export interface SignedMeterOptions {
  /** Name of the device key in hal.crypto. Default "ocmf". */
  keyName?: string;
  identity: OcmfIdentity;
  /** The meter's fault code ("" when healthy): a reading taken while it is set has status "F". */
  meterFault: () => string;
  /** The "meter" key-value store for the pagination counter (null: RAM only). */
  store: KeyValue | null;
}

interface Pending {
  begin: string;
  beginReading: OcmfReading;
  beginMono: number;
  end: string | null;
  endWall: number;
  endMono: number;
  endSynced: boolean;
}

/**
 * Key of the monotonic time of a reading taken while the wall clock was unsynchronised, next to the timestamp
 * of a transactionData entry (the OCPP 1.6 transaction queue, firmware/ocpp/transactions/queue.ts MONO_KEY,
 * corrects such times before sending; the OCMF dataset itself says "U").
 */
const MONO_KEY = "_mono";

/** What a protocol module needs (structural, so OCPP code need not import the class). */
export interface SignedMeterValues {
  readonly publicKeyHex: string;
  transactionData(s: SessionInfo): Array<Record<string, unknown>> | null;
  sampledValue(s: SessionInfo, context: string, wh: number): Record<string, unknown> | null;
  defineKeys(keys: { define(key: string, def: { type: "string"; default: string; readonly: boolean }): void }): void;
}

const ATTACH = "signedMeter";

/** The signed-meter service attached to this session object, or null when signing is off. */
export function signedMeterFor(session: object): SignedMeterValues | null {
  const s = (session as Record<string, unknown>)[ATTACH];
  return s ? (s as SignedMeterValues) : null;
}

export class SignedMeterService implements SignedMeterValues {
  readonly signer: OcmfSigner;
  private page = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly hal: Hal, private readonly o: SignedMeterOptions) {
    this.signer = new OcmfSigner(hal.crypto, o.keyName ?? "ocmf");
    const stored = o.store ? safeGet(o.store, "pg") : undefined;
    const n = stored === undefined ? 0 : Number(stored);
    this.page = Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  /** Attaches the service to a session object and starts signing its transactions. */
  attach(session: { listen(l: { started?(s: SessionInfo): void; ended?(s: SessionInfo): void }): void }): void {
    (session as unknown as Record<string, unknown>)[ATTACH] = this;
    session.listen({
      started: (s) => this.begin(s),
      ended: (s) => this.end(s),
    });
  }

  get publicKeyHex(): string {
    return this.signer.publicKeyHex;
  }

  defineKeys(keys: { define(key: string, def: { type: "string"; default: string; readonly: boolean }): void }): void {
    keys.define("MeterPublicKey", { type: "string", default: this.publicKeyHex, readonly: true });
  }

  private nextPage(kind: "T" | "F"): string {
    this.page++;
    const kv = this.o.store;
    if (kv) {
      try {
        kv.set("pg", String(this.page));
      } catch (e) {
        if ((e as Error).name === "PowerCutError") throw e;
        this.hal.log.event("device-error", { device: "meter-store", code: "set", message: (e as Error).message });
      }
    }
    return `${kind}${this.page}`;
  }

  private reading(timeMs: number, reason: OcmfReading["reason"], wh: number): OcmfReading {
    return { timeMs, synced: this.hal.clock.synchronized, reason, wh, status: this.o.meterFault() ? "F" : "G" };
  }

  private identification(s: SessionInfo): OcmfIdentification {
    if (s.source === "free") return { IS: false, IT: "NONE" };
    if (s.source === "remote") return { IS: true, IL: "TRUSTED", IF: ["OCPP_RS"], IT: "CENTRAL", ID: s.idTag };
    return { IS: true, IL: "VERIFIED", IF: ["RFID_PLAIN", "OCPP_AUTH"], IT: "ISO14443", ID: s.idTag };
  }

  private begin(s: SessionInfo): void {
    const r = this.reading(s.startWall, "B", s.meterStartWh);
    const text = this.signer.sign(ocmfPayload(this.nextPage("T"), this.o.identity, this.identification(s), [r]));
    this.pending.set(s.number, { begin: text, beginReading: r, beginMono: s.startMono, end: null, endWall: 0, endMono: 0, endSynced: true });
    // Bound the memory: sessions whose StopTransaction was never built are dropped oldest first.
    if (this.pending.size > 4) {
      const first = this.pending.keys().next().value;
      if (first !== undefined) this.pending.delete(first);
    }
  }

  private end(s: SessionInfo): void {
    const p = this.pending.get(s.number);
    if (!p) return;
    const wall = this.hal.clock.wall();
    const e = this.reading(wall, "E", s.meterStopWh);
    p.end = this.signer.sign(ocmfPayload(this.nextPage("T"), this.o.identity, this.identification(s), [p.beginReading, e]));
    p.endWall = wall;
    p.endMono = this.hal.clock.now();
    p.endSynced = e.synced;
  }

  /** The last begin/end datasets of a session (for tests and MeterValues). */
  datasets(s: SessionInfo): { begin: string; end: string | null } | null {
    const p = this.pending.get(s.number);
    return p ? { begin: p.begin, end: p.end } : null;
  }

  transactionData(s: SessionInfo): Array<Record<string, unknown>> | null {
    const p = this.pending.get(s.number);
    if (!p || p.end === null) return null;
    this.pending.delete(s.number);
    const sv = (value: string, context: string) => ({ value, context, format: "SignedData", measurand: "Energy.Active.Import.Register", unit: "Wh" });
    const b: Record<string, unknown> = { timestamp: isoTime(p.beginReading.timeMs), sampledValue: [sv(p.begin, "Transaction.Begin")] };
    if (!p.beginReading.synced) b[MONO_KEY] = p.beginMono;
    const e: Record<string, unknown> = { timestamp: isoTime(p.endWall), sampledValue: [sv(p.end, "Transaction.End")] };
    if (!p.endSynced) e[MONO_KEY] = p.endMono;
    return [b, e];
  }

  sampledValue(s: SessionInfo, context: string, wh: number): Record<string, unknown> | null {
    const p = this.pending.get(s.number);
    if (!p) return null;
    const r = this.reading(this.hal.clock.wall(), "T", wh);
    const value = this.signer.sign(ocmfPayload(this.nextPage("T"), this.o.identity, this.identification(s), [p.beginReading, r]));
    return { value, context, format: "SignedData", measurand: "Energy.Active.Import.Register", unit: "Wh" };
  }
}

function safeGet(kv: KeyValue, key: string): string | undefined {
  try {
    return kv.get(key);
  } catch {
    return undefined;
  }
}
