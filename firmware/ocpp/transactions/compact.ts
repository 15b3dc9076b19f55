/**
 * A reversible dictionary compaction of OCPP payloads for the flash journal: the object keys and enumeration
 * values that recur in every transaction message ("sampledValue", "Energy.Active.Import.Register", ...) are
 * replaced by a two-character code "\u0001" + index before CBOR encoding, and restored after decoding. A string
 * that already starts with "\u0001" is escaped as "\u0001\u0000" + string, so any payload round-trips.
 * The table may only grow at its end (old journals must still decode).
 */

const TABLE: readonly string[] = [
  "connectorId", "transactionId", "meterValue", "timestamp", "sampledValue", "value", "context", "format",
  "measurand", "phase", "location", "unit", "idTag", "meterStart", "meterStop", "reason", "transactionData",
  "reservationId", "Sample.Periodic", "Sample.Clock", "Transaction.Begin", "Transaction.End", "Trigger",
  "Interruption.Begin", "Interruption.End", "Other", "Raw", "SignedData", "Energy.Active.Import.Register",
  "Power.Active.Import", "Current.Import", "Voltage", "Frequency", "Temperature", "Current.Offered", "SoC",
  "L1", "L2", "L3", "L1-N", "L2-N", "L3-N", "Wh", "kWh", "W", "kW", "A", "V", "Celsius", "Percent", "Body",
  "Outlet", "Cable", "EV", "Inlet", "EVDisconnected", "PowerLoss", "Local", "Remote", "DeAuthorized",
  "EmergencyStop", "HardReset", "SoftReset", "Reboot", "UnlockCommand", "Energy.Active.Export.Register",
  "Power.Offered", "Hz", "_mono",
];

const MARK = "\u0001";
let index: Map<string, number> | null = null;

function lookup(): Map<string, number> {
  if (!index) {
    index = new Map();
    for (let i = 0; i < TABLE.length; i++) index.set(TABLE[i]!, i);
  }
  return index;
}

function packString(s: string): string {
  const i = lookup().get(s);
  if (i !== undefined) return MARK + String.fromCharCode(i + 32);
  if (s.charCodeAt(0) === 1) return MARK + "\u0000" + s;
  return s;
}

function unpackString(s: string): string {
  if (s.charCodeAt(0) !== 1) return s;
  if (s.charCodeAt(1) === 0) return s.slice(2);
  const w = TABLE[s.charCodeAt(1) - 32];
  if (w === undefined || s.length !== 2) throw new RangeError("compact: unknown dictionary code");
  return w;
}

/** The payload with dictionary words replaced by their codes (a new object; the input is not changed). */
export function pack(v: unknown): unknown {
  if (typeof v === "string") return packString(v);
  if (Array.isArray(v)) return v.map(pack);
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[packString(k)] = pack((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** The inverse of pack(). Throws RangeError on a code the table does not have. */
export function unpack(v: unknown): unknown {
  if (typeof v === "string") return unpackString(v);
  if (Array.isArray(v)) return v.map(unpack);
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array) && !(v instanceof Map)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      const key = unpackString(k);
      if (key === "__proto__") throw new RangeError("compact: forbidden key");
      out[key] = unpack((v as Record<string, unknown>)[k]);
    }
    return out;
  }
  return v;
}
