/**
 * SLAC's view of the HomePlug AV MME envelope. The envelope itself (Ethernet II, MMV, MMTYPE, FMI) belongs to
 * the link layer (firmware/iso15118/link/homeplug.ts, ethernet.ts); this file only names the full MMTYPE values
 * SLAC uses and builds whole frames for the SLAC encoders.
 */
import { ETH_MIN_FRAME, formatMac } from "../link/ethernet.js";
import {
  CM_ATTEN_CHAR,
  CM_ATTEN_PROFILE,
  CM_MNBC_SOUND,
  CM_SET_KEY,
  CM_SLAC_MATCH,
  CM_SLAC_PARAM,
  CM_START_ATTEN_CHAR,
  MM_CNF,
  MM_IND,
  MM_REQ,
  MM_RSP,
  MMV_AV_1_1,
  writeMmeHeader,
} from "../link/homeplug.js";

export { QCA_LOCAL_MAC } from "../link/homeplug.js";

/** Ethernet header (14) + MMV (1) + MMTYPE (2) + FMI (2): where an untagged MMV 1 payload starts. */
export const MME_HEADER_LEN = 19;

/** Full MMTYPE values (base | kind). */
export const MMTYPE = {
  CM_SET_KEY_REQ: CM_SET_KEY | MM_REQ,
  CM_SET_KEY_CNF: CM_SET_KEY | MM_CNF,
  CM_SLAC_PARM_REQ: CM_SLAC_PARAM | MM_REQ,
  CM_SLAC_PARM_CNF: CM_SLAC_PARAM | MM_CNF,
  CM_START_ATTEN_CHAR_IND: CM_START_ATTEN_CHAR | MM_IND,
  CM_ATTEN_CHAR_IND: CM_ATTEN_CHAR | MM_IND,
  CM_ATTEN_CHAR_RSP: CM_ATTEN_CHAR | MM_RSP,
  CM_MNBC_SOUND_IND: CM_MNBC_SOUND | MM_IND,
  CM_SLAC_MATCH_REQ: CM_SLAC_MATCH | MM_REQ,
  CM_SLAC_MATCH_CNF: CM_SLAC_MATCH | MM_CNF,
  CM_ATTEN_PROFILE_IND: CM_ATTEN_PROFILE | MM_IND,
} as const;

export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** A zeroed frame (at least 60 bytes) with the MMV 1 envelope written; the body starts at MME_HEADER_LEN. */
export function mmeFrame(dst: Uint8Array, src: Uint8Array, mmtype: number, bodyLength: number): Uint8Array {
  const total = MME_HEADER_LEN + bodyLength;
  const frame = new Uint8Array(total < ETH_MIN_FRAME ? ETH_MIN_FRAME : total);
  writeMmeHeader(frame, dst, src, mmtype, MMV_AV_1_1, 0);
  return frame;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function macText(mac: Uint8Array): string {
  return formatMac(mac, 0);
}

const HEX = "0123456789ABCDEF";

/** Upper-case hex of the bytes. */
export function hexText(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return s;
}
