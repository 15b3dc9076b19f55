/**
 * Ethernet II frames as the HomePlug Green PHY modem carries them (the QCA7000 bridges host Ethernet frames onto
 * the power line): destination MAC, source MAC, optional 802.1Q tag, EtherType, payload; no FCS (the modem adds
 * and checks it). Platform-neutral, allocation-free on the parse path (offsets into the caller's buffer).
 *
 * Sizes (IEEE 802.3, also the QCA7000 framing limits: Linux qca_7k_common.h QCAFRM_MIN_LEN / QCAFRM_MAX_LEN):
 * a frame is at least 60 bytes without FCS (shorter ones are zero-padded on send) and at most 1518 bytes, 1522
 * with an 802.1Q tag.
 */

export const ETH_HEADER_LEN = 14;
export const ETH_VLAN_TAG_LEN = 4;
/** Minimum frame length without FCS (ETH_ZLEN); shorter frames are padded with zeros. */
export const ETH_MIN_FRAME = 60;
/** Maximum frame length without FCS: 1500-byte payload + 14-byte header (+ 4 for an 802.1Q tag). */
export const ETH_MAX_FRAME = 1518;
export const ETH_MAX_FRAME_VLAN = 1522;
export const ETH_MTU = 1500;

/** HomePlug AV / Green PHY management messages (MMEs). */
export const ETHERTYPE_HOMEPLUG = 0x88e1;
/** IPv6 (SDP, V2GTP over TCP/TLS). */
export const ETHERTYPE_IPV6 = 0x86dd;
/** IEEE 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;

export type Mac = Uint8Array;

/** FF:FF:FF:FF:FF:FF. A fresh array each call (callers may keep it). */
export function broadcastMac(): Mac {
  return new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

/** "00:B0:52:00:00:01" (also accepts "-" separators and no separators) → 6 bytes; throws RangeError on bad input. */
export function parseMac(text: string): Mac {
  let hex = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a || c === 0x2d) continue;
    hex += text[i];
  }
  if (hex.length !== 12) throw new RangeError(`bad MAC address: ${text}`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const v = parseHexByte(hex, i * 2);
    if (v < 0) throw new RangeError(`bad MAC address: ${text}`);
    out[i] = v;
  }
  return out;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function parseHexByte(s: string, at: number): number {
  const h = hexDigit(s.charCodeAt(at));
  const l = hexDigit(s.charCodeAt(at + 1));
  return h < 0 || l < 0 ? -1 : (h << 4) | l;
}

const HEX = "0123456789ABCDEF";

/** 6 bytes at `offset` → "00:B0:52:00:00:01" (upper case, as Wireshark and the reference data print it). */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  let s = "";
  for (let i = 0; i < 6; i++) {
    const b = bytes[offset + i]!;
    if (i > 0) s += ":";
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

/** Compares 6 bytes of `a` at `aOff` with 6 bytes of `b` at `bOff`. */
export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** True for a group (multicast or broadcast) address: the I/G bit of the first byte. */
export function isGroupMac(bytes: Uint8Array, offset = 0): boolean {
  return (bytes[offset]! & 1) === 1;
}

export function isBroadcastMac(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 6; i++) if (bytes[offset + i] !== 0xff) return false;
  return true;
}

/** True when a frame sent to the address at `offset` is for `own` (unicast to it, broadcast, or multicast). */
export function macAccepts(frame: Uint8Array, offset: number, own: Uint8Array): boolean {
  return isGroupMac(frame, offset) || macEquals(frame, offset, own);
}

/** The parsed header of a received frame: offsets into the caller's buffer (nothing is copied). */
export interface EthernetHeader {
  /** Offset of the destination MAC (always 0) and of the source MAC (always 6). */
  dst: number;
  src: number;
  /** 802.1Q tag control information, or -1 when the frame is untagged. */
  vlanTci: number;
  etherType: number;
  /** Where the payload starts (14, or 18 with an 802.1Q tag). */
  payloadOffset: number;
  /** Bytes from payloadOffset to the end of the frame (including any padding). */
  payloadLength: number;
}

