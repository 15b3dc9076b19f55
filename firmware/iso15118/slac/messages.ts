/**
 * SLAC message bodies (ISO 15118-3, annex "SLAC messages"; HomePlug Green PHY 1.1 CM_* MMEs), decoded from
 * and encoded to the bytes after the MME envelope (mme.ts). Multi-byte integers are little-endian
 * (MVFLength, PRN); identifiers (RunID, NID, NMK, nonces) are byte strings kept in wire order.
 *
 * Decoders validate the length (a truncated body is null) and copy what they keep, so the receive buffer can
 * be reused. Trailing bytes (Ethernet padding) are ignored. Encoders write the exact layout and zero-pad
 * the frame to 60 bytes; reserved fields are zero.
 */
import { MME_HEADER_LEN, MMTYPE, mmeFrame } from "./mme.js";

/** Number of attenuation groups of HomePlug Green PHY (ISO 15118-3: AAG, 58 groups). */
export const ATTEN_GROUPS = 58;
/** SLAC application type 0: PEV-EVSE association. */
export const APPLICATION_TYPE_PEV_EVSE = 0;
/** Security type 0: no security (the only one this implementation offers). */
export const SECURITY_NONE = 0;

export const RUN_ID_LEN = 8;
export const NID_LEN = 7;
export const NMK_LEN = 16;
/** PEV_ID, EVSE_ID, SOURCE_ID, RESP_ID, SenderID. */
export const ID_LEN = 17;

// ---- body layouts (offsets in the body) -------------------------------------------------------------
export const SET_KEY_REQ_LEN = 38;
export const SET_KEY_CNF_LEN = 14;
export const SLAC_PARM_REQ_LEN = 10;
export const SLAC_PARM_CNF_LEN = 25;
export const START_ATTEN_CHAR_IND_LEN = 19;
export const MNBC_SOUND_IND_LEN = 52;
export const ATTEN_PROFILE_IND_MIN = 8;
export const ATTEN_CHAR_IND_MIN = 52;
export const ATTEN_CHAR_RSP_LEN = 51;
export const SLAC_MATCH_REQ_LEN = 66;
export const SLAC_MATCH_CNF_LEN = 90;
/** MVFLength of CM_SLAC_MATCH.REQ / .CNF: the body after the MVFLength field. */
export const MATCH_REQ_MVF_LENGTH = 62;
export const MATCH_CNF_MVF_LENGTH = 86;

/** CM_SET_KEY key type 1: NMK (AES-128). */
export const KEY_TYPE_NMK = 1;
/** Protocol ID 4: HLE protocol. */
export const PID_HLE = 4;
/** NewEKS 1: the NMK is known to the STA (HomePlug AV "NMK known to STA"). */
export const NEW_EKS_NMK = 1;

export interface SetKeyReq {
  keyType: number;
  myNonce: Uint8Array;
  yourNonce: Uint8Array;
  pid: number;
  prn: number;
  pmn: number;
  ccoCapability: number;
  nid: Uint8Array;
  newEks: number;
  newKey: Uint8Array;
}

export interface SetKeyCnf {
  /** 0 = success. */
  result: number;
  myNonce: Uint8Array;
  yourNonce: Uint8Array;
  pid: number;
  prn: number;
  pmn: number;
  ccoCapability: number;
}

export interface SlacParmReq {
  applicationType: number;
  securityType: number;
  runId: Uint8Array;
}

export interface SlacParmCnf {
  mSoundTarget: Uint8Array;
  numSounds: number;
  /** In units of 100 ms. */
  timeOut: number;
  respType: number;
  forwardingSta: Uint8Array;
  applicationType: number;
  securityType: number;
  runId: Uint8Array;
}

export interface StartAttenCharInd {
  applicationType: number;
  securityType: number;
  numSounds: number;
  timeOut: number;
  respType: number;
  forwardingSta: Uint8Array;
  runId: Uint8Array;
}

export interface MnbcSoundInd {
  applicationType: number;
  securityType: number;
  senderId: Uint8Array;
  /** Remaining sounds after this one. */
  cnt: number;
  runId: Uint8Array;
  rnd: Uint8Array;
}

export interface AttenProfileInd {
  pevMac: Uint8Array;
  numGroups: number;
  /** Average attenuation per group, dB. */
  aag: Uint8Array;
}

export interface AttenCharInd {
  applicationType: number;
  securityType: number;
  sourceAddress: Uint8Array;
  runId: Uint8Array;
  sourceId: Uint8Array;
  respId: Uint8Array;
  numSounds: number;
  numGroups: number;
  aag: Uint8Array;
}

