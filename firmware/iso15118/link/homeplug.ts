/**
 * HomePlug AV / Green PHY management message (MME) header, EtherType 0x88E1 (HomePlug AV 1.1 spec, as used by
 * ISO 15118-3 SLAC; checked against the recorded frames of /work/shared/iso15118/slac-frames.jsonl):
 *
 *   offset 14  MMV     1 byte   management message version: 0 = HomePlug AV 1.0, 1 = AV 1.1 (SLAC uses 1)
 *   offset 15  MMTYPE  2 bytes  little endian; the two low bits are the kind (REQ 0, CNF 1, IND 2, RSP 3)
 *   offset 17  FMI     2 bytes  fragmentation info, present only when MMV >= 1: NF_MI (high nibble of the
 *                               first byte: number of fragments - 1), FN_MI (low nibble: fragment number),
 *                               FMSN (second byte: fragmentation sequence number); 0x0000 = not fragmented
 *   then the MME payload (19 with MMV 1, 17 with MMV 0; 4 more with an 802.1Q tag).
 *
 * Vendor-specific MMEs (MMTYPE 0xA000..0xBFFF) carry a 3-byte OUI first in their payload (Qualcomm Atheros
 * 00:B0:52); Qualcomm's own VS_* MMEs use MMV 0 (no FMI).
 */
import { ETHERTYPE_HOMEPLUG, ETH_HEADER_LEN, parseEthernet, writeEthernetHeader, type EthernetHeader, newEthernetHeader } from "./ethernet.js";

export const MMV_AV_1_0 = 0;
export const MMV_AV_1_1 = 1;

/** The kind in the two low bits of MMTYPE. */
export const MM_REQ = 0;
export const MM_CNF = 1;
export const MM_IND = 2;
export const MM_RSP = 3;

/** MMTYPE bases (kind bits 0) of the MMEs SLAC and modem management use. */
export const CC_DISCOVER_LIST = 0x0014;
export const CM_ENCRYPTED_PAYLOAD = 0x6004;
export const CM_SET_KEY = 0x6008;
export const CM_GET_KEY = 0x600c;
export const CM_AMP_MAP = 0x601c;
export const CM_BRG_INFO = 0x6020;
export const CM_NW_INFO = 0x6038;
export const CM_SLAC_PARAM = 0x6064;
export const CM_START_ATTEN_CHAR = 0x6068;
export const CM_ATTEN_CHAR = 0x606c;
export const CM_PKCS_CERT = 0x6070;
export const CM_MNBC_SOUND = 0x6074;
export const CM_VALIDATE = 0x6078;
export const CM_SLAC_MATCH = 0x607c;
export const CM_SLAC_USER_DATA = 0x6080;
export const CM_ATTEN_PROFILE = 0x6084;
/** Qualcomm Atheros vendor-specific MMEs (MMV 0, OUI 00:B0:52 first in the payload). */
export const VS_SW_VER = 0xa000;
export const VS_RS_DEV = 0xa01c;
export const VS_NW_INFO = 0xa038;
export const VS_OP_ATTR = 0xa068;

/** Qualcomm Atheros OUI, first 3 payload bytes of its VS_* MMEs. */
export const OUI_QUALCOMM = 0x00b052;
/** The Qualcomm modems' local management address: MMEs to it are answered by the host's own modem. */
export const QCA_LOCAL_MAC = new Uint8Array([0x00, 0xb0, 0x52, 0x00, 0x00, 0x01]);

/** MMTYPE with its kind bits cleared. */
export function mmBase(mmtype: number): number {
  return mmtype & 0xfffc;
}
/** The kind of an MMTYPE: MM_REQ, MM_CNF, MM_IND or MM_RSP. */
export function mmKind(mmtype: number): number {
  return mmtype & 3;
}
/** True for the vendor-specific range 0xA000..0xBFFF. */
export function isVendorMme(mmtype: number): boolean {
  return mmtype >= 0xa000 && mmtype <= 0xbfff;
}

/** Length of the MME header from MMV through FMI (3 for MMV 0, 5 otherwise). */
export function mmeHeaderLength(mmv: number): number {
  return mmv === MMV_AV_1_0 ? 3 : 5;
}

/** A parsed MME: the Ethernet header plus MMV, MMTYPE, FMI and where the payload is. Offsets into the frame. */
export interface MmeHeader {
  eth: EthernetHeader;
  mmv: number;
  mmtype: number;
  /** The 16-bit FMI as it appears on the wire (first byte << 8 | second byte), or -1 when absent (MMV 0). */
  fmi: number;
  payloadOffset: number;
  payloadLength: number;
}

export function newMmeHeader(): MmeHeader {
  return { eth: newEthernetHeader(), mmv: 0, mmtype: 0, fmi: -1, payloadOffset: 0, payloadLength: 0 };
}

/**
 * Parses `frame[0, length)` as an MME into `out` (no allocation). False when it is not a well-formed Ethernet frame
 * with EtherType 0x88E1 and a complete MME header.
 */
export function parseMme(frame: Uint8Array, out: MmeHeader, length = frame.length): boolean {
  if (!parseEthernet(frame, out.eth, length)) return false;
  if (out.eth.etherType !== ETHERTYPE_HOMEPLUG) return false;
  const at = out.eth.payloadOffset;
  if (length < at + 3) return false;
  const mmv = frame[at]!;
  const hl = mmeHeaderLength(mmv);
  if (length < at + hl) return false;
  out.mmv = mmv;
  out.mmtype = frame[at + 1]! | (frame[at + 2]! << 8);
  out.fmi = mmv === MMV_AV_1_0 ? -1 : (frame[at + 3]! << 8) | frame[at + 4]!;
  out.payloadOffset = at + hl;
  out.payloadLength = length - out.payloadOffset;
  return true;
}

/** True when an FMI says "fragment k of n" with n > 1 (this stack does not reassemble fragmented MMEs). */
export function isFragmented(fmi: number): boolean {
  return fmi > 0 && (fmi & 0xf000) !== 0;
}

/**
 * Writes the Ethernet header (EtherType 0x88E1) and the MME header at the start of `buf`; returns the payload
 * offset (17 for MMV 0, 19 otherwise). FMI is written as 0x0000 (unfragmented) unless given.
 */
export function writeMmeHeader(buf: Uint8Array, dst: Uint8Array, src: Uint8Array, mmtype: number, mmv = MMV_AV_1_1, fmi = 0): number {
  if (!(mmtype >= 0 && mmtype <= 0xffff) || (mmtype | 0) !== mmtype) throw new RangeError("bad MMTYPE");
  if (!(mmv >= 0 && mmv <= 0xff) || (mmv | 0) !== mmv) throw new RangeError("bad MMV");
  const hl = mmeHeaderLength(mmv);
  if (buf.length < ETH_HEADER_LEN + hl) throw new RangeError("buffer too small for an MME header");
  let at = writeEthernetHeader(buf, dst, src, ETHERTYPE_HOMEPLUG);
  buf[at++] = mmv;
  buf[at++] = mmtype & 0xff;
  buf[at++] = mmtype >> 8;
  if (mmv !== MMV_AV_1_0) {
    buf[at++] = (fmi >> 8) & 0xff;
    buf[at++] = fmi & 0xff;
  }
  return at;
}