export function newEthernetHeader(): EthernetHeader {
  return { dst: 0, src: 6, vlanTci: -1, etherType: 0, payloadOffset: ETH_HEADER_LEN, payloadLength: 0 };
}

/**
 * Parses the Ethernet header of `frame[0, length)` into `out` (no allocation). Returns false for a frame that is
 * too short for its header or longer than the maximum, or an EtherType field < 0x0600 (an 802.3 length field:
 * not carried by this stack).
 */
export function parseEthernet(frame: Uint8Array, out: EthernetHeader, length = frame.length): boolean {
  if (length < ETH_HEADER_LEN || length > frame.length || length > ETH_MAX_FRAME_VLAN) return false;
  let type = (frame[12]! << 8) | frame[13]!;
  let off = ETH_HEADER_LEN;
  let tci = -1;
  if (type === ETHERTYPE_VLAN) {
    if (length < ETH_HEADER_LEN + ETH_VLAN_TAG_LEN) return false;
    tci = (frame[14]! << 8) | frame[15]!;
    type = (frame[16]! << 8) | frame[17]!;
    off += ETH_VLAN_TAG_LEN;
  } else if (length > ETH_MAX_FRAME) {
    return false;
  }
  if (type < 0x0600) return false;
  out.dst = 0;
  out.src = 6;
  out.vlanTci = tci;
  out.etherType = type;
  out.payloadOffset = off;
  out.payloadLength = length - off;
  return true;
}

/** The EtherType of an untagged or 802.1Q-tagged frame, or -1 when the frame is too short. */
export function etherTypeOf(frame: Uint8Array, length = frame.length): number {
  if (length < ETH_HEADER_LEN) return -1;
  const t = (frame[12]! << 8) | frame[13]!;
  if (t !== ETHERTYPE_VLAN) return t;
  return length < ETH_HEADER_LEN + ETH_VLAN_TAG_LEN ? -1 : (frame[16]! << 8) | frame[17]!;
}

/**
 * Writes an untagged Ethernet header (dst, src, EtherType) at the start of `buf`; returns the payload offset (14).
 * `dst`/`src` are 6-byte arrays.
 */
export function writeEthernetHeader(buf: Uint8Array, dst: Uint8Array, src: Uint8Array, etherType: number): number {
  if (buf.length < ETH_HEADER_LEN) throw new RangeError("buffer too small for an Ethernet header");
  if (dst.length < 6 || src.length < 6) throw new RangeError("MAC addresses are 6 bytes");
  if (!(etherType >= 0x0600 && etherType <= 0xffff)) throw new RangeError("bad EtherType");
  for (let i = 0; i < 6; i++) {
    buf[i] = dst[i]!;
    buf[6 + i] = src[i]!;
  }
  buf[12] = etherType >> 8;
  buf[13] = etherType & 0xff;
  return ETH_HEADER_LEN;
}

/**
 * The frame to send from `buf[0, length)`: zero-pads to the 60-byte minimum (inside `buf` when it is large
 * enough, else in a new array) and returns a view of exactly the frame. Throws RangeError above 1522 bytes.
 */
export function finishFrame(buf: Uint8Array, length: number): Uint8Array {
  if (!(length >= ETH_HEADER_LEN && length <= ETH_MAX_FRAME_VLAN) || length > buf.length) throw new RangeError(`bad frame length ${length}`);
  if (length >= ETH_MIN_FRAME) return buf.subarray(0, length);
  if (buf.length >= ETH_MIN_FRAME) {
    buf.fill(0, length, ETH_MIN_FRAME);
    return buf.subarray(0, ETH_MIN_FRAME);
  }
  const out = new Uint8Array(ETH_MIN_FRAME);
  out.set(buf.subarray(0, length));
  return out;
}