export interface AttenCharRsp {
  applicationType: number;
  securityType: number;
  sourceAddress: Uint8Array;
  runId: Uint8Array;
  sourceId: Uint8Array;
  respId: Uint8Array;
  /** 0 = success. */
  result: number;
}

export interface SlacMatchReq {
  applicationType: number;
  securityType: number;
  mvfLength: number;
  pevId: Uint8Array;
  pevMac: Uint8Array;
  evseId: Uint8Array;
  evseMac: Uint8Array;
  runId: Uint8Array;
}

export interface SlacMatchCnf extends SlacMatchReq {
  nid: Uint8Array;
  nmk: Uint8Array;
}

const u16le = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const copy = (b: Uint8Array, o: number, n: number): Uint8Array => b.slice(o, o + n);

function put(dst: Uint8Array, offset: number, bytes: Uint8Array | undefined, n: number): void {
  if (bytes === undefined) return;
  if (bytes.length !== n) throw new RangeError(`field of ${n} bytes expected, got ${bytes.length}`);
  dst.set(bytes, offset);
}

// ---- decoders ---------------------------------------------------------------------------------------

export function decodeSetKeyReq(b: Uint8Array): SetKeyReq | null {
  if (b.length < SET_KEY_REQ_LEN) return null;
  return {
    keyType: b[0]!,
    myNonce: copy(b, 1, 4),
    yourNonce: copy(b, 5, 4),
    pid: b[9]!,
    prn: u16le(b, 10),
    pmn: b[12]!,
    ccoCapability: b[13]!,
    nid: copy(b, 14, NID_LEN),
    newEks: b[21]!,
    newKey: copy(b, 22, NMK_LEN),
  };
}

export function decodeSetKeyCnf(b: Uint8Array): SetKeyCnf | null {
  if (b.length < SET_KEY_CNF_LEN) return null;
  return {
    result: b[0]!,
    myNonce: copy(b, 1, 4),
    yourNonce: copy(b, 5, 4),
    pid: b[9]!,
    prn: u16le(b, 10),
    pmn: b[12]!,
    ccoCapability: b[13]!,
  };
}

export function decodeSlacParmReq(b: Uint8Array): SlacParmReq | null {
  if (b.length < SLAC_PARM_REQ_LEN) return null;
  return { applicationType: b[0]!, securityType: b[1]!, runId: copy(b, 2, RUN_ID_LEN) };
}

export function decodeSlacParmCnf(b: Uint8Array): SlacParmCnf | null {
  if (b.length < SLAC_PARM_CNF_LEN) return null;
  return {
    mSoundTarget: copy(b, 0, 6),
    numSounds: b[6]!,
    timeOut: b[7]!,
    respType: b[8]!,
    forwardingSta: copy(b, 9, 6),
    applicationType: b[15]!,
    securityType: b[16]!,
    runId: copy(b, 17, RUN_ID_LEN),
  };
}

export function decodeStartAttenCharInd(b: Uint8Array): StartAttenCharInd | null {
  if (b.length < START_ATTEN_CHAR_IND_LEN) return null;
  return {
    applicationType: b[0]!,
    securityType: b[1]!,
    numSounds: b[2]!,
    timeOut: b[3]!,
    respType: b[4]!,
    forwardingSta: copy(b, 5, 6),
    runId: copy(b, 11, RUN_ID_LEN),
  };
}

export function decodeMnbcSoundInd(b: Uint8Array): MnbcSoundInd | null {
  if (b.length < MNBC_SOUND_IND_LEN) return null;
  return {
    applicationType: b[0]!,
    securityType: b[1]!,
    senderId: copy(b, 2, ID_LEN),
    cnt: b[19]!,
    runId: copy(b, 20, RUN_ID_LEN),
    rnd: copy(b, 36, 16),
  };
}

export function decodeAttenProfileInd(b: Uint8Array): AttenProfileInd | null {
  if (b.length < ATTEN_PROFILE_IND_MIN) return null;
  const numGroups = b[6]!;
  if (numGroups === 0 || numGroups > ATTEN_GROUPS || b.length < ATTEN_PROFILE_IND_MIN + numGroups) return null;
  return { pevMac: copy(b, 0, 6), numGroups, aag: copy(b, 8, numGroups) };
}

