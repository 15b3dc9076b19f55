/**
 * SECC Discovery Protocol (ISO 15118-2 §7.10.1 "SECC Discovery Protocol"; DIN SPEC 70121 §8.7.1): the EV
 * multicasts an SDP request (UDP, IPv6 link-local, to ff02::1 port 15118) in a V2GTP message of type 0x9000;
 * the SECC answers with type 0x9001 to the sender's address and port.
 *
 *   request  (2 bytes):  Security (0x00 TLS, 0x10 no TLS), TransportProtocol (0x00 TCP)
 *   response (20 bytes): SECC IPv6 address (16), SECC port (2, big-endian), Security, TransportProtocol
 */
import { PAYLOAD_SDP_REQ, PAYLOAD_SDP_RES, V2GTP_HEADER_LEN, checkV2gtpHeader, writeV2gtpHeader, type V2gtpHeader } from "../v2gtp/header.js";

export const SDP_PORT = 15118;
export const SDP_SECURITY_TLS = 0x00;
export const SDP_SECURITY_NONE = 0x10;
export const SDP_TRANSPORT_TCP = 0x00;
export const SDP_REQ_PAYLOAD_LEN = 2;
export const SDP_RES_PAYLOAD_LEN = 20;

export interface SdpRequest {
  security: number;
  transport: number;
}

export interface SdpResponse {
  /** The SECC's IPv6 address, 16 bytes. */
  address: Uint8Array;
  port: number;
  security: number;
  transport: number;
}

export type SdpParseError = "header" | "type" | "length" | "value";

/**
 * A whole SDP request datagram. Security and transport must be known values ("value" otherwise: ISO 15118-2 has
 * the SECC ignore such a request).
 */
export function parseSdpRequest(bytes: Uint8Array): SdpRequest | SdpParseError {
  const h: V2gtpHeader = { payloadType: 0, payloadLength: 0 };
  const c = checkV2gtpHeader(bytes, 0, SDP_REQ_PAYLOAD_LEN, h, [PAYLOAD_SDP_REQ]);
  if (c === "short" || c === "version") return "header";
  if (c === "type") return "type";
  if (h.payloadLength !== SDP_REQ_PAYLOAD_LEN || bytes.length !== V2GTP_HEADER_LEN + SDP_REQ_PAYLOAD_LEN) return "length";
  const security = bytes[8]!;
  const transport = bytes[9]!;
  if ((security !== SDP_SECURITY_TLS && security !== SDP_SECURITY_NONE) || transport !== SDP_TRANSPORT_TCP) return "value";
  return { security, transport };
}

export function parseSdpResponse(bytes: Uint8Array): SdpResponse | SdpParseError {
  const h: V2gtpHeader = { payloadType: 0, payloadLength: 0 };
  const c = checkV2gtpHeader(bytes, 0, SDP_RES_PAYLOAD_LEN, h, [PAYLOAD_SDP_RES]);
  if (c === "short" || c === "version") return "header";
  if (c === "type") return "type";
  if (h.payloadLength !== SDP_RES_PAYLOAD_LEN || bytes.length !== V2GTP_HEADER_LEN + SDP_RES_PAYLOAD_LEN) return "length";
  const security = bytes[26]!;
  const transport = bytes[27]!;
  if ((security !== SDP_SECURITY_TLS && security !== SDP_SECURITY_NONE) || transport !== SDP_TRANSPORT_TCP) return "value";
  return { address: bytes.slice(8, 24), port: (bytes[24]! << 8) | bytes[25]!, security, transport };
}

export function encodeSdpRequest(req: SdpRequest): Uint8Array {
  const out = new Uint8Array(V2GTP_HEADER_LEN + SDP_REQ_PAYLOAD_LEN);
  writeV2gtpHeader(out, 0, PAYLOAD_SDP_REQ, SDP_REQ_PAYLOAD_LEN);
  out[8] = req.security;
  out[9] = req.transport;
  return out;
}

export function encodeSdpResponse(res: SdpResponse): Uint8Array {
  if (res.address.length !== 16) throw new RangeError("SECC address must be 16 bytes");
  if (!(Number.isInteger(res.port) && res.port > 0 && res.port <= 0xffff)) throw new RangeError("bad SECC port");
  const out = new Uint8Array(V2GTP_HEADER_LEN + SDP_RES_PAYLOAD_LEN);
  writeV2gtpHeader(out, 0, PAYLOAD_SDP_RES, SDP_RES_PAYLOAD_LEN);
  out.set(res.address, 8);
  out[24] = res.port >> 8;
  out[25] = res.port & 0xff;
  out[26] = res.security;
  out[27] = res.transport;
  return out;
}

// ---- IPv6 text (RFC 4291 §2.2 input, RFC 5952 canonical output) ------------------------------------

/** "fe80::1%eth0" → 16 bytes (a zone index is dropped); null when malformed. IPv4-embedded forms are not accepted. */
export function parseIpv6(text: string): Uint8Array | null {
  const pct = text.indexOf("%");
  const s = pct >= 0 ? text.slice(0, pct) : text;
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : "";
  const hp = head === "" ? [] : head.split(":");
  const tp = tail === "" ? [] : tail.split(":");
  const total = hp.length + tp.length;
  if (dbl < 0 ? total !== 8 : total > 7) return null;
  const out = new Uint8Array(16);
  const put = (parts: string[], at: number): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length < 1 || p.length > 4) return false;
      let v = 0;
      for (let k = 0; k < p.length; k++) {
        const c = p.charCodeAt(k);
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) return false;
        v = v * 16 + d;
      }
      out[(at + i) * 2] = v >> 8;
      out[(at + i) * 2 + 1] = v & 0xff;
    }
    return true;
  };
  if (!put(hp, 0) || !put(tp, 8 - tp.length)) return null;
  return out;
}

/** 16 bytes → RFC 5952 text ("fe80::664d:70ff:fe01:3bf"). */
export function formatIpv6(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError("IPv6 address must be 16 bytes");
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (v: number) => v.toString(16);
  if (bestAt < 0) return w.map(hex).join(":");
  return w.slice(0, bestAt).map(hex).join(":") + "::" + w.slice(bestAt + bestLen).map(hex).join(":");
}
