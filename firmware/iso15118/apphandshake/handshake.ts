/**
 * supportedAppProtocol negotiation (ISO 15118-2 §8.2 / DIN 70121 "V2G_CI_AppProtocol"): the EV lists the protocols
 * it speaks (namespace, version, SchemaID, Priority 1 = most preferred); the SECC picks the EV's most preferred one
 * among those it offers (same namespace and major version; another minor version is a "minor deviation"). Pure:
 * decoded request in, response document out. Platform-neutral.
 */

export type V2gProtocol = "din" | "iso2";

export const DIN_NAMESPACE = "urn:din:70121:2012:MsgDef";
export const ISO2_NAMESPACE = "urn:iso:15118:2:2013:MsgDef";

/** What this SECC implements: namespace, major and minor version. */
export const KNOWN_PROTOCOLS: readonly { protocol: V2gProtocol; namespace: string; major: number; minor: number }[] = [
  { protocol: "din", namespace: DIN_NAMESPACE, major: 2, minor: 0 },
  { protocol: "iso2", namespace: ISO2_NAMESPACE, major: 2, minor: 0 },
];

export interface HandshakeResult {
  /** The supportedAppProtocolRes document (encode with grammar "app"). */
  response: { supportedAppProtocolRes: { ResponseCode: string; SchemaID?: number } };
  /** The chosen protocol, null when none matched (or the request was not valid): the SECC then closes. */
  protocol: V2gProtocol | null;
  schemaId: number;
  /** Why nothing was chosen (for the log), "" on success. */
  reason: string;
}

function failed(reason: string): HandshakeResult {
  return { response: { supportedAppProtocolRes: { ResponseCode: "Failed_NoNegotiation" } }, protocol: null, schemaId: -1, reason };
}

function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * Picks the protocol. `offered`: what this charger offers (e.g. ["iso2"] on an AC charger: DIN 70121 is DC only),
 * in the charger's own order of preference, used only to break a tie between equal EV priorities.
 */
export function negotiateAppProtocol(doc: unknown, offered: readonly V2gProtocol[]): HandshakeResult {
  const req = doc !== null && typeof doc === "object" ? (doc as Record<string, unknown>)["supportedAppProtocolReq"] : undefined;
  if (req === null || typeof req !== "object") return failed("not a supportedAppProtocolReq");
  const list = (req as Record<string, unknown>)["AppProtocol"];
  if (!Array.isArray(list) || list.length < 1 || list.length > 20) return failed("AppProtocol list missing or longer than 20");
  let best: { protocol: V2gProtocol; schemaId: number; priority: number; minorOk: boolean; rank: number } | null = null;
  const schemaIds: number[] = [];
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as Record<string, unknown> | null;
    if (a === null || typeof a !== "object") return failed("bad AppProtocol entry");
    const ns = a["ProtocolNamespace"];
    const major = a["VersionNumberMajor"];
    const minor = a["VersionNumberMinor"];
    const schemaId = a["SchemaID"];
    const priority = a["Priority"];
    if (typeof ns !== "string" || !isInt(major, 0, 0xffffffff) || !isInt(minor, 0, 0xffffffff) || !isInt(schemaId, 0, 255) || !isInt(priority, 1, 20)) {
      return failed("bad AppProtocol entry");
    }
    if (schemaIds.indexOf(schemaId) >= 0) return failed("duplicate SchemaID");
    schemaIds.push(schemaId);
    for (let k = 0; k < KNOWN_PROTOCOLS.length; k++) {
      const p = KNOWN_PROTOCOLS[k]!;
      if (p.namespace !== ns || p.major !== major) continue;
      const rank = offered.indexOf(p.protocol);
      if (rank < 0) continue;
      if (best === null || priority < best.priority || (priority === best.priority && rank < best.rank)) {
        best = { protocol: p.protocol, schemaId, priority, minorOk: p.minor === minor, rank };
      }
    }
  }
  if (best === null) return failed("no common protocol");
  return {
    response: {
      supportedAppProtocolRes: {
        ResponseCode: best.minorOk ? "OK_SuccessfulNegotiation" : "OK_SuccessfulNegotiationWithMinorDeviation",
        SchemaID: best.schemaId,
      },
    },
    protocol: best.protocol,
    schemaId: best.schemaId,
    reason: "",
  };
}