export function decodeAttenCharInd(b: Uint8Array): AttenCharInd | null {
  if (b.length < ATTEN_CHAR_IND_MIN) return null;
  const numGroups = b[51]!;
  if (numGroups === 0 || numGroups > ATTEN_GROUPS || b.length < ATTEN_CHAR_IND_MIN + numGroups) return null;
  return {
    applicationType: b[0]!,
    securityType: b[1]!,
    sourceAddress: copy(b, 2, 6),
    runId: copy(b, 8, RUN_ID_LEN),
    sourceId: copy(b, 16, ID_LEN),
    respId: copy(b, 33, ID_LEN),
    numSounds: b[50]!,
    numGroups,
    aag: copy(b, 52, numGroups),
  };
}

export function decodeAttenCharRsp(b: Uint8Array): AttenCharRsp | null {
  if (b.length < ATTEN_CHAR_RSP_LEN) return null;
  return {
    applicationType: b[0]!,
    securityType: b[1]!,
    sourceAddress: copy(b, 2, 6),
    runId: copy(b, 8, RUN_ID_LEN),
    sourceId: copy(b, 16, ID_LEN),
    respId: copy(b, 33, ID_LEN),
    result: b[50]!,
  };
}

export function decodeSlacMatchReq(b: Uint8Array): SlacMatchReq | null {
  if (b.length < SLAC_MATCH_REQ_LEN) return null;
  return {
    applicationType: b[0]!,
    securityType: b[1]!,
    mvfLength: u16le(b, 2),
    pevId: copy(b, 4, ID_LEN),
    pevMac: copy(b, 21, 6),
    evseId: copy(b, 27, ID_LEN),
    evseMac: copy(b, 44, 6),
    runId: copy(b, 50, RUN_ID_LEN),
  };
}

export function decodeSlacMatchCnf(b: Uint8Array): SlacMatchCnf | null {
  if (b.length < SLAC_MATCH_CNF_LEN) return null;
  const req = decodeSlacMatchReq(b)!;
  return { ...req, nid: copy(b, 66, NID_LEN), nmk: copy(b, 74, NMK_LEN) };
}

// ---- encoders (whole frames) ------------------------------------------------------------------------

function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(MME_HEADER_LEN);
}

export function encodeSetKeyReq(dst: Uint8Array, src: Uint8Array, m: SetKeyReq): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_SET_KEY_REQ, SET_KEY_REQ_LEN);
  const b = body(f);
  b[0] = m.keyType;
  put(b, 1, m.myNonce, 4);
  put(b, 5, m.yourNonce, 4);
  b[9] = m.pid;
  b[10] = m.prn & 0xff;
  b[11] = (m.prn >> 8) & 0xff;
  b[12] = m.pmn;
  b[13] = m.ccoCapability;
  put(b, 14, m.nid, NID_LEN);
  b[21] = m.newEks;
  put(b, 22, m.newKey, NMK_LEN);
  return f;
}

export function encodeSetKeyCnf(dst: Uint8Array, src: Uint8Array, m: SetKeyCnf): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_SET_KEY_CNF, SET_KEY_CNF_LEN);
  const b = body(f);
  b[0] = m.result;
  put(b, 1, m.myNonce, 4);
  put(b, 5, m.yourNonce, 4);
  b[9] = m.pid;
  b[10] = m.prn & 0xff;
  b[11] = (m.prn >> 8) & 0xff;
  b[12] = m.pmn;
  b[13] = m.ccoCapability;
  return f;
}

export function encodeSlacParmReq(dst: Uint8Array, src: Uint8Array, m: SlacParmReq): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_SLAC_PARM_REQ, SLAC_PARM_REQ_LEN);
  const b = body(f);
  b[0] = m.applicationType;
  b[1] = m.securityType;
  put(b, 2, m.runId, RUN_ID_LEN);
  return f;
}

export function encodeSlacParmCnf(dst: Uint8Array, src: Uint8Array, m: SlacParmCnf): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_SLAC_PARM_CNF, SLAC_PARM_CNF_LEN);
  const b = body(f);
  put(b, 0, m.mSoundTarget, 6);
  b[6] = m.numSounds;
  b[7] = m.timeOut;
  b[8] = m.respType;
  put(b, 9, m.forwardingSta, 6);
  b[15] = m.applicationType;
  b[16] = m.securityType;
  put(b, 17, m.runId, RUN_ID_LEN);
  return f;
}

export function encodeStartAttenCharInd(dst: Uint8Array, src: Uint8Array, m: StartAttenCharInd): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_START_ATTEN_CHAR_IND, START_ATTEN_CHAR_IND_LEN);
  const b = body(f);
  b[0] = m.applicationType;
  b[1] = m.securityType;
  b[2] = m.numSounds;
  b[3] = m.timeOut;
  b[4] = m.respType;
  put(b, 5, m.forwardingSta, 6);
  put(b, 11, m.runId, RUN_ID_LEN);
  return f;
}

