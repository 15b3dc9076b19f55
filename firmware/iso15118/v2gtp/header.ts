/**
 * V2G Transfer Protocol header (ISO 15118-2 §7.8.3 "V2GTP"; the same in DIN SPEC 70121 and ISO 15118-20):
 *
 *   byte 0     protocol version          0x01
 *   byte 1     inverse protocol version  0xFE
 *   bytes 2-3  payload type              big-endian
 *   bytes 4-7  payload length            big-endian, bytes after the header
 *
 * A receiver that finds a wrong version / inverse version, an unknown payload type or a length above what it can
 * take discards the message; on TCP that leaves the stream unsynchronised, so the connection is closed
 * (ISO 15118-2 §7.8.3.2, V2GTP header processing).
 */

export const V2GTP_HEADER_LEN = 8;
export const V2GTP_VERSION = 0x01;
export const V2GTP_INVERSE_VERSION = 0xfe;

/** Payload types. */
export const PAYLOAD_EXI = 0x8001; // EXI-encoded V2G message (SAP, DIN 70121, ISO 15118-2); ISO 15118-20: SAP
export const PAYLOAD_ISO20_MAIN = 0x8002; // ISO 15118-20 common messages (seen in the reference data)
export const PAYLOAD_ISO20_AC = 0x8003; // ISO 15118-20 AC (seen in the reference data)
export const PAYLOAD_ISO20_DC = 0x8004; // ISO 15118-20 DC
export const PAYLOAD_ISO20_ACDP = 0x8005; // ISO 15118-20 ACDP
export const PAYLOAD_ISO20_WPT = 0x8006; // ISO 15118-20 WPT
export const PAYLOAD_SDP_REQ = 0x9000;
export const PAYLOAD_SDP_RES = 0x9001;
export const PAYLOAD_SDP_REQ_WIRELESS = 0x9002;
export const PAYLOAD_SDP_RES_WIRELESS = 0x9003;

export function isKnownPayloadType(type: number): boolean {
  return (type >= 0x8001 && type <= 0x8006) || (type >= 0x9000 && type <= 0x9003);
}

export type V2gtpHeaderCheck = "ok" | "short" | "version" | "type" | "length";

export interface V2gtpHeader {
  payloadType: number;
  payloadLength: number;
}

/**
 * Checks the header at `bytes[offset..]` into `out`. "short": fewer than 8 bytes (wait for more); "version": bad
 * version / inverse; "type": not one of `accepted` (default: every known type); "length": above `maxPayload`.
 */
export function checkV2gtpHeader(bytes: Uint8Array, offset: number, maxPayload: number, out: V2gtpHeader, accepted?: readonly number[]): V2gtpHeaderCheck {
  if (bytes.length - offset < V2GTP_HEADER_LEN) return "short";
  if (bytes[offset] !== V2GTP_VERSION || bytes[offset + 1] !== V2GTP_INVERSE_VERSION) return "version";
  const type = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  const len = bytes[offset + 4]! * 0x1000000 + ((bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!);
  out.payloadType = type;
  out.payloadLength = len;
  if (accepted ? !accepted.includes(type) : !isKnownPayloadType(type)) return "type";
  if (len > maxPayload) return "length";
  return "ok";
}

/** Writes a header at `out[offset..]`. */
export function writeV2gtpHeader(out: Uint8Array, offset: number, payloadType: number, payloadLength: number): void {
  if (!(Number.isInteger(payloadType) && payloadType >= 0 && payloadType <= 0xffff)) throw new RangeError("bad payload type");
  if (!(Number.isInteger(payloadLength) && payloadLength >= 0 && payloadLength <= 0xffffffff)) throw new RangeError("bad payload length");
  out[offset] = V2GTP_VERSION;
  out[offset + 1] = V2GTP_INVERSE_VERSION;
  out[offset + 2] = payloadType >> 8;
  out[offset + 3] = payloadType & 0xff;
  out[offset + 4] = (payloadLength >>> 24) & 0xff;
  out[offset + 5] = (payloadLength >>> 16) & 0xff;
  out[offset + 6] = (payloadLength >>> 8) & 0xff;
  out[offset + 7] = payloadLength & 0xff;
}

/** A whole V2GTP message: header + payload. */
export function v2gtpMessage(payloadType: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(V2GTP_HEADER_LEN + payload.length);
  writeV2gtpHeader(out, 0, payloadType, payload.length);
  out.set(payload, V2GTP_HEADER_LEN);
  return out;
}

/**
 * Splits a TCP byte stream into V2GTP messages. push() bytes as they arrive; each complete message is handed to
 * onMessage(payloadType, payload) (a view valid during the call). A bad header makes push() return the
 * check result and the framer dead (the owner closes the connection); "ok" otherwise.
 */
export class V2gtpFramer {
  #buf: Uint8Array;
  #len = 0;
  #dead: V2gtpHeaderCheck = "ok";
  readonly #hdr: V2gtpHeader = { payloadType: 0, payloadLength: 0 };

  constructor(
    readonly maxPayload: number,
    private readonly onMessage: (payloadType: number, payload: Uint8Array) => void,
    private readonly accepted?: readonly number[],
  ) {
    if (!(Number.isInteger(maxPayload) && maxPayload > 0)) throw new RangeError("maxPayload must be a positive integer");
    this.#buf = new Uint8Array(Math.min(V2GTP_HEADER_LEN + maxPayload, 1024));
  }

  get error(): V2gtpHeaderCheck {
    return this.#dead;
  }

  push(bytes: Uint8Array): V2gtpHeaderCheck {
    if (this.#dead !== "ok") return this.#dead;
    let at = 0;
    while (at < bytes.length) {
      // Fill the header first, then exactly the payload.
      const need = this.#len < V2GTP_HEADER_LEN ? V2GTP_HEADER_LEN - this.#len : V2GTP_HEADER_LEN + this.#hdr.payloadLength - this.#len;
      const n = Math.min(need, bytes.length - at);
      this.#ensure(this.#len + n);
      this.#buf.set(bytes.subarray(at, at + n), this.#len);
      this.#len += n;
      at += n;
      if (this.#len === V2GTP_HEADER_LEN && need === n) {
        const c = checkV2gtpHeader(this.#buf, 0, this.maxPayload, this.#hdr, this.accepted);
        if (c !== "ok") {
          this.#dead = c;
          return c;
        }
      }
      if (this.#len >= V2GTP_HEADER_LEN && this.#len === V2GTP_HEADER_LEN + this.#hdr.payloadLength) {
        this.#len = 0;
        this.onMessage(this.#hdr.payloadType, this.#buf.subarray(V2GTP_HEADER_LEN, V2GTP_HEADER_LEN + this.#hdr.payloadLength));
        if (this.#dead !== "ok") return this.#dead;
      }
    }
    return "ok";
  }

  #ensure(n: number): void {
    if (n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < n) size *= 2;
    const b = new Uint8Array(Math.min(size, V2GTP_HEADER_LEN + this.maxPayload));
    b.set(this.#buf.subarray(0, this.#len));
    this.#buf = b;
  }
}