export function encodeMnbcSoundInd(dst: Uint8Array, src: Uint8Array, m: MnbcSoundInd): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_MNBC_SOUND_IND, MNBC_SOUND_IND_LEN);
  const b = body(f);
  b[0] = m.applicationType;
  b[1] = m.securityType;
  put(b, 2, m.senderId, ID_LEN);
  b[19] = m.cnt;
  put(b, 20, m.runId, RUN_ID_LEN);
  put(b, 36, m.rnd, 16);
  return f;
}

export function encodeAttenProfileInd(dst: Uint8Array, src: Uint8Array, m: AttenProfileInd): Uint8Array {
  if (m.aag.length !== m.numGroups) throw new RangeError("aag length must equal numGroups");
  const f = mmeFrame(dst, src, MMTYPE.CM_ATTEN_PROFILE_IND, ATTEN_PROFILE_IND_MIN + m.numGroups);
  const b = body(f);
  put(b, 0, m.pevMac, 6);
  b[6] = m.numGroups;
  b.set(m.aag, 8);
  return f;
}

export function encodeAttenCharInd(dst: Uint8Array, src: Uint8Array, m: AttenCharInd): Uint8Array {
  if (m.aag.length !== m.numGroups) throw new RangeError("aag length must equal numGroups");
  const f = mmeFrame(dst, src, MMTYPE.CM_ATTEN_CHAR_IND, ATTEN_CHAR_IND_MIN + m.numGroups);
  const b = body(f);
  b[0] = m.applicationType;
  b[1] = m.securityType;
  put(b, 2, m.sourceAddress, 6);
  put(b, 8, m.runId, RUN_ID_LEN);
  put(b, 16, m.sourceId, ID_LEN);
  put(b, 33, m.respId, ID_LEN);
  b[50] = m.numSounds;
  b[51] = m.numGroups;
  b.set(m.aag, 52);
  return f;
}

export function encodeAttenCharRsp(dst: Uint8Array, src: Uint8Array, m: AttenCharRsp): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_ATTEN_CHAR_RSP, ATTEN_CHAR_RSP_LEN);
  const b = body(f);
  b[0] = m.applicationType;
  b[1] = m.securityType;
  put(b, 2, m.sourceAddress, 6);
  put(b, 8, m.runId, RUN_ID_LEN);
  put(b, 16, m.sourceId, ID_LEN);
  put(b, 33, m.respId, ID_LEN);
  b[50] = m.result;
  return f;
}

function writeMatch(b: Uint8Array, m: SlacMatchReq, mvfLength: number): void {
  b[0] = m.applicationType;
  b[1] = m.securityType;
  b[2] = mvfLength & 0xff;
  b[3] = mvfLength >> 8;
  put(b, 4, m.pevId, ID_LEN);
  put(b, 21, m.pevMac, 6);
  put(b, 27, m.evseId, ID_LEN);
  put(b, 44, m.evseMac, 6);
  put(b, 50, m.runId, RUN_ID_LEN);
}

export function encodeSlacMatchReq(dst: Uint8Array, src: Uint8Array, m: SlacMatchReq): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_SLAC_MATCH_REQ, SLAC_MATCH_REQ_LEN);
  writeMatch(body(f), m, MATCH_REQ_MVF_LENGTH);
  return f;
}

export function encodeSlacMatchCnf(dst: Uint8Array, src: Uint8Array, m: SlacMatchCnf): Uint8Array {
  const f = mmeFrame(dst, src, MMTYPE.CM_SLAC_MATCH_CNF, SLAC_MATCH_CNF_LEN);
  const b = body(f);
  writeMatch(b, m, MATCH_CNF_MVF_LENGTH);
  put(b, 66, m.nid, NID_LEN);
  put(b, 74, m.nmk, NMK_LEN);
  return f;
}

/**
 * Averages attenuation profiles group by group (ISO 15118-3: the EVSE reports to the EV the average of the
 * AAG values over the sounds it received). Rounded to the nearest dB, ties up; integer arithmetic only.
 */
export function averageProfiles(sums: Uint32Array, count: number, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) {
    const v = count > 0 ? Math.floor((2 * sums[i]! + count) / (2 * count)) : 0;
    out[i] = v > 255 ? 255 : v;
  }
}
